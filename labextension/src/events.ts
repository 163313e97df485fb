/**
 * The one WebSocket of the extension (`codex/api/events`, docs/websocket.md):
 * automatic reconnect with backoff, a ping to detect dead links, and
 * resubscription of every session from the last `seq` its subscriber saw.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { reconnectDelay } from './model/sequencer';
import { Codex } from './tokens';

/** Session id of the live-only subscription to every session and system event. */
export const ALL_SESSIONS = '*';

/** Someone interested in one session's events (or in `ALL_SESSIONS`). */
export interface IEventSubscriber {
  /** Replayed or live events of the subscription, in the order received. */
  onEvents(events: Codex.IEvent[]): void;
  /** The replay is complete (`subscribed`); live events follow. */
  onSubscribed?(lastSeq: number): void;
  /** The server refused the subscription (e.g. `not_found`). */
  onError?(code: string, message: string): void;
  /** The `after` to (re)subscribe with: the highest `seq` applied. */
  after(): number;
}

export interface IEventStreamOptions {
  /** URL of the socket (with the token when needed); read at each connect. */
  url: () => string;
  /** The WebSocket constructor (the server settings' one). */
  WebSocket?: typeof WebSocket;
  /** Milliseconds between pings (30 s). */
  pingInterval?: number;
  /** Milliseconds to wait for a pong before dropping the socket (10 s). */
  pongTimeout?: number;
}

export class EventStream implements IDisposable {
  constructor(options: IEventStreamOptions) {
    this._url = options.url;
    this._WebSocket = options.WebSocket ?? WebSocket;
    this._pingInterval = options.pingInterval ?? 30_000;
    this._pongTimeout = options.pongTimeout ?? 10_000;
  }

  get state(): Codex.ConnectionState {
    return this._state;
  }

  /** Emitted when the connection state changes. */
  get stateChanged(): ISignal<this, Codex.ConnectionState> {
    return this._stateChanged;
  }

  /** How many times the socket reconnected after a drop. */
  get reconnects(): number {
    return this._reconnects;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the socket (once; later drops reconnect on their own). */
  connect(): void {
    if (this._disposed || this._ws) {
      return;
    }
    this._clearTimer();
    this._setState('connecting');
    let ws: WebSocket;
    try {
      ws = new this._WebSocket(this._url());
    } catch (error) {
      console.warn('Codex events: cannot open the WebSocket', error);
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    ws.onmessage = msg => this._onMessage(ws, msg.data);
    ws.onclose = () => this._onClose(ws);
    ws.onerror = () => {
      // `close` follows and reconnects.
    };
  }

  /** Drop the socket now and reconnect at once (the "Reconnect" button). */
  reconnect(): void {
    this._attempt = 0;
    if (this._ws) {
      this._ws.close();
    } else {
      this.connect();
    }
  }

  /**
   * Subscribe to a session (or `ALL_SESSIONS`). The server replays what the
   * subscriber has not seen yet, then sends live events.
   */
  subscribe(sessionId: string, subscriber: IEventSubscriber): IDisposable {
    let set = this._subscribers.get(sessionId);
    if (!set) {
      set = new Set();
      this._subscribers.set(sessionId, set);
    }
    set.add(subscriber);
    if (this._state === 'connected') {
      this._sendSubscribe(sessionId, subscriber.after());
    }
    let disposed = false;
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (disposed) {
          return;
        }
        disposed = true;
        const current = this._subscribers.get(sessionId);
        current?.delete(subscriber);
        if (current && current.size === 0) {
          this._subscribers.delete(sessionId);
          this._send({ type: 'unsubscribe', session_id: sessionId });
        }
      }
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._clearTimer();
    this._stopPing();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
    }
    this._subscribers.clear();
    Signal.clearData(this);
  }

  // -- internals ------------------------------------------------------------

  private _onMessage(ws: WebSocket, data: unknown): void {
    if (ws !== this._ws || typeof data !== 'string') {
      return;
    }
    let msg: any;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg?.type) {
      case 'hello':
        this._attempt = 0;
        this._lastLive.clear();
        this._setState('connected');
        this._startPing();
        for (const [sessionId, set] of this._subscribers) {
          const after = Math.min(...[...set].map(s => s.after()));
          this._sendSubscribe(sessionId, after);
        }
        break;
      case 'events':
        this._deliver(String(msg.session_id), msg.events ?? []);
        break;
      case 'event': {
        const event = msg.event as Codex.IEvent;
        const sid = event.session_id;
        if (sid) {
          // With both a session's and the "*" subscription, the server sends each
          // live event once per subscription: hand out the first copy only.
          if (event.seq <= (this._lastLive.get(sid) ?? 0)) {
            break;
          }
          this._lastLive.set(sid, event.seq);
          this._deliver(sid, [event]);
        }
        this._deliver(ALL_SESSIONS, [event]);
        break;
      }
      case 'subscribed':
        for (const s of this._subscribers.get(String(msg.session_id)) ?? []) {
          s.onSubscribed?.(Number(msg.last_seq) || 0);
        }
        break;
      case 'pong':
        this._pongDue = 0;
        break;
      case 'error': {
        const request = msg.request;
        const code = String(msg.error?.code ?? 'error');
        const message = String(msg.error?.message ?? '');
        if (request?.type === 'subscribe' && request.session_id) {
          for (const s of this._subscribers.get(String(request.session_id)) ??
            []) {
            s.onError?.(code, message);
          }
        } else {
          console.warn(`Codex events: ${code}: ${message}`);
        }
        break;
      }
      default:
        break;
    }
  }

  private _deliver(sessionId: string, events: Codex.IEvent[]): void {
    const set = this._subscribers.get(sessionId);
    if (!set || events.length === 0) {
      return;
    }
    for (const s of [...set]) {
      try {
        s.onEvents(events);
      } catch (error) {
        console.error('Codex events: a subscriber failed', error);
      }
    }
  }

  private _onClose(ws: WebSocket): void {
    if (ws !== this._ws) {
      return;
    }
    this._ws = null;
    this._stopPing();
    if (this._disposed) {
      return;
    }
    this._setState('disconnected');
    this._reconnects++;
    this._scheduleReconnect();
  }

  private _scheduleReconnect(): void {
    this._clearTimer();
    const delay = reconnectDelay(this._attempt++);
    this._timer = setTimeout(() => {
      this._timer = null;
      this.connect();
    }, delay);
  }

  private _startPing(): void {
    this._stopPing();
    this._pingTimer = setInterval(() => {
      const now = Date.now();
      if (this._pongDue && now > this._pongDue) {
        // No pong: the link is dead even if the socket has not noticed.
        this._ws?.close();
        return;
      }
      if (!this._pongDue) {
        this._pongDue = now + this._pongTimeout;
      }
      this._send({ type: 'ping', id: now });
    }, this._pingInterval);
  }

  private _stopPing(): void {
    if (this._pingTimer !== null) {
      clearInterval(this._pingTimer);
      this._pingTimer = null;
    }
    this._pongDue = 0;
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _sendSubscribe(sessionId: string, after: number): void {
    this._send(
      sessionId === ALL_SESSIONS
        ? { type: 'subscribe', session_id: ALL_SESSIONS }
        : { type: 'subscribe', session_id: sessionId, after }
    );
  }

  private _send(message: { [key: string]: unknown }): void {
    const ws = this._ws;
    if (ws && ws.readyState === ws.OPEN) {
      ws.send(JSON.stringify(message));
    }
  }

  private _setState(state: Codex.ConnectionState): void {
    if (state !== this._state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _url: () => string;
  private _WebSocket: typeof WebSocket;
  private _pingInterval: number;
  private _pongTimeout: number;
  private _ws: WebSocket | null = null;
  private _state: Codex.ConnectionState = 'disconnected';
  private _stateChanged = new Signal<this, Codex.ConnectionState>(this);
  private _subscribers = new Map<string, Set<IEventSubscriber>>();
  /** Highest live `seq` handed out per session on this socket. */
  private _lastLive = new Map<string, number>();
  private _attempt = 0;
  private _reconnects = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _pingTimer: ReturnType<typeof setInterval> | null = null;
  private _pongDue = 0;
  private _disposed = false;
}
