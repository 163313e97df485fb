import { describe, expect, it } from 'vitest';

import { EventSequencer, reconnectDelay } from '../model/sequencer';
import { eventFactory } from './fixtures';

function events(n: number) {
  const make = eventFactory();
  return Array.from({ length: n }, (_, i) =>
    make('assistant.delta', { delta: String(i + 1) })
  );
}

describe('EventSequencer', () => {
  it('releases events in order and drops repeats', () => {
    const all = events(5);
    const seq = new EventSequencer();
    expect(seq.accept(all.slice(0, 3)).map(e => e.seq)).toEqual([1, 2, 3]);
    // A replay that overlaps what was already applied, plus a live duplicate.
    expect(
      seq.accept([all[1], all[2], all[3], all[3]]).map(e => e.seq)
    ).toEqual([4]);
    expect(seq.duplicates).toBe(3);
    expect(seq.lastSeq).toBe(4);
  });

  it('holds events behind a gap and reports where to fetch from', () => {
    const all = events(6);
    const seq = new EventSequencer();
    seq.accept(all.slice(0, 2));
    expect(seq.accept([all[4], all[5]])).toEqual([]);
    expect(seq.missingAfter).toBe(2);
    expect(seq.heldCount).toBe(2);
    // The gap is filled by a REST page that also repeats the held ones.
    expect(seq.accept(all.slice(2)).map(e => e.seq)).toEqual([3, 4, 5, 6]);
    expect(seq.missingAfter).toBeNull();
  });

  it('sorts a batch that arrives out of order', () => {
    const all = events(4);
    const seq = new EventSequencer();
    expect(
      seq.accept([all[3], all[1], all[0], all[2]]).map(e => e.seq)
    ).toEqual([1, 2, 3, 4]);
  });

  it('starts after a known seq and can be reset', () => {
    const all = events(5);
    const seq = new EventSequencer(3);
    expect(seq.accept(all).map(e => e.seq)).toEqual([4, 5]);
    seq.reset();
    expect(seq.lastSeq).toBe(0);
    expect(seq.accept(all.slice(0, 1)).map(e => e.seq)).toEqual([1]);
  });
});

describe('reconnectDelay', () => {
  it('backs off exponentially up to the maximum, with bounded jitter', () => {
    const mid = () => 0.5;
    expect(reconnectDelay(0, 500, 10000, mid)).toBe(500);
    expect(reconnectDelay(1, 500, 10000, mid)).toBe(1000);
    expect(reconnectDelay(3, 500, 10000, mid)).toBe(4000);
    expect(reconnectDelay(30, 500, 10000, mid)).toBe(10000);
    expect(reconnectDelay(0, 500, 10000, () => 0)).toBe(400);
    expect(reconnectDelay(0, 500, 10000, () => 0.999)).toBeLessThanOrEqual(600);
  });
});
