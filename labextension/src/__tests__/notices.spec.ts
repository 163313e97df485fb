/**
 * Notices: one sentence per burst of account events (labels, no ids or codes),
 * and the board that closes each by itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { describeAccountEvents, NoticeBoard } from '../model/notices';
import { eventFactory } from './fixtures';

const LABELS: { [id: string]: string } = { a1: 'Work', a2: 'Personal' };
const labelOf = (id: string | null | undefined) => (id ? LABELS[id] : null);
const make = eventFactory('*');

describe('describeAccountEvents', () => {
  it('names the first account of a fresh install without a reason code', () => {
    const notice = describeAccountEvents(
      [
        make('account.changed', { kind: 'added', account_id: 'a1' }),
        make('account.switched', {
          target: 'cli',
          from: null,
          to: 'a1',
          reason: 'no_active_account'
        })
      ],
      labelOf
    );
    expect(notice?.message).toBe('Codex cli: now Work.');
    expect(notice?.level).toBe('info');
  });

  it('never shows an id it cannot name', () => {
    const notice = describeAccountEvents(
      [
        make('account.switched', {
          target: 'api',
          from: 'gone99',
          to: 'new42',
          reason: 'cooldown'
        })
      ],
      labelOf
    );
    expect(notice?.message).toBe(
      'Codex api: now an account (an account is rate-limited for a while).'
    );
    expect(notice?.message).not.toMatch(/gone99|new42|cooldown/);
  });

  it('says so when no other account can take over', () => {
    const notice = describeAccountEvents(
      [
        make('usage.alert', {
          target: 'cli',
          account_id: 'a1',
          kind: 'no_candidate',
          message: 'cli: no other account is available (threshold); staying on Work (a1)'
        })
      ],
      labelOf
    );
    expect(notice).toEqual({
      level: 'warning',
      message: 'No other account can take over cli: staying on Work.',
      autoClose: 10000
    });
  });
});

describe('NoticeBoard', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes each notice after its time and replaces an identical one', () => {
    vi.useFakeTimers();
    const board = new NoticeBoard();
    board.show({ level: 'info', message: 'one', autoClose: 1000 });
    board.show({ level: 'info', message: 'two', autoClose: 3000 });
    board.show({ level: 'info', message: 'one', autoClose: 1000 });
    expect(board.items.map(n => n.message)).toEqual(['two', 'one']);
    vi.advanceTimersByTime(1001);
    expect(board.items.map(n => n.message)).toEqual(['two']);
    vi.advanceTimersByTime(2000);
    expect(board.items).toEqual([]);
    board.dispose();
  });
});
