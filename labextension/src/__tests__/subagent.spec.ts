import { describe, expect, it } from 'vitest';

import { applyEvents, EMPTY_TIMELINE, ISubagentBubble } from '../model/timeline';
import { eventFactory } from './fixtures';

describe('subagent events', () => {
  it('nest in one bubble per subagent and never end the session turn', () => {
    const make = eventFactory();
    const sub = {
      thread_id: 'child',
      path: '/root/helper',
      parent_item_id: 'call_2',
      parent_thread_id: 'parent',
      parent_turn_id: 't1'
    };
    const state = applyEvents(EMPTY_TIMELINE, [
      make('turn.started', {}, { turn_id: 't1' }),
      make('subagent.started', { subagent: sub }, { turn_id: 'c1' }),
      make(
        'command.completed',
        { command: 'touch sub.txt', exit_code: 0, status: 'completed', subagent: sub },
        { turn_id: 'c1', item_id: 'call_6' }
      ),
      make('assistant.message', { text: 'child done', subagent: sub }, { turn_id: 'c1' }),
      make('subagent.completed', { status: 'completed', subagent: sub }, { turn_id: 'c1' })
    ]);
    const nested = state.bubbles.filter(b => b.kind === 'subagent') as ISubagentBubble[];
    expect(nested).toHaveLength(1);
    expect(nested[0].parentItemId).toBe('call_2');
    expect(nested[0].lines).toEqual(['$ touch sub.txt → exit 0', 'child done']);
    expect(nested[0].done).toBe(true);
    expect(state.bubbles.some(b => b.kind === 'command' || b.kind === 'assistant')).toBe(false);
    expect(state.running).toBe(true); // the session's own turn still runs
  });
});
