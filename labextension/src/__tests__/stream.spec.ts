/**
 * The event stream with the chat and session models: reconnect and replay
 * bookkeeping. The only stand-ins are the browser's WebSocket and fetch.
 */
import { ServerConnection } from '@jupyterlab/services';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ALL_SESSIONS, EventStream } from '../events';
import { CodexAPI } from '../handler';
import { ChatModel } from '../model/chat';
import { SessionsModel } from '../model/sessions';
import { Codex } from '../tokens';
import { eventFactory } from './fixtures';

class FakeSocket {
  static sockets: FakeSocket[] = [];
  readonly OPEN = 1;
  readyState = 1;
  sent: any[] = [];
  onmessage: ((msg: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.sockets.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.onclose?.();
  }
  /** A message from the server. */
  push(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  subscribes() {
    return this.sent.filter(m => m.type === 'subscribe');
  }
}

function latest(): FakeSocket {
  return FakeSocket.sockets[FakeSocket.sockets.length - 1];
}

/** A fetch that answers the REST routes the models call during these tests. */
function fakeFetch(routes: { [path: string]: (url: URL) => unknown }) {
  const calls: string[] = [];
  const fetch = async (input: RequestInfo | URL) => {
    const url = new URL(
      typeof input === 'string' ? input : (input as Request).url
    );
    calls.push(url.pathname + url.search);
    for (const [path, answer] of Object.entries(routes)) {
      if (url.pathname.endsWith(path)) {
        return new Response(JSON.stringify(answer(url)), { status: 200 });
      }
    }
    return new Response('{"error":{"code":"not_found","message":"no"}}', {
      status: 404
    });
  };
  return { fetch, calls };
}

function makeApi(routes: { [path: string]: (url: URL) => unknown } = {}) {
  const { fetch, calls } = fakeFetch(routes);
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/me/',
    wsUrl: 'ws://localhost:8888/user/me/',
    token: 'secret',
    appendToken: true,
    fetch: fetch as any,
    WebSocket: FakeSocket as any
  });
  return { api: new CodexAPI(settings), calls };
}

const session: Codex.ISession = {
  id: 's1',
  thread_id: 'th',
  target: 'cli',
  cwd: 'proj',
  title: 'T',
  model: null,
  effort: null,
  approval_policy: 'on-request',
  sandbox: 'workspace-write',
  archived: false,
  created_at: 1,
  updated_at: 1,
  last_seq: 0,
  state: 'idle',
  active_turn_id: null
};

const now = (cb: () => void) => cb();

describe('EventStream + ChatModel', () => {
  beforeEach(() => {
    FakeSocket.sockets = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function connect(api: CodexAPI) {
    const stream = new EventStream({
      url: () => api.eventsUrl(),
      WebSocket: FakeSocket as any,
      pingInterval: 1000,
      pongTimeout: 500
    });
    const states: string[] = [];
    stream.stateChanged.connect((_, s) => states.push(s));
    stream.connect();
    return { stream, states };
  }

  it('connects under the base URL with the token and shows the state', () => {
    const { api } = makeApi();
    const { stream, states } = connect(api);
    expect(latest().url).toBe(
      'ws://localhost:8888/user/me/codex/api/events?token=secret'
    );
    expect(stream.state).toBe('connecting');
    latest().push({ type: 'hello', version: '0.1.0' });
    expect(stream.state).toBe('connected');
    latest().close();
    expect(states).toEqual(['connecting', 'connected', 'disconnected']);
    stream.dispose();
  });

  it('replays, follows live events, and after a drop resubscribes from the last seq without duplicates', () => {
    const { api } = makeApi();
    const { stream } = connect(api);
    const chat = new ChatModel({ api, stream, session, schedule: now });
    const make = eventFactory('s1');
    const all = Array.from({ length: 8 }, (_, i) =>
      make('assistant.delta', { delta: `${i + 1} ` }, { item_id: 'm1' })
    );

    let ws = latest();
    ws.push({ type: 'hello' });
    expect(ws.subscribes()).toEqual([
      { type: 'subscribe', session_id: 's1', after: 0 }
    ]);
    ws.push({ type: 'events', session_id: 's1', events: all.slice(0, 3) });
    ws.push({ type: 'subscribed', session_id: 's1', last_seq: 3 });
    expect(chat.ready).toBe(true);
    ws.push({ type: 'event', event: all[3] });
    ws.push({ type: 'event', event: all[4] });
    expect(chat.timeline.lastSeq).toBe(5);

    // The link drops; events 6..8 happen meanwhile.
    ws.close();
    expect(stream.state).toBe('disconnected');
    vi.advanceTimersByTime(1000);
    ws = latest();
    expect(FakeSocket.sockets).toHaveLength(2);
    ws.push({ type: 'hello' });
    expect(ws.subscribes()).toEqual([
      { type: 'subscribe', session_id: 's1', after: 5 }
    ]);
    // A server that replays a little too much is harmless.
    ws.push({ type: 'events', session_id: 's1', events: all.slice(3) });
    ws.push({ type: 'subscribed', session_id: 's1', last_seq: 8 });
    ws.push({ type: 'event', event: all[7] });

    const bubble = chat.timeline.bubbles[0];
    expect(bubble.kind === 'assistant' && bubble.text).toBe('1 2 3 4 5 6 7 8 ');
    expect(chat.timeline.eventCount).toBe(8);
    expect(chat.duplicates).toBe(3);
    expect(stream.reconnects).toBe(1);
    chat.dispose();
    stream.dispose();
  });

  it('fetches a gap over REST when live events skip ahead', async () => {
    const make = eventFactory('s1');
    const all = Array.from({ length: 6 }, (_, i) =>
      make('command.output', { delta: `${i + 1}\n` }, { item_id: 'c1' })
    );
    const { api, calls } = makeApi({
      '/codex/api/sessions/s1/events': url => ({
        events: all.filter(e => e.seq > Number(url.searchParams.get('after')))
      })
    });
    const { stream } = connect(api);
    const chat = new ChatModel({ api, stream, session, schedule: now });
    const ws = latest();
    ws.push({ type: 'hello' });
    ws.push({ type: 'events', session_id: 's1', events: all.slice(0, 2) });
    ws.push({ type: 'subscribed', session_id: 's1', last_seq: 2 });
    ws.push({ type: 'event', event: all[5] });
    expect(chat.timeline.lastSeq).toBe(2);
    await vi.waitFor(() => expect(chat.timeline.lastSeq).toBe(6));
    expect(
      calls.some(c =>
        c.startsWith('/user/me/codex/api/sessions/s1/events?after=2')
      )
    ).toBe(true);
    expect(chat.timeline.eventCount).toBe(6);
    chat.dispose();
    stream.dispose();
  });

  it('coalesces a burst of events into one update', () => {
    const { api } = makeApi();
    const { stream } = connect(api);
    const queued: Array<() => void> = [];
    const chat = new ChatModel({
      api,
      stream,
      session,
      schedule: cb => queued.push(cb)
    });
    let updates = 0;
    chat.changed.connect(() => updates++);
    const make = eventFactory('s1');
    const ws = latest();
    ws.push({ type: 'hello' });
    for (let i = 0; i < 50; i++) {
      ws.push({
        type: 'event',
        event: make('assistant.delta', { delta: 'x' }, { item_id: 'm' })
      });
    }
    expect(queued).toHaveLength(1);
    queued.shift()!();
    expect(updates).toBe(1);
    expect(chat.timeline.eventCount).toBe(50);
    chat.dispose();
    stream.dispose();
  });

  it('hands out one copy of a live event sent for both a session and "*"', () => {
    const { api } = makeApi();
    const { stream } = connect(api);
    const chat = new ChatModel({ api, stream, session, schedule: now });
    const seen: number[] = [];
    stream.subscribe(ALL_SESSIONS, {
      after: () => 0,
      onEvents: events => events.forEach(e => seen.push(e.seq))
    });
    const make = eventFactory('s1');
    const ws = latest();
    ws.push({ type: 'hello' });
    ws.push({ type: 'subscribed', session_id: 's1', last_seq: 0 });
    for (const event of [make('turn.started'), make('turn.completed')]) {
      ws.push({ type: 'event', event });
      ws.push({ type: 'event', event });
    }
    expect(seen).toEqual([1, 2]);
    expect(chat.timeline.eventCount).toBe(2);
    expect(chat.duplicates).toBe(0);
    chat.dispose();
    stream.dispose();
  });

  it('drops a socket that stops answering pings', () => {
    const { api } = makeApi();
    const { stream } = connect(api);
    const ws = latest();
    ws.push({ type: 'hello' });
    vi.advanceTimersByTime(1000);
    expect(ws.sent.some(m => m.type === 'ping')).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(stream.state).toBe('disconnected');
    stream.dispose();
  });

  it('sends Stop first and Force Stop on the second click of the same turn', async () => {
    const bodies: any[] = [];
    const { fetch } = fakeFetch({});
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      wsUrl: 'ws://localhost:8888/',
      fetch: (async (input: Request) => {
        bodies.push(await input.clone().json());
        return fetch(input);
      }) as any,
      WebSocket: FakeSocket as any
    });
    const api = new CodexAPI(settings);
    const { stream } = connect(api);
    const chat = new ChatModel({ api, stream, session, schedule: now });
    const make = eventFactory('s1');
    latest().push({ type: 'hello' });
    latest().push({ type: 'event', event: make('turn.started') });
    expect(chat.running).toBe(true);
    await chat.stop();
    expect(chat.stopRequested).toBe(true);
    await chat.stop();
    expect(bodies).toEqual([{ force: false }, { force: true }]);
    latest().push({
      type: 'event',
      event: make('turn.completed', { status: 'interrupted' })
    });
    expect(chat.stopRequested).toBe(false);
    chat.dispose();
    stream.dispose();
  });
});

describe('SessionsModel', () => {
  beforeEach(() => {
    FakeSocket.sockets = [];
  });

  it('keeps states, the approval badge and system events live from "*"', async () => {
    const { api } = makeApi({
      '/codex/api/sessions': () => ({
        sessions: [session, { ...session, id: 's2', updated_at: 0 }]
      }),
      '/codex/api/approvals': () => ({ approvals: [] })
    });
    const stream = new EventStream({
      url: () => api.eventsUrl(),
      WebSocket: FakeSocket as any
    });
    const model = new SessionsModel({ api, stream, schedule: now });
    const system: string[] = [];
    model.systemEvent.connect((_, e) => system.push(e.type));
    stream.connect();
    const ws = latest();
    ws.push({ type: 'hello' });
    expect(ws.subscribes()).toEqual([
      { type: 'subscribe', session_id: ALL_SESSIONS }
    ]);
    ws.push({ type: 'subscribed', session_id: '*', last_seq: 0 });
    await vi.waitFor(() => expect(model.sessions).toHaveLength(2));

    const make = eventFactory('s2');
    ws.push({ type: 'event', event: make('turn.started') });
    expect(model.sessions[0].id).toBe('s2');
    expect(model.sessions[0].state).toBe('running');
    ws.push({
      type: 'event',
      event: make('approval.requested', {
        id: 'a1',
        session_id: 's2',
        kind: 'command',
        turn_id: 't1'
      })
    });
    expect(model.pendingApprovals.map(a => a.id)).toEqual(['a1']);
    expect(model.sessions[0].state).toBe('waiting_approval');
    ws.push({
      type: 'event',
      event: make('approval.resolved', {
        id: 'a1',
        decision: 'accept',
        by: 'user'
      })
    });
    expect(model.pendingApprovals).toEqual([]);
    expect(model.sessions[0].state).toBe('running');
    ws.push({
      type: 'event',
      event: make('turn.completed', { status: 'completed' })
    });
    expect(model.sessions[0].state).toBe('idle');
    ws.push({
      type: 'event',
      event: {
        seq: 0,
        session_id: null,
        type: 'account.switched',
        time: 1,
        turn_id: null,
        item_id: null,
        data: { target: 'cli' }
      }
    });
    expect(system).toEqual(['account.switched']);

    // Opening a session subscribes it on the same socket.
    const chat = model.open('s1');
    expect(chat?.id).toBe('s1');
    expect(ws.subscribes().at(-1)).toEqual({
      type: 'subscribe',
      session_id: 's1',
      after: 0
    });
    model.open(null);
    expect(ws.sent.at(-1)).toEqual({ type: 'unsubscribe', session_id: 's1' });
    model.dispose();
    stream.dispose();
  });
});
