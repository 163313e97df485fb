import { describe, expect, it } from 'vitest';

import {
  cellDiff,
  notebookCallView,
  shownOutputs,
  stripAnsi
} from '../model/notebookCalls';
import { reportedOutput } from '../notebook/progress';
import { applyEvents, EMPTY_TIMELINE, IToolBubble } from '../model/timeline';
import { eventFactory } from './fixtures';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

function call(tool: string, args: object, result: object[] | null = null) {
  const make = eventFactory();
  const started = make(
    'tool_call.started',
    { kind: 'dynamic', tool, arguments: args, result: null, status: 'in_progress' },
    { item_id: 'call_1' }
  );
  const completed = (extra: object = {}) =>
    make(
      'tool_call.completed',
      {
        kind: 'dynamic',
        tool,
        arguments: args,
        result,
        status: 'completed',
        success: true,
        duration_ms: 12,
        ...extra
      },
      { item_id: 'call_1' }
    );
  return { make, started, completed };
}

function only(state: typeof EMPTY_TIMELINE): IToolBubble {
  expect(state.bubbles).toHaveLength(1);
  return state.bubbles[0] as IToolBubble;
}

describe('notebook tool calls in the timeline', () => {
  it('shows an edit as a line diff of the cell, before and after', () => {
    const { make, started, completed } = call('notebook_edit_cell', {
      cell_id: 'a1',
      source: 'x = 10\nprint(x)'
    });
    const state = applyEvents(EMPTY_TIMELINE, [
      started,
      make(
        'notebook.cell_changed',
        {
          notebook: 'nb/a.ipynb',
          action: 'edited',
          cell_id: 'a1',
          index: 0,
          source_before: 'x = 1\nprint(x)',
          source_after: 'x = 10\nprint(x)',
          live: true
        },
        { item_id: 'call_1' }
      ),
      completed()
    ]);
    const bubble = only(state);
    expect(bubble.status).toBe('completed');
    const view = notebookCallView(bubble, null);
    expect(view.title).toBe('Edited cell a1');
    expect(view.path).toBe('nb/a.ipynb');
    expect(view.cellId).toBe('a1');
    expect(view.diff).toEqual([
      { kind: 'del', text: 'x = 1' },
      { kind: 'add', text: 'x = 10' },
      { kind: 'ctx', text: 'print(x)' }
    ]);
  });

  it('keeps a cell change that arrives before its call started', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make(
        'notebook.cell_changed',
        { notebook: 'a.ipynb', action: 'inserted', cell_id: 'n9', index: 2, source_after: 'y = 2' },
        { item_id: 'call_1' }
      ),
      make(
        'tool_call.completed',
        { kind: 'dynamic', tool: 'notebook_insert_cell', arguments: { source: 'y = 2' }, status: 'completed' },
        { item_id: 'call_1' }
      )
    ]);
    const view = notebookCallView(only(state), 'a.ipynb');
    expect(view.title).toBe('Inserted cell n9 at index 2');
    expect(view.cellId).toBe('n9');
    expect(view.diff).toEqual([{ kind: 'add', text: 'y = 2' }]);
  });

  it('falls back to the arguments and result without change events', () => {
    const inserted = notebookCallView(
      {
        tool: 'notebook_insert_cell',
        arguments: { source: 'a\nb' },
        result: [{ type: 'inputText', text: 'Inserted cell q7 at index 1; the notebook has 3 cells.' }],
        cellChange: null,
        runOutputs: [],
        notebook: null
      },
      's.ipynb'
    );
    expect(inserted.cellId).toBe('q7');
    expect(inserted.path).toBe('s.ipynb');
    expect(inserted.diff?.map(l => l.kind)).toEqual(['add', 'add']);
    const deleted = notebookCallView(
      {
        tool: 'notebook_delete_cell',
        arguments: { cell_id: 'gone' },
        result: null,
        cellChange: { action: 'deleted', cellId: 'gone', index: 0, before: 'old', after: null },
        runOutputs: [],
        notebook: 's.ipynb'
      },
      null
    );
    expect(deleted.cellId).toBeNull(); // nothing to go to: "Open notebook"
    expect(deleted.diff).toEqual([{ kind: 'del', text: 'old' }]);
  });

  it('collects a run\'s streamed outputs: text merged, traceback without ANSI, images', () => {
    const { make, started, completed } = call('notebook_run_cell', { cell_id: 'r1' }, [
      { type: 'inputText', text: 'Ran cell r1 (execution_count=3): completed with an error.\n[stdout]\n0\n1' }
    ]);
    const out = (output: object) =>
      make('notebook.run_output', { notebook: 'r.ipynb', cell_id: 'r1', output }, { item_id: 'call_1' });
    let state = applyEvents(EMPTY_TIMELINE, [
      started,
      out({ output_type: 'stream', name: 'stdout', text: '0\n' })
    ]);
    // Live: the first output shows while the call still runs.
    expect(notebookCallView(only(state), null).outputs).toEqual([
      { kind: 'stream', name: 'stdout', text: '0\n' }
    ]);
    expect(only(state).status).toBe('in_progress');
    expect(notebookCallView(only(state), null).title).toBe('Run cell r1');
    state = applyEvents(state, [
      out({ output_type: 'stream', name: 'stdout', text: '1\n' }),
      out({ output_type: 'display_data', data: { 'image/png': PNG, 'text/plain': '<Figure>' }, metadata: {} }),
      out({
        output_type: 'error',
        ename: 'ZeroDivisionError',
        evalue: 'division by zero',
        traceback: ['\u001b[0;31mZeroDivisionError\u001b[0m Traceback', '\u001b[1;32m----> 1\u001b[0m 1 / 0']
      }),
      completed()
    ]);
    const view = notebookCallView(only(state), null);
    expect(view.title).toBe('Ran cell r1');
    expect(view.summary).toBe('Ran cell r1 (execution_count=3): completed with an error.');
    expect(view.outputs).toEqual([
      { kind: 'stream', name: 'stdout', text: '0\n1\n' },
      { kind: 'image', mime: 'image/png', src: `data:image/png;base64,${PNG}` },
      {
        kind: 'error',
        ename: 'ZeroDivisionError',
        evalue: 'division by zero',
        traceback: 'ZeroDivisionError Traceback\n----> 1 1 / 0'
      }
    ]);
  });

  it('clears what a run showed when its cell calls clear_output (a progress loop)', () => {
    const { make, started } = call('notebook_run_cell', { cell_id: 'r1' });
    const out = (output: object) =>
      make('notebook.run_output', { notebook: 'r.ipynb', cell_id: 'r1', output }, { item_id: 'call_1' });
    const state = applyEvents(EMPTY_TIMELINE, [
      started,
      out({ output_type: 'stream', name: 'stdout', text: 'step 1 of 3\n' }),
      out({ output_type: 'clear_output' }),
      out({ output_type: 'stream', name: 'stdout', text: 'step 2 of 3\n' }),
      out({ output_type: 'clear_output' }),
      out({ output_type: 'stream', name: 'stdout', text: 'step 3 of 3\n' })
    ]);
    expect(notebookCallView(only(state), null).outputs).toEqual([
      { kind: 'stream', name: 'stdout', text: 'step 3 of 3\n' }
    ]);
  });

  it('joins the stream pieces of a chatty run as they arrive, keeping the tail', () => {
    const { make, started } = call('notebook_run_cell', { cell_id: 'r1' });
    const pieces = Array.from({ length: 3000 }, (_, i) =>
      make(
        'notebook.run_output',
        { notebook: 'r.ipynb', cell_id: 'r1', output: { output_type: 'stream', name: 'stdout', text: `line ${i} ${'x'.repeat(80)}\n` } },
        { item_id: 'call_1' }
      )
    );
    const state = applyEvents(EMPTY_TIMELINE, [started, ...pieces]);
    const bubble = only(state);
    expect(bubble.runOutputs).toHaveLength(1);
    const text = String(bubble.runOutputs[0].text);
    expect(text.length).toBeLessThanOrEqual(200_000);
    expect(text.endsWith(`line 2999 ${'x'.repeat(80)}\n`)).toBe(true);
  });

  it('shows a run from its result alone when no progress events were kept', () => {
    const view = notebookCallView(
      {
        tool: 'notebook_run_cell',
        arguments: { cell_id: 'r2' },
        result: [
          { type: 'inputText', text: 'Ran cell r2 (execution_count=1): completed.\n[display]\n[image image/png: attached]' },
          { type: 'inputImage', imageUrl: `data:image/png;base64,${PNG}` },
          { type: 'inputImage', imageUrl: 'javascript:alert(1)' }
        ],
        cellChange: null,
        runOutputs: [],
        notebook: null
      },
      'r.ipynb'
    );
    expect(view.outputs.map(o => o.kind)).toEqual(['text', 'image']);
    expect(view.summary).toBe('Ran cell r2 (execution_count=1): completed.');
  });

  it('keeps a read to one line', () => {
    const view = notebookCallView(
      {
        tool: 'notebook_read',
        arguments: {},
        result: [{ type: 'inputText', text: 'Notebook a.ipynb: 12 cells (showing 0-11), kernel python3.\n\n### cell 0' }],
        cellChange: null,
        runOutputs: [],
        notebook: null
      },
      'a.ipynb'
    );
    expect(view.title).toBe('Read cells 1–12 of 12');
    expect(view.diff).toBeNull();
    expect(view.outputs).toEqual([]);
  });

  it('has pure helpers for diffs, outputs and ANSI', () => {
    expect(stripAnsi('\u001b[01;31mred\u001b[0m plain')).toBe('red plain');
    expect(cellDiff('a', 'a')).toEqual([{ kind: 'ctx', text: 'a' }]);
    expect(cellDiff(null, null)).toEqual([]);
    expect(shownOutputs([{ output_type: 'execute_result', data: { 'text/plain': '42' } }])).toEqual([
      { kind: 'text', text: '42' }
    ]);
    expect(shownOutputs([{ output_type: 'display_data', data: { 'text/html': '<b>' } }])).toEqual([
      { kind: 'text', text: '[text/html output]' }
    ]);
  });
});

describe('what the notebook host reports of an output', () => {
  it('passes small outputs as they are and shrinks huge ones below the limit', () => {
    const small = { output_type: 'stream', name: 'stdout', text: 'hi\n' };
    expect(reportedOutput(small, 1000)).toBe(small);
    const plot = {
      output_type: 'display_data',
      data: { 'image/png': 'A'.repeat(5000), 'text/plain': '<Figure>' },
      metadata: { 'image/png': { width: 10 } }
    };
    const shrunk = reportedOutput(plot, 1000);
    expect(JSON.stringify(shrunk).length).toBeLessThan(1000);
    expect(shrunk.output_type).toBe('display_data');
    expect(String((shrunk.data as any)['text/plain'])).toContain('image/png, text/plain output');
    const chatty = { output_type: 'stream', name: 'stdout', text: 'x'.repeat(3000) + 'END' };
    const tail = reportedOutput(chatty, 1000);
    expect(JSON.stringify(tail).length).toBeLessThan(1000);
    expect(String(tail.text).endsWith('END')).toBe(true);
    const error = { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['t'.repeat(3000)] };
    expect(JSON.stringify(reportedOutput(error, 1000)).length).toBeLessThan(1000);
  });
});
