/**
 * The session list, the open session, and the approvals that wait anywhere
 * (for the badge). Kept live by the `"*"` subscription of the event stream.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ALL_SESSIONS, EventStream, IEventSubscriber } from '../events';
import { CodexAPI } from '../handler';
import { Codex } from '../tokens';
import { ChatModel, FrameScheduler } from './chat';

export interface ISessionsModelOptions {
  api: CodexAPI;
  stream: EventStream;
  schedule?: FrameScheduler;
}

export class SessionsModel implements IDisposable {
  /** The REST client (for views beside the session list, e.g. Jobs). */
  get api(): CodexAPI {
    return this._api;
  }

  constructor(options: ISessionsModelOptions) {
    this._api = options.api;
    this._stream = options.stream;
    this._schedule = options.schedule;
    const subscriber: IEventSubscriber = {
      after: () => 0,
      onEvents: events => events.forEach(e => this._onEvent(e)),
      onSubscribed: () => {
        // (Re)connected: catch up with whatever changed while we were away.
        void this.refresh();
      }
    };
    this._subscription = this._stream.subscribe(ALL_SESSIONS, subscriber);
  }

  get sessions(): readonly Codex.ISession[] {
    return this._sessions;
  }

  get showArchived(): boolean {
    return this._showArchived;
  }

  get current(): ChatModel | null {
    return this._current;
  }

  /** Approvals waiting for a decision in any session. */
  get pendingApprovals(): readonly Codex.IApproval[] {
    return [...this._pending.values()];
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): string | null {
    return this._error;
  }

  /** The list, the archive filter, the badge or an error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A different session was opened (or closed: `null`). */
  get currentChanged(): ISignal<this, ChatModel | null> {
    return this._currentChanged;
  }

  /** Non-session events from the server (`account.*`, `usage.alert`). */
  get systemEvent(): ISignal<this, Codex.IEvent> {
    return this._systemEvent;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  async refresh(): Promise<void> {
    this._loading = true;
    this._changed.emit();
    try {
      const [sessions, approvals] = await Promise.all([
        this._api.listSessions(this._showArchived),
        this._api.approvals()
      ]);
      this._sessions = sessions;
      this._pending = new Map(approvals.map(a => [a.id, a]));
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  async setShowArchived(value: boolean): Promise<void> {
    this._showArchived = value;
    await this.refresh();
  }

  /** Open a session in the panel (`null` goes back to the list). */
  open(id: string | null): ChatModel | null {
    if (this._current && this._current.id === id) {
      return this._current;
    }
    this._current?.dispose();
    this._current = null;
    const session = id ? this._sessions.find(s => s.id === id) : undefined;
    if (id && session) {
      this._current = new ChatModel({
        api: this._api,
        stream: this._stream,
        session,
        schedule: this._schedule
      });
    }
    this._currentChanged.emit(this._current);
    return this._current;
  }

  /** Open a session that may not be in the list yet (e.g. after `/new`). */
  async openById(id: string): Promise<ChatModel | null> {
    if (!this._sessions.some(s => s.id === id)) {
      const session = await this._api.getSession(id);
      this._upsert(session);
    }
    return this.open(id);
  }

  async create(
    options: {
      cwd: string;
      title?: string;
      model?: string;
    } & Codex.ISessionSettings
  ): Promise<ChatModel | null> {
    const session = await this._api.createSession({
      cwd: options.cwd,
      title: options.title || undefined,
      model: options.model || undefined,
      sandbox: options.sandbox,
      approval_policy: options.approval_policy,
      network_access: options.network_access
    });
    this._upsert(session);
    return this.open(session.id);
  }

  limits(): Promise<Codex.ILimits> {
    return this._api.limits();
  }

  async rename(id: string, title: string): Promise<void> {
    this._upsert(await this._api.updateSession(id, { title }));
  }

  /** Delete a session and its history for good. */
  async remove(id: string): Promise<void> {
    await this._api.deleteSession(id);
    if (this._current?.id === id) {
      this.open(null);
    }
    this._sessions = this._sessions.filter(s => s.id !== id);
    this._changed.emit();
  }

  async archive(id: string, archived = true): Promise<void> {
    const session = await this._api.updateSession(id, { archived });
    if (this._current?.id === id && archived) {
      this.open(null);
    }
    if (archived !== this._showArchived) {
      this._sessions = this._sessions.filter(s => s.id !== id);
      this._changed.emit();
    } else {
      this._upsert(session);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._subscription.dispose();
    this._current?.dispose();
    Signal.clearData(this);
  }

  // -- live updates -----------------------------------------------------------

  private _onEvent(event: Codex.IEvent): void {
    if (!event.session_id) {
      this._systemEvent.emit(event);
      return;
    }
    const data = event.data ?? {};
    const id = event.session_id;
    switch (event.type) {
      case 'session.created':
      case 'session.updated':
        if (Boolean(data.archived) === this._showArchived) {
          this._upsert({ ...(this._find(id) ?? {}), ...data } as any);
        } else {
          this._sessions = this._sessions.filter(s => s.id !== id);
          this._changed.emit();
        }
        return;
      case 'turn.started':
        this._patch(id, {
          state: 'running',
          active_turn_id: event.turn_id,
          updated_at: event.time
        });
        return;
      case 'turn.completed':
        this._patch(id, {
          state: 'idle',
          active_turn_id: null,
          updated_at: event.time
        });
        for (const [key, a] of this._pending) {
          if (a.session_id === id && a.turn_id === event.turn_id) {
            this._pending.delete(key);
          }
        }
        this._changed.emit();
        return;
      case 'approval.requested':
        this._pending.set(data.id, data as Codex.IApproval);
        this._patch(id, { state: 'waiting_approval', updated_at: event.time });
        return;
      case 'approval.resolved':
        if (this._pending.delete(data.id)) {
          const waiting = [...this._pending.values()].some(
            a => a.session_id === id
          );
          this._patch(id, { state: waiting ? 'waiting_approval' : 'running' });
        }
        return;
      case 'user.message':
        this._patch(id, { updated_at: event.time });
        return;
      default:
        if (this._find(id)) {
          this._patch(id, { last_seq: event.seq }, false);
        }
        return;
    }
  }

  private _find(id: string): Codex.ISession | undefined {
    return this._sessions.find(s => s.id === id);
  }

  private _patch(
    id: string,
    changes: Partial<Codex.ISession>,
    emit = true
  ): void {
    const at = this._sessions.findIndex(s => s.id === id);
    if (at === -1) {
      return;
    }
    const next = this._sessions.slice();
    next[at] = { ...next[at], ...changes };
    if (changes.updated_at !== undefined) {
      next.sort((a, b) => b.updated_at - a.updated_at);
    }
    this._sessions = next;
    if (emit) {
      this._changed.emit();
    }
  }

  private _upsert(session: Codex.ISession): void {
    const next = this._sessions.filter(s => s.id !== session.id);
    next.push(session);
    next.sort((a, b) => b.updated_at - a.updated_at);
    this._sessions = next;
    this._changed.emit();
  }

  private _api: CodexAPI;
  private _stream: EventStream;
  private _schedule?: FrameScheduler;
  private _subscription: IDisposable;
  private _sessions: Codex.ISession[] = [];
  private _pending = new Map<string, Codex.IApproval>();
  private _showArchived = false;
  private _current: ChatModel | null = null;
  private _loading = false;
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _currentChanged = new Signal<this, ChatModel | null>(this);
  private _systemEvent = new Signal<this, Codex.IEvent>(this);
  private _disposed = false;
}
