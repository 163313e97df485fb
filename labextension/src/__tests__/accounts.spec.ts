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

function makeApi() {
  const calls: string[] = [];
  const fetch = async (input: RequestInfo | URL) => {
    const url = new URL(
      typeof input === 'string' ? input : (input as Request).url
    );
    calls.push(url.pathname);
    const answer = url.pathname.endsWith('/accounts')
      ? { accounts: ACCOUNTS }
      : url.pathname.endsWith('/targets')
        ? { targets: [{ name: 'cli', account_id: 'a1' }] }
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

async function setUp() {
  const sink = new RecordingSink();
  const { api, calls } = makeApi();
  model = new AccountsModel({ api, notifications: sink, interval: 3_600_000 });
  await model.refresh();
  return { sink, model, calls };
}

describe('AccountsModel alerts as notifications', () => {
  it('shows a usage alert as a warning that stays open', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make(
        'usage.alert',
        {
          target: 'cli',
          account_id: 'a1',
          kind: 'threshold',
          message: 'Work has 8% of its 5-hour quota left.'
        },
        { session_id: null as any, turn_id: null }
      )
    );
    expect(sink.shown).toEqual([
      [
        'warning',
        'Work has 8% of its 5-hour quota left.',
        { autoClose: false }
      ]
    ]);
  });

  it('shows a quarantined account as an error telling what to do', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make('account.changed', { kind: 'quarantined', account_id: 'a2' })
    );
    expect(sink.shown).toHaveLength(1);
    const [level, message, options] = sink.shown[0];
    expect(level).toBe('error');
    expect(message).toMatch(/signed out.*sign in again in the Accounts view/);
    expect(options).toEqual({ autoClose: false });
  });

  it('shows a switch as a short info naming the new account', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make('account.switched', {
        target: 'cli',
        from: 'a1',
        to: 'a2',
        reason: 'threshold'
      })
    );
    expect(sink.shown).toEqual([
      [
        'info',
        'Codex cli account: now Personal (threshold).',
        { autoClose: 5000 }
      ]
    ]);
  });

  it('stays quiet for other account changes and unrelated events', async () => {
    const { sink, model } = await setUp();
    const make = eventFactory('*');
    model.onSystemEvent(
      make('account.changed', { kind: 'updated', account_id: 'a1' })
    );
    model.onSystemEvent(make('session.created', { id: 's9' }));
    model.onSystemEvent(make('rate_limits', { primary: {} }));
    expect(sink.shown).toEqual([]);
  });

  it('reports a failed action as an error notification', async () => {
    const { sink, model } = await setUp();
    await expect(model.remove('missing')).rejects.toThrow();
    expect(sink.shown).toHaveLength(1);
    expect(sink.shown[0][0]).toBe('error');
  });

  it('maps each alert level to the sink method of that level', () => {
    const sink = new RecordingSink();
    notifyAlert(sink, { level: 'info', message: 'i' });
    notifyAlert(sink, { level: 'warning', message: 'w' });
    notifyAlert(sink, { level: 'error', message: 'e' });
    expect(sink.shown.map(([level, message]) => `${level}:${message}`)).toEqual(
      ['info:i', 'warning:w', 'error:e']
    );
  });
});
