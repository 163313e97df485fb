/**
 * One readable notice per burst of account events: a switch of both targets,
 * the alerts that caused it and the account changes around it arrive as
 * several events within a moment; the user gets one sentence that names the
 * accounts by their labels (never ids, never reason codes).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { Codex } from '../tokens';

export type NoticeLevel = 'info' | 'warning' | 'error';

export interface INotice {
  level: NoticeLevel;
  message: string;
  /** Milliseconds before it closes itself (every notice does). */
  autoClose: number;
}

/** How long notices stay, by level. */
export const NOTICE_MS: { [level in NoticeLevel]: number } = {
  info: 6000,
  warning: 10000,
  error: 15000
};

/** Why the router left an account, as the end of a sentence about it. */
const LEAVE_REASONS: { [reason: string]: string } = {
  threshold: 'is below the switch threshold',
  limit_reached: 'reached its usage limit',
  weekly_exhausted: 'used up its weekly limit',
  cooldown: 'is rate-limited for a while',
  quarantined: 'was signed out',
  disabled: 'was disabled',
  account_removed: 'was removed'
};

/** `cli`, `cli and api`. */
function joinTargets(targets: string[]): string {
  const sorted = [...new Set(targets)].sort();
  return sorted.length > 1
    ? `${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`
    : (sorted[0] ?? '');
}

/**
 * The notice for a burst of system events, or `null` when none is worth one
 * (e.g. only `account.changed` of a rename). `labelOf` names an account id
 * (falls back to "an account", never the id).
 */
export function describeAccountEvents(
  events: readonly Codex.IEvent[],
  labelOf: (id: string | null | undefined) => string | null
): INotice | null {
  const name = (id: unknown) =>
    labelOf(typeof id === 'string' ? id : null) ?? 'an account';
  const sentences: string[] = [];
  let level: NoticeLevel = 'info';
  const raise = (next: NoticeLevel) => {
    const order: NoticeLevel[] = ['info', 'warning', 'error'];
    if (order.indexOf(next) > order.indexOf(level)) {
      level = next;
    }
  };

  // Switches: one sentence per account switched to, with every target it took.
  const switches = events.filter(e => e.type === 'account.switched');
  const byTo = new Map<string, Codex.IEvent[]>();
  for (const e of switches) {
    const to = String(e.data?.to ?? '');
    byTo.set(to, [...(byTo.get(to) ?? []), e]);
  }
  const switchedFrom = new Set<string>();
  for (const [to, group] of byTo) {
    const targets = joinTargets(group.map(e => String(e.data?.target ?? '')));
    if (!to) {
      sentences.push(`Codex has no account for ${targets} now.`);
      raise('warning');
      continue;
    }
    const first = group[0].data ?? {};
    const from = first.from as string | null | undefined;
    const why = LEAVE_REASONS[String(first.reason ?? '')];
    if (from) {
      switchedFrom.add(from);
    }
    let sentence = `Codex ${targets}: now ${name(to)}`;
    if (from && why) {
      sentence += ` (${name(from)} ${why})`;
    } else if (from && first.reason !== 'manual') {
      sentence += ` instead of ${name(from)}`;
    }
    sentences.push(`${sentence}.`);
  }

  // Alerts not already explained by a switch above.
  for (const e of events.filter(e => e.type === 'usage.alert')) {
    const data = e.data ?? {};
    const account = data.account_id as string | null | undefined;
    const target = String(data.target ?? '');
    if (data.kind === 'threshold') {
      if (account && switchedFrom.has(account)) {
        continue;
      }
      sentences.push(
        `${name(account)} is low on quota for ${target}; no switch needed yet.`
      );
    } else if (data.kind === 'no_candidate') {
      sentences.push(
        `No other account can take over ${target}: staying on ${name(account)}.`
      );
    } else {
      sentences.push(`Usage alert for ${target}.`);
    }
    raise('warning');
  }

  for (const e of events) {
    if (e.type === 'account.changed' && e.data?.kind === 'quarantined') {
      sentences.push(
        `${name(e.data?.account_id as string)} was signed out (its sign-in expired): sign in again in the Accounts view.`
      );
      raise('error');
    }
  }

  if (!sentences.length) {
    return null;
  }
  return {
    level,
    message: [...new Set(sentences)].join(' '),
    autoClose: NOTICE_MS[level]
  };
}

/** A notice on show, with its id (for dismissing). */
export interface IShownNotice extends INotice {
  id: number;
}

/**
 * The notices the panel shows now: each closes itself after its `autoClose`
 * (or on dismiss); an identical message replaces the one shown instead of
 * stacking a second copy.
 */
export class NoticeBoard {
  get items(): readonly IShownNotice[] {
    return this._items;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  show(notice: INotice): IShownNotice {
    const same = this._items.find(n => n.message === notice.message);
    if (same) {
      this.dismiss(same.id);
    }
    const shown = { ...notice, id: ++this._next };
    this._items = [...this._items, shown];
    this._timers.set(
      shown.id,
      setTimeout(() => this.dismiss(shown.id), notice.autoClose)
    );
    this._changed.emit();
    return shown;
  }

  dismiss(id: number): void {
    const timer = this._timers.get(id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this._timers.delete(id);
    }
    const before = this._items.length;
    this._items = this._items.filter(n => n.id !== id);
    if (this._items.length !== before) {
      this._changed.emit();
    }
  }

  dispose(): void {
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
    Signal.clearData(this);
  }

  private _items: IShownNotice[] = [];
  private _next = 0;
  private _timers = new Map<number, ReturnType<typeof setTimeout>>();
  private _changed = new Signal<this, void>(this);
}
