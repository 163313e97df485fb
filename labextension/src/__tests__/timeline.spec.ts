import { describe, expect, it } from 'vitest';

import {
  applyEvents,
  diffLines,
  EMPTY_TIMELINE,
  errorHint,
  IAssistantBubble,
  ICommandBubble,
  IReasoningBubble,
  ITurnBubble
} from '../model/timeline';
import { eventFactory, sampleTurn } from './fixtures';

describe('applyEvents: grouping into bubbles', () => {
  it('turns a whole turn into one bubble per item, in order', () => {
    const state = applyEvents(EMPTY_TIMELINE, sampleTurn());
    expect(state.bubbles.map(b => b.kind)).toEqual([
      'user',
      'reasoning',
      'command',
      'assistant',
      'turn'
    ]);
    expect(state.eventCount).toBe(17);
    expect(state.lastSeq).toBe(17);
    expect(state.running).toBe(false);
  });

  it('concatenates assistant deltas and lets the final message win', () => {
    const make = eventFactory();
    let state = applyEvents(EMPTY_TIMELINE, [
      make('assistant.started', {}, { item_id: 'm1' }),
      make('assistant.delta', { delta: 'Hel' }, { item_id: 'm1' }),
      make('assistant.delta', { delta: 'lo' }, { item_id: 'm1' })
    ]);
    const streaming = state.bubbles[0] as IAssistantBubble;
    expect(streaming.text).toBe('Hello');
    expect(streaming.final).toBe(false);
    state = applyEvents(state, [
      make(
        'assistant.message',
        { text: 'Hello, world.', phase: 'final_answer' },
        { item_id: 'm1' }
      ),
      // A late delta never corrupts the authoritative text.
      make('assistant.delta', { delta: '!!' }, { item_id: 'm1' })
    ]);
    const final = state.bubbles[0] as IAssistantBubble;
    expect(final.text).toBe('Hello, world.');
    expect(final.final).toBe(true);
    expect(state.bubbles).toHaveLength(1);
  });

  it('keeps two assistant messages of one turn apart (different item ids)', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make('assistant.delta', { delta: 'first' }, { item_id: 'm1' }),
      make('command.started', { command: 'ls' }, { item_id: 'c1' }),
      make('assistant.delta', { delta: 'second' }, { item_id: 'm2' })
    ]);
    expect(state.bubbles.map(b => b.kind)).toEqual([
      'assistant',
      'command',
      'assistant'
    ]);
  });

  it('streams command output and then takes the completed output and exit code', () => {
    const state = applyEvents(EMPTY_TIMELINE, sampleTurn());
    const command = state.bubbles.find(
      b => b.kind === 'command'
    ) as ICommandBubble;
    expect(command.output).toBe('....\n4 passed\n');
    expect(command.exitCode).toBe(0);
    expect(command.status).toBe('completed');
    expect(command.durationMs).toBe(1520);
  });

  it('collects reasoning by section and replaces it with the summary', () => {
    const make = eventFactory();
    let state = applyEvents(EMPTY_TIMELINE, [
      make('reasoning.delta', { delta: 'a', index: 0 }, { item_id: 'r' }),
      make('reasoning.delta', { delta: 'b', index: 1 }, { item_id: 'r' })
    ]);
    expect((state.bubbles[0] as IReasoningBubble).sections).toEqual(['a', 'b']);
    expect((state.bubbles[0] as IReasoningBubble).done).toBe(false);
    state = applyEvents(state, [
      make(
        'reasoning.summary',
        { summary: ['A.', 'B.'], content: [] },
        { item_id: 'r' }
      )
    ]);
    expect((state.bubbles[0] as IReasoningBubble).sections).toEqual([
      'A.',
      'B.'
    ]);
    expect((state.bubbles[0] as IReasoningBubble).done).toBe(true);
  });

  it('sums token usage of the turn onto its summary, also when it comes late', () => {
    const make = eventFactory();
    const usage = (total: number) => ({
      context_window: 1000,
      last: {
        input: total - 10,
        cached_input: 0,
        output: 10,
        reasoning_output: 0,
        total
      },
      total: { total: 500 }
    });
    let state = applyEvents(EMPTY_TIMELINE, [
      make('turn.started'),
      make('token_usage', usage(100)),
      make('turn.completed', { status: 'completed', duration_ms: 10 })
    ]);
    expect((state.bubbles.at(-1) as ITurnBubble).usage?.total).toBe(100);
    state = applyEvents(state, [make('token_usage', usage(50))]);
    const turn = state.bubbles.at(-1) as ITurnBubble;
    expect(turn.usage?.total).toBe(150);
    expect(turn.contextWindow).toBe(1000);
    expect(turn.threadTotal).toBe(500);
  });

  it('tracks approvals until they are resolved', () => {
    const make = eventFactory();
    const approval = {
      id: 'a1',
      session_id: 's1',
      kind: 'command',
      command: 'rm -rf build',
      turn_id: 't1',
      item_id: 'c1',
      reason: 'needs write access'
    };
    let state = applyEvents(EMPTY_TIMELINE, [
      make('turn.started'),
      make('command.started', { command: 'rm -rf build' }, { item_id: 'c1' }),
      make('approval.requested', approval, { item_id: 'c1' })
    ]);
    expect(state.pending.map(a => a.id)).toEqual(['a1']);
    const card = state.bubbles.find(b => b.kind === 'approval');
    expect(card && card.kind === 'approval' && card.decision).toBeNull();
    state = applyEvents(state, [
      make('approval.resolved', { id: 'a1', decision: 'decline', by: 'user' })
    ]);
    expect(state.pending).toEqual([]);
    const resolved = state.bubbles.find(b => b.kind === 'approval');
    expect(resolved && resolved.kind === 'approval' && resolved.decision).toBe(
      'decline'
    );
  });

  it('drops approvals of a turn that ended', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make('turn.started'),
      make('approval.requested', {
        id: 'a1',
        session_id: 's1',
        kind: 'command',
        turn_id: 't1'
      }),
      make('turn.completed', { status: 'interrupted' })
    ]);
    expect(state.pending).toEqual([]);
    expect((state.bubbles.at(-1) as ITurnBubble).status).toBe('interrupted');
  });

  it('shows errors with a hint, and a plan updated in place', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make('plan.updated', {
        explanation: null,
        steps: [{ step: 'A', status: 'in_progress' }]
      }),
      make('plan.updated', {
        explanation: 'x',
        steps: [
          { step: 'A', status: 'completed' },
          { step: 'B', status: 'pending' }
        ]
      }),
      make('error', {
        message: 'limit',
        code: 'usageLimitExceeded',
        will_retry: false
      })
    ]);
    expect(state.bubbles.map(b => b.kind)).toEqual(['plan', 'error']);
    const plan = state.bubbles[0];
    expect(plan.kind === 'plan' && plan.steps.map(s => s.status)).toEqual([
      'completed',
      'pending'
    ]);
    const error = state.bubbles[1];
    expect(error.kind === 'error' && error.hint).toMatch(
      /switch the cli account/
    );
  });

  it('ignores events it has already applied, and unknown types', () => {
    const events = sampleTurn();
    const once = applyEvents(EMPTY_TIMELINE, events);
    const twice = applyEvents(once, events);
    expect(twice).toBe(once);
    const make = eventFactory();
    const withUnknown = applyEvents(EMPTY_TIMELINE, [
      make('codex.thread/name/updated', { params: {} }),
      make('thread.status', { status: 'idle' })
    ]);
    expect(withUnknown.bubbles).toEqual([]);
    expect(withUnknown.eventCount).toBe(2);
  });

  it('replaces only the bubbles that changed (memoised views re-render those)', () => {
    const make = eventFactory();
    const first = applyEvents(EMPTY_TIMELINE, [
      make('user.message', { text: 'hi' }, { item_id: 'u1' }),
      make('assistant.delta', { delta: 'a' }, { item_id: 'm1' })
    ]);
    const second = applyEvents(first, [
      make('assistant.delta', { delta: 'b' }, { item_id: 'm1' }),
      make('assistant.delta', { delta: 'c' }, { item_id: 'm1' })
    ]);
    expect(second.bubbles[0]).toBe(first.bubbles[0]);
    expect(second.bubbles[1]).not.toBe(first.bubbles[1]);
    expect((first.bubbles[1] as IAssistantBubble).text).toBe('a');
    expect((second.bubbles[1] as IAssistantBubble).text).toBe('abc');
  });

  it('stays fast for thousands of streamed events', () => {
    const make = eventFactory();
    const events = [make('turn.started')];
    for (let i = 0; i < 100; i++) {
      events.push(
        make('command.started', { command: `step ${i}` }, { item_id: `c${i}` })
      );
      for (let j = 0; j < 10; j++) {
        events.push(
          make('command.output', { delta: `line ${j}\n` }, { item_id: `c${i}` })
        );
      }
      events.push(
        make('assistant.delta', { delta: `note ${i}` }, { item_id: `m${i}` })
      );
    }
    const started = performance.now();
    let state = EMPTY_TIMELINE;
    for (const event of events) {
      state = applyEvents(state, [event]); // worst case: one update per event
    }
    const elapsed = performance.now() - started;
    expect(state.bubbles).toHaveLength(200);
    expect(state.eventCount).toBe(events.length);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('helpers', () => {
  it('classifies diff lines', () => {
    expect(
      diffLines('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-x = 1\n+x = 2\n ctx\n').map(
        l => l.kind
      )
    ).toEqual(['meta', 'meta', 'hunk', 'del', 'add', 'ctx']);
    expect(diffLines('')).toEqual([]);
    // Codex sends a new file's content, not a diff.
    expect(diffLines('a\nb\n', 'add')).toEqual([
      { kind: 'add', text: '+a' },
      { kind: 'add', text: '+b' }
    ]);
    expect(diffLines('gone\n', 'delete')).toEqual([
      { kind: 'del', text: '-gone' }
    ]);
  });

  it('says what to do about errors', () => {
    expect(errorHint('contextWindowExceeded', false)).toMatch('/new');
    expect(errorHint('anything', true)).toMatch(/retrying/);
    expect(errorHint(null, false)).toMatch(/again/);
  });
});
