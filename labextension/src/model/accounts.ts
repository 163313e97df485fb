/**
 * Accounts, the two targets, usage history and the system log. Polled with
 * backoff (`@lumino/polling`) and, above all, following the event stream:
 * `account.*` and `usage.alert` events (from the server, the CLI or another
 * browser) refresh everything shown within a moment, and each burst of them
 * becomes one self-closing notice that names accounts by label.
 *
 * Why this module is long: it is one model, `AccountsModel`, whose actions
 * (switch, import, rename, sign in...) all run through `_run`, which orders
 * them against the event-driven reloads so no half-done state shows; the
 * actions, the reloads and the sign-in follow-up share that private queue and
 * state, so splitting them would expose it. The pure part (the wording of
 * a burst's notice) already lives in ./notices.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { CodexAPI } from '../handler';
import { Codex } from '../tokens';
import { describeAccountEvents, NOTICE_MS } from './notices';

export interface IAccountsModelOptions {
  api: CodexAPI;
  /** Milliseconds between background refreshes (60 s). */
  interval?: number;
  /**
   * Where alerts and notices show (JupyterLab's `Notification` in the app);
   * without one they are only emitted on `alert`.
   */
  notifications?: INotificationSink;
  /** Milliseconds a burst of system events is gathered into one notice (300). */
  burst?: number;
}

/** The part of JupyterLab's `Notification` namespace the alerts use. */
export interface INotificationSink {
  info(message: string, options?: { autoClose?: number | false }): unknown;
  warning(message: string, options?: { autoClose?: number | false }): unknown;
  error(message: string, options?: { autoClose?: number | false }): unknown;
}

/** Show an alert; every one closes itself (after `autoClose`, by level by default). */
export function notifyAlert(sink: INotificationSink, alert: IAlert): void {
  const options = { autoClose: alert.autoClose ?? NOTICE_MS[alert.level] };
  if (alert.level === 'error') {
    sink.error(alert.message, options);
  } else if (alert.level === 'warning') {
    sink.warning(alert.message, options);
  } else {
    sink.info(alert.message, options);
  }
}

/** A user-facing alert: a notice from system events, or an action's outcome. */
export interface IAlert {
  level: 'info' | 'warning' | 'error';
  message: string;
  autoClose?: number;
}

export class AccountsModel implements IDisposable {
  constructor(options: IAccountsModelOptions) {
    this._api = options.api;
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: {
        interval: options.interval ?? 60_000,
        backoff: true,
        max: 600_000
      },
      standby: 'when-hidden',
      name: 'jupyter-codex:accounts'
    });
    this._burstMs = options.burst ?? 300;
    const sink = options.notifications;
    if (sink) {
      this._alert.connect((_, alert) => notifyAlert(sink, alert));
    }
  }

  get accounts(): readonly Codex.IAccount[] {
    return this._accounts;
  }

  get targets(): readonly Codex.ITarget[] {
    return this._targets;
  }

  get logs(): readonly Codex.ILogEntry[] {
    return this._logs;
  }

  /** The first load is done (until then "no account" is not known yet). */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Some account is active for `target`. */
  hasActive(target: Codex.TargetName = 'cli'): boolean {
    return this.activeAccount(target) !== undefined;
  }

  /**
   * Sessions can run: an account is active for the cli target, or its codex
   * is signed in on its own (a `codex login` in its CODEX_HOME).
   */
  get canRun(): boolean {
    return this.hasActive('cli') || this._cliSignedIn;
  }

  /**
   * How the cli target's codex signs in: a managed `account`, its `own` login
   * (a `codex login` or `OPENAI_API_KEY` in its CODEX_HOME), or `none`.
   */
  get cliLogin(): 'account' | 'own' | 'none' {
    if (this.hasActive('cli')) {
      return 'account';
    }
    return this._cliSignedIn ? 'own' : 'none';
  }

  /** The label of an account, also of one removed since (never the id). */
  labelOf(id: string | null | undefined): string | null {
    return id ? (this._labels.get(id) ?? null) : null;
  }

  /**
   * Keep the system log and usage histories live while a view shows them
   * (the accounts view holds one of these while mounted).
   */
  watchDetails(): IDisposable {
    this._detailViews++;
    let disposed = false;
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (!disposed) {
          disposed = true;
          this._detailViews--;
        }
      }
    };
  }

  get error(): string | null {
    return this._error;
  }

  /** The current device-code sign-in, if any. */
  get signIn(): Codex.ISignIn | null {
    return this._signIn;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Alerts to show as notifications (switches, usage alerts, failures). */
  get alert(): ISignal<this, IAlert> {
    return this._alert;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  target(name: Codex.TargetName): Codex.ITarget | undefined {
    return this._targets.find(t => t.name === name);
  }

  /** The account a target uses now. */
  activeAccount(name: Codex.TargetName): Codex.IAccount | undefined {
    const id = this.target(name)?.account_id;
    return (
      this._accounts.find(a => a.id === id) ??
      this._accounts.find(a => a.active_targets.includes(name))
    );
  }

  history(accountId: string): readonly Codex.IUsagePoint[] {
    return this._history.get(accountId) ?? [];
  }

  async refresh(): Promise<void> {
    try {
      const [accounts, targets] = await Promise.all([
        this._api.accounts(),
        this._api.targets()
      ]);
      this._accounts = accounts;
      this._targets = targets;
      for (const a of accounts) {
        this._labels.set(a.id, a.label);
      }
      this._cliSignedIn =
        !this.hasActive('cli') &&
        (await this._api.cliSignedIn().catch(() => false));
      this._loaded = true;
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
      this._changed.emit();
      throw error;
    }
    this._changed.emit();
  }

  /** Load the system log and each account's usage history (the accounts view). */
  async loadDetails(): Promise<void> {
    const since = Date.now() / 1000 - 7 * 86400;
    try {
      const [logs, ...histories] = await Promise.all([
        this._api.logs(100),
        ...this._accounts.map(a => this._api.usageHistory(a.id, since))
      ]);
      this._logs = logs;
      this._history = new Map(
        this._accounts.map((a, i) => [a.id, histories[i] ?? []])
      );
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  /** Poll every account's usage now (`POST usage/refresh`). */
  async refreshUsage(): Promise<void> {
    await this._run(async () => {
      this._accounts = await this._api.refreshUsage();
      this._targets = await this._api.targets();
    });
    await this.loadDetails();
  }

  async switchTarget(name: Codex.TargetName, accountId: string): Promise<void> {
    await this._run(async () => {
      await this._api.updateTarget(name, { account_id: accountId });
      await this.refresh();
    });
  }

  async setStrategy(
    name: Codex.TargetName,
    strategy: string,
    thresholdPercent?: number
  ): Promise<void> {
    await this._run(async () => {
      await this._api.updateTarget(name, {
        strategy,
        threshold_percent: thresholdPercent
      });
      await this.refresh();
    });
  }

  async importAuthJson(content: unknown, label?: string): Promise<void> {
    await this._run(async () => {
      await this._api.importAccount({
        auth_json: content ?? undefined,
        label: label || undefined
      });
      await this.refresh();
    });
  }

  async addApiKey(key: string, label?: string): Promise<void> {
    await this._run(async () => {
      await this._api.addApiKey(key, label);
      await this.refresh();
    });
  }

  async rename(id: string, label: string): Promise<void> {
    await this._run(async () => {
      await this._api.updateAccount(id, { label });
      await this.refresh();
    });
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    await this._run(async () => {
      await this._api.updateAccount(id, { enabled });
      await this.refresh();
    });
  }

  async remove(id: string): Promise<void> {
    await this._run(async () => {
      await this._api.removeAccount(id);
      await this.refresh();
    });
  }

  /** Start a device-code sign-in and follow it until it ends. */
  async startSignIn(label?: string): Promise<void> {
    await this._run(async () => {
      this._signIn = await this._api.startSignIn(label);
      this._changed.emit();
      this._followSignIn(this._signIn.id);
    });
  }

  async cancelSignIn(): Promise<void> {
    const current = this._signIn;
    if (!current) {
      return;
    }
    this._signIn = null;
    this._changed.emit();
    await this._api.cancelSignIn(current.id).catch(() => undefined);
  }

  /**
   * A system event from the `"*"` subscription. Account and usage-alert events
   * of one burst (a switch of both targets and its alerts) are gathered for
   * `burst` ms, then everything shown is reloaded once and one notice says
   * what happened.
   */
  onSystemEvent(event: Codex.IEvent): void {
    if (
      !event.type.startsWith('account.') &&
      event.type !== 'usage.alert'
    ) {
      return;
    }
    this._burst.push(event);
    if (this._burstTimer === null) {
      this._burstTimer = setTimeout(() => void this._flush(), this._burstMs);
    }
  }

  private async _flush(): Promise<void> {
    this._burstTimer = null;
    const events = this._burst;
    this._burst = [];
    await this._acting;
    if (this._disposed) {
      return;
    }
    await this.refresh().catch(() => undefined);
    if (this._detailViews > 0) {
      await this.loadDetails();
    }
    const notice = describeAccountEvents(events, id => this.labelOf(id));
    if (notice) {
      this._alert.emit(notice);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._poll.dispose();
    if (this._signInTimer !== null) {
      clearTimeout(this._signInTimer);
    }
    if (this._burstTimer !== null) {
      clearTimeout(this._burstTimer);
    }
    Signal.clearData(this);
  }

  // -- internals --------------------------------------------------------------

  private async _run(action: () => Promise<void>): Promise<void> {
    const run = (async () => {
      try {
        await action();
        this._error = null;
      } catch (error) {
        this._error = (error as Error).message;
        this._alert.emit({ level: 'error', message: this._error });
        this._changed.emit();
        throw error;
      }
    })();
    // Event-driven reloads wait for the action (e.g. an import whose first
    // account is activated within the request): no half-done state shows.
    this._acting = Promise.all([this._acting, run.catch(() => undefined)]);
    await run;
  }

  private _followSignIn(id: string): void {
    this._signInTimer = setTimeout(async () => {
      this._signInTimer = null;
      if (this._disposed || this._signIn?.id !== id) {
        return;
      }
      try {
        this._signIn = await this._api.signIn(id);
      } catch (error) {
        this._signIn = {
          id,
          status: 'failed',
          error: (error as Error).message
        };
      }
      this._changed.emit();
      if (this._signIn.status === 'pending') {
        this._followSignIn(id);
      } else if (this._signIn.status === 'completed') {
        this._alert.emit({
          level: 'info',
          message: `Signed in as ${this._signIn.account?.email ?? this._signIn.account?.label ?? 'a new account'}.`
        });
        await this.refresh().catch(() => undefined);
      }
    }, 3000);
  }

  private _api: CodexAPI;
  private _poll: Poll;
  private _accounts: Codex.IAccount[] = [];
  private _targets: Codex.ITarget[] = [];
  private _logs: Codex.ILogEntry[] = [];
  private _history = new Map<string, Codex.IUsagePoint[]>();
  private _signIn: Codex.ISignIn | null = null;
  private _signInTimer: ReturnType<typeof setTimeout> | null = null;
  private _error: string | null = null;
  private _loaded = false;
  private _acting: Promise<unknown> = Promise.resolve();
  private _cliSignedIn = false;
  private _labels = new Map<string, string>();
  private _detailViews = 0;
  private _burst: Codex.IEvent[] = [];
  private _burstMs: number;
  private _burstTimer: ReturnType<typeof setTimeout> | null = null;
  private _changed = new Signal<this, void>(this);
  private _alert = new Signal<this, IAlert>(this);
  private _disposed = false;
}
