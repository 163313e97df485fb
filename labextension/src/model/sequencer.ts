/**
 * Replay bookkeeping for one session's event stream.
 *
 * Events reach the panel through several paths that can overlap or race: the
 * subscription's replay frames, live frames of the same subscription, live
 * frames of the `"*"` subscription, and REST pages fetched to fill a gap.
 * The sequencer turns all of them into exactly one in-order stream: it drops
 * every `seq` it already released, holds events that arrive early, and says
 * when a gap must be fetched (`missingAfter`).
 */
import { Codex } from '../tokens';

export class EventSequencer {
  private _last: number;
  private _held = new Map<number, Codex.IEvent>();
  private _duplicates = 0;

  /** @param lastSeq the highest `seq` already applied (0 for none). */
  constructor(lastSeq = 0) {
    this._last = lastSeq;
  }

  /** The highest `seq` released so far: what a resubscribe sends as `after`. */
  get lastSeq(): number {
    return this._last;
  }

  /** How many events were dropped because they had been seen before. */
  get duplicates(): number {
    return this._duplicates;
  }

  /** Events held back because an earlier one is still missing. */
  get heldCount(): number {
    return this._held.size;
  }

  /**
   * The `after` to fetch from when events are held behind a gap, else `null`.
   */
  get missingAfter(): number | null {
    return this._held.size > 0 ? this._last : null;
  }

  /**
   * Take events in any order (duplicates allowed) and return those that can be
   * applied now, in `seq` order, without gaps or repeats.
   */
  accept(events: readonly Codex.IEvent[]): Codex.IEvent[] {
    for (const event of events) {
      const seq = event.seq;
      if (!Number.isInteger(seq) || seq <= this._last || this._held.has(seq)) {
        this._duplicates++;
        continue;
      }
      this._held.set(seq, event);
    }
    const ready: Codex.IEvent[] = [];
    let next = this._held.get(this._last + 1);
    while (next !== undefined) {
      this._held.delete(next.seq);
      ready.push(next);
      this._last = next.seq;
      next = this._held.get(this._last + 1);
    }
    return ready;
  }

  /** Forget everything (a different session, or a reload from scratch). */
  reset(lastSeq = 0): void {
    this._last = lastSeq;
    this._held.clear();
    this._duplicates = 0;
  }
}

/**
 * Reconnect delays: quick at first, then backing off to `max`, with a little
 * jitter so many tabs do not reconnect in lockstep.
 */
export function reconnectDelay(
  attempt: number,
  base = 500,
  max = 10000,
  random: () => number = Math.random
): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
