/**
 * AccountsModel turns system events into notifications. The stand-ins are
 * the browser's fetch (answering the REST routes) and the notification sink
 * (JupyterLab's `Notification` in the app).
 */
import { ServerConnection } from '@jupyterlab/services';
import { afterEach, describe, expect, it } from 'vitest';

import { CodexAPI } from '../handler';
import {
  AccountsModel,
  INotificationSink,
  notifyAlert
} from '../model/accounts';
import { eventFactory } from './fixtures';

const ACCOUNTS = [
  {
    id: 'a1',
    label: 'Work',
    active_targets: ['cli']
  },
  {
    id: 'a2',
    label: 'Personal',
    active_targets: []
  }
];

function makeApi(
  options: { cliTarget?: string | null; ownLogin?: boolean } = {}
) {
  const calls: string[] = [];
  const cli = options.cliTarget === undefined ? 'a1' : options.cliTarget;
  const fetch = async (input: RequestInfo | URL) => {
    const url = new URL(
      typeof input === 'string' ? input : (input as Request).url
    );
    calls.push(url.pathname);
    const answer = url.pathname.endsWith('/accounts')
      ? {
          accounts: ACCOUNTS.map(a => ({
            ...a,
            active_targets: a.id === cli ? ['cli'] : []
          }))
        }
      : url.pathname.endsWith('/targets')
        ? { targets: [{ name: 'cli', account_id: cli }] }
        : url.pathname.endsWith('/status')
          ? {
              targets: { cli: { auth: { ready: options.ownLogin === true } } }
            }
          : null;
    return answer
      ? new Response(JSON.stringify(answer), { status: 200 })
      : new Response('{"error":{"code":"not_found","message":"no"}}', {
          status: 404
        });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    token: 'secret',
    fetch: fetch as any
  });
  return { api: new CodexAPI(settings), calls };
}

class RecordingSink implements INotificationSink {
  shown: Array<[string, string, unknown]> = [];
  info(message: string, options?: unknown) {
    this.shown.push(['info', message, options]);
  }
  warning(message: string, options?: unknown) {
    this.shown.push(['warning', message, options]);
  }
  error(message: string, options?: unknown) {
    this.shown.push(['error', message, options]);
  }
}

let model: AccountsModel | null = null;

afterEach(() => {
  model?.dispose();
  model = null;
});

async function setUp(options: Parameters<typeof makeApi>[0] = {}) {
  const sink = new RecordingSink();
  const { api, calls } = makeApi(options);
  model = new AccountsModel({
    api,
    notifications: sink,
    interval: 3_600_000,
    burst: 20
  });
  await model.refresh();
  return { sink, model, calls };
}

/** Past the burst window and the refresh it triggers. */
const settle = () => new Promise(resolve => setTimeout(resolve, 100));

describe('AccountsModel: one self-closing notice per burst of events', () => {
  it('shows a usage alert as a warning that closes itself, naming the label', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make(
        'usage.alert',
        {
          target: 'cli',
          account_id: 'a1',
          kind: 'threshold',
          message: 'cli: account Work (a1) has 8% left (threshold 15%)'
        },
        { session_id: null as any, turn_id: null }
      )
    );
    await settle();
    expect(sink.shown).toEqual([
      [
        'warning',
        'Work is low on quota for cli; no switch needed yet.',
        { autoClose: 10000 }
      ]
    ]);
  });

  it('shows a quarantined account as an error telling what to do', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make('account.changed', { kind: 'quarantined', account_id: 'a2' })
    );
    await settle();
    expect(sink.shown).toHaveLength(1);
    const [level, message, options] = sink.shown[0];
    expect(level).toBe('error');
    expect(message).toMatch(
      /Personal was signed out.*sign in again in the Accounts view/
    );
    expect(options).toEqual({ autoClose: 15000 });
  });

  it('merges a switch of both targets and its alerts into one notice with labels', async () => {
    const { sink, model, calls } = await setUp();
    await settle(); // the poll's first tick
    const before = calls.length;
    const make = eventFactory('*');
    const system = { session_id: null as any, turn_id: null };
    model.onSystemEvent(
      make(
        'usage.alert',
        { target: 'cli', account_id: 'a1', kind: 'threshold', message: 'x' },
        system
      )
    );
    for (const target of ['cli', 'api']) {
      model.onSystemEvent(
        make(
          'account.switched',
          { target, from: 'a1', to: 'a2', reason: 'threshold' },
          system
        )
      );
    }
    await settle();
    expect(sink.shown).toEqual([
      [
        'info',
        'Codex api and cli: now Personal (Work is below the switch threshold).',
        { autoClose: 6000 }
      ]
    ]);
    // One reload for the whole burst (accounts + targets), not one per event.
    expect(calls.length - before).toBe(2);
    expect(JSON.stringify(sink.shown)).not.toMatch(/\ba[12]\b|\(threshold\)/);
  });

  it('stays quiet for other account changes and unrelated events', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make('account.changed', { kind: 'updated', account_id: 'a1' })
    );
    model.onSystemEvent(make('session.created', { id: 's9' }));
    model.onSystemEvent(make('rate_limits', { primary: {} }));
    await settle();
    expect(sink.shown).toEqual([]);
  });

  it('reports a failed action as an error notification', async () => {
    const { sink, model } = await setUp();
    await expect(model.remove('missing')).rejects.toThrow();
    expect(sink.shown).toHaveLength(1);
    expect(sink.shown[0][0]).toBe('error');
  });

  it('maps each alert level to the sink method of that level, all self-closing', () => {
    const sink = new RecordingSink();
    notifyAlert(sink, { level: 'info', message: 'i' });
    notifyAlert(sink, { level: 'warning', message: 'w' });
    notifyAlert(sink, { level: 'error', message: 'e' });
    expect(sink.shown.map(([level, message]) => `${level}:${message}`)).toEqual(
      ['info:i', 'warning:w', 'error:e']
    );
    expect(sink.shown.every(([, , o]) => (o as any).autoClose > 0)).toBe(true);
  });

  it('knows when no account is active yet', async () => {
    const { model } = await setUp();
    expect(model.loaded).toBe(true);
    expect(model.hasActive('cli')).toBe(true);
    expect(model.hasActive('api')).toBe(false);
    expect(model.cliLogin).toBe('account');
  });

  it("tells codex's own login from no login at all", async () => {
    const own = (await setUp({ cliTarget: null, ownLogin: true })).model;
    expect(own.cliLogin).toBe('own');
    expect(own.canRun).toBe(true);
    own.dispose();
    const none = (await setUp({ cliTarget: null, ownLogin: false })).model;
    expect(none.cliLogin).toBe('none');
    expect(none.canRun).toBe(false);
  });
});
