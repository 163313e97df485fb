/**
 * Builders of event envelopes for the model tests (the shapes of
 * docs/websocket.md).
 */
import { Codex } from '../tokens';

export function eventFactory(sessionId = 's1') {
  let seq = 0;
  const make = (
    type: string,
    data: { [key: string]: any } = {},
    extra: Partial<Codex.IEvent> = {}
  ): Codex.IEvent => ({
    seq: ++seq,
    session_id: sessionId,
    type,
    time: 1767350000 + seq,
    turn_id: 't1',
    item_id: null,
    data,
    ...extra
  });
  return make;
}

/** A whole turn: message, reasoning, a streamed reply, a command, usage. */
export function sampleTurn(make = eventFactory()): Codex.IEvent[] {
  return [
    make(
      'session.created',
      { id: 's1', cwd: 'proj', title: '' },
      { turn_id: null }
    ),
    make('turn.started', { started_at: 1 }),
    make(
      'user.message',
      { text: 'Run the tests', images: [], inputs: [] },
      { item_id: 'u1' }
    ),
    make('reasoning.started', {}, { item_id: 'r1' }),
    make(
      'reasoning.delta',
      { delta: 'Look at ', raw: false, index: 0 },
      { item_id: 'r1' }
    ),
    make(
      'reasoning.delta',
      { delta: 'the tests', raw: false, index: 0 },
      { item_id: 'r1' }
    ),
    make(
      'reasoning.summary',
      { summary: ['Look at the tests'], content: [] },
      { item_id: 'r1' }
    ),
    make(
      'command.started',
      {
        command: 'pytest -q',
        cwd: '/srv/root/proj',
        actions: [],
        source: 'agent'
      },
      { item_id: 'c1' }
    ),
    make(
      'command.output',
      { delta: '....\n', truncated: false },
      { item_id: 'c1' }
    ),
    make(
      'command.output',
      { delta: '4 passed\n', truncated: false },
      { item_id: 'c1' }
    ),
    make(
      'command.completed',
      {
        command: 'pytest -q',
        cwd: '/srv/root/proj',
        status: 'completed',
        exit_code: 0,
        output: '....\n4 passed\n',
        truncated: false,
        duration_ms: 1520
      },
      { item_id: 'c1' }
    ),
    make('assistant.started', { phase: null }, { item_id: 'm1' }),
    make('assistant.delta', { delta: 'All 4 ' }, { item_id: 'm1' }),
    make('assistant.delta', { delta: 'tests pass.' }, { item_id: 'm1' }),
    make('token_usage', {
      context_window: 1000,
      last: {
        input: 100,
        cached_input: 80,
        output: 20,
        reasoning_output: 5,
        total: 120
      },
      total: { total: 120 }
    }),
    make(
      'assistant.message',
      { text: 'All 4 tests pass.', phase: 'final_answer' },
      { item_id: 'm1' }
    ),
    make('turn.completed', {
      status: 'completed',
      error: null,
      duration_ms: 4210
    })
  ];
}
