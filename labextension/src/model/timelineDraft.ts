/**
 * The reducer's working copy of a timeline state (`Draft`) and the small
 * helpers every event handler shares: typed reads of event data, a bubble's
 * common fields and its key.
 */
import { Codex } from '../tokens';
import { Bubble, ITimelineState, ITurnUsage } from './timelineState';

export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function capTail(text: string, cap: number): string {
  return text.length > cap ? text.slice(text.length - cap) : text;
}

/**
 * A mutable working copy of a state for one batch: the bubbles array and
 * index are copied once, and each bubble is cloned at most once.
 */
export class Draft {
  bubbles: Bubble[];
  index: Map<string, number>;
  touched = new Set<string>();
  lastSeq: number;
  eventCount: number;
  running: boolean;
  turnId: string | null;
  pending: Codex.IApproval[];
  session: Codex.ISession | null;
  rateLimits: { [key: string]: any } | null;
  turnDiff: string | null;
  threadCwd: string | null;
  turnUsage: Map<string, ITurnUsage>;

  constructor(state: ITimelineState) {
    this.bubbles = state.bubbles.slice();
    this.index = new Map(state.index);
    this.lastSeq = state.lastSeq;
    this.eventCount = state.eventCount;
    this.running = state.running;
    this.turnId = state.turnId;
    this.pending = state.pending.slice();
    this.session = state.session;
    this.rateLimits = state.rateLimits;
    this.turnDiff = state.turnDiff;
    this.threadCwd = state.threadCwd;
    this.turnUsage = new Map(state.turnUsage);
  }

  freeze(): ITimelineState {
    return {
      bubbles: this.bubbles,
      index: this.index,
      lastSeq: this.lastSeq,
      eventCount: this.eventCount,
      running: this.running,
      turnId: this.turnId,
      pending: this.pending,
      session: this.session,
      rateLimits: this.rateLimits,
      turnDiff: this.turnDiff,
      threadCwd: this.threadCwd,
      turnUsage: this.turnUsage
    };
  }

  get<B extends Bubble>(key: string): B | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : (this.bubbles[at] as B);
  }

  add(bubble: Bubble): void {
    const at = this.index.get(bubble.key);
    if (at !== undefined) {
      this.bubbles[at] = bubble;
    } else {
      this.index.set(bubble.key, this.bubbles.length);
      this.bubbles.push(bubble);
    }
    this.touched.add(bubble.key);
  }

  /** Change a bubble; it is cloned the first time this batch touches it. */
  update<B extends Bubble>(
    key: string,
    seq: number,
    change: (bubble: { -readonly [K in keyof B]: B[K] }) => void
  ): boolean {
    const at = this.index.get(key);
    if (at === undefined) {
      return false;
    }
    let bubble = this.bubbles[at] as any;
    if (!this.touched.has(key)) {
      bubble = { ...bubble };
      this.bubbles[at] = bubble;
      this.touched.add(key);
    }
    bubble.lastSeq = seq;
    change(bubble);
    return true;
  }
}

export function base(event: Codex.IEvent, key: string) {
  return {
    key,
    seq: event.seq,
    lastSeq: event.seq,
    time: event.time,
    turnId: event.turn_id,
    itemId: event.item_id
  };
}

/** The bubble key of an item-bound event, or of the event itself. */
export function itemKey(kind: string, event: Codex.IEvent): string {
  return event.item_id ? `${kind}:${event.item_id}` : `${kind}:#${event.seq}`;
}
