/**
 * What the tool, command and file-change bubbles say: verbs of file
 * operations, titles of MCP / dynamic tool / web search / subagent calls, and
 * tool results as text. Events go through the real reducer first.
 */
import { describe, expect, it } from 'vitest';

import {
  changeVerb,
  commandState,
  commandSummary,
  inlineApprovals,
  toolResultText,
  toolTitle
} from '../model/bubbles';
import {
  applyEvents,
  EMPTY_TIMELINE,
  IApprovalBubble,
  ICommandBubble,
  IFileChangeBubble,
  IToolBubble
} from '../model/timeline';
import { Codex } from '../tokens';
import { eventFactory } from './fixtures';

function change(
  kind: string,
  path: string,
  move_path: string | null = null
): Codex.IFileChange {
  return { kind, path, move_path, diff: '' };
}

/** The tool bubble the reducer builds from these tool_call events. */
function toolBubble(...datas: Array<[string, { [key: string]: any }]>) {
  const make = eventFactory();
  const state = applyEvents(
    EMPTY_TIMELINE,
    datas.map(([type, data]) => make(type, data, { item_id: 'x1' }))
  );
  expect(state.bubbles).toHaveLength(1);
  return state.bubbles[0] as IToolBubble;
}

describe('file operations', () => {
  it('names each kind of change with its verb', () => {
    expect(changeVerb(change('add', '/p/new.py'))).toBe('Created');
    expect(changeVerb(change('delete', '/p/old.py'))).toBe('Deleted');
    expect(changeVerb(change('update', '/p/a.py'))).toBe('Edited');
    // A move within one folder is a rename; to another folder, a move.
    expect(changeVerb(change('move', '/p/a.py', '/p/b.py'))).toBe('Renamed');
    expect(changeVerb(change('move', '/p/a.py', '/p/sub/a.py'))).toBe('Moved');
    expect(changeVerb(change('move', 'a.py', 'b.py'))).toBe('Renamed');
    expect(changeVerb(change('update', '/p/a.py', '/q/a.py'))).toBe('Moved');
  });

  it('names the changes of a file_change event the reducer kept', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make(
        'file_change.completed',
        {
          status: 'completed',
          changes: [
            change('move', '/srv/root/proj/a.py', '/srv/root/proj/b.py'),
            change('delete', '/srv/root/proj/gone.txt')
          ]
        },
        { item_id: 'f1' }
      )
    ]);
    const bubble = state.bubbles[0] as IFileChangeBubble;
    expect(bubble.status).toBe('completed');
    expect(bubble.changes.map(changeVerb)).toEqual(['Renamed', 'Deleted']);
  });

  it('summarises a command that only read files as "Read …"', () => {
    const make = eventFactory();
    const state = applyEvents(EMPTY_TIMELINE, [
      make(
        'command.completed',
        {
          command: "/bin/bash -lc 'cat a.py b.py'",
          status: 'completed',
          exit_code: 0,
          actions: [
            { type: 'read', name: 'a.py', path: '/p/a.py' },
            { type: 'read', name: 'b.py', path: '/p/b.py' }
          ]
        },
        { item_id: 'c1' }
      )
    ]);
    const bubble = state.bubbles[0] as ICommandBubble;
    expect(commandSummary(bubble)).toBe('Read a.py, b.py');
    const mixed = {
      ...bubble,
      actions: [
        { type: 'read', name: 'a.py' },
        { type: 'search', query: 'TODO', path: 'src' }
      ]
    };
    expect(commandSummary(mixed)).toBe('Searched "TODO" in src');
    expect(commandSummary({ ...bubble, actions: [] })).toBeNull();
  });
});

describe('tool bubbles', () => {
  it('titles an MCP call with its server and tool, and follows its progress', () => {
    const bubble = toolBubble(
      [
        'tool_call.started',
        { kind: 'mcp', server: 'docs', tool: 'search', arguments: { q: 'x' } }
      ],
      ['tool_call.progress', { message: 'halfway' }],
      [
        'tool_call.completed',
        {
          kind: 'mcp',
          server: 'docs',
          tool: 'search',
          status: 'completed',
          duration_ms: 42,
          result: { content: [{ type: 'text', text: 'found it' }] }
        }
      ]
    );
    expect(toolTitle(bubble)).toBe('MCP docs · search');
    expect(bubble.progress).toEqual(['halfway']);
    expect(bubble.status).toBe('completed');
    expect(bubble.durationMs).toBe(42);
    expect(toolResultText(bubble.result)).toBe('found it');
  });

  it('titles dynamic tools, web searches and subagents', () => {
    expect(
      toolTitle(
        toolBubble(['tool_call.started', { kind: 'dynamic', tool: 'lookup' }])
      )
    ).toBe('Tool lookup');
    expect(
      toolTitle(
        toolBubble([
          'tool_call.completed',
          {
            kind: 'web_search',
            tool: 'web_search',
            arguments: { query: 'jupyter codex', action: null }
          }
        ])
      )
    ).toBe('Searched the web: jupyter codex');
    expect(
      toolTitle(
        toolBubble(['tool_call.started', { kind: 'web_search', tool: '' }])
      )
    ).toBe('Searched the web');
    const prompt = 'Review the tests. '.repeat(20);
    expect(
      toolTitle(
        toolBubble([
          'tool_call.started',
          { kind: 'collab', tool: 'spawn_agent', arguments: { prompt } }
        ])
      )
    ).toBe(`Subagent: ${prompt.slice(0, 120)}`);
    // No kind: an MCP call without a known server.
    expect(
      toolTitle(toolBubble(['tool_call.started', { tool: 'calc' }]))
    ).toBe('MCP calc');
  });

  it("renders a dynamic tool's content items as their text, not JSON", () => {
    const bubble = toolBubble([
      'tool_call.completed',
      {
        kind: 'dynamic',
        tool: 'lookup',
        status: 'completed',
        result: [
          { type: 'inputText', text: 'first line' },
          { type: 'inputImage', imageUrl: 'data:image/png;base64,AAAA' },
          { type: 'inputText', text: 'second line' }
        ],
        success: true
      }
    ]);
    expect(toolResultText(bubble.result)).toBe(
      'first line\n[image]\nsecond line'
    );
  });

  it('reads contentItems objects, MCP content, strings and other JSON', () => {
    expect(
      toolResultText({
        contentItems: [{ type: 'inputText', text: 'ok' }],
        success: true
      })
    ).toBe('ok');
    expect(
      toolResultText({
        content: [
          { type: 'text', text: 'a' },
          { type: 'resource', uri: 'file:///x' }
        ]
      })
    ).toBe('a\n{"type":"resource","uri":"file:///x"}');
    expect(toolResultText('plain')).toBe('plain');
    expect(toolResultText(null)).toBe('');
    expect(toolResultText([1, 2])).toBe('[\n  1,\n  2\n]');
    expect(toolResultText({ answer: 42 })).toBe('{\n  "answer": 42\n}');
  });
});

describe('a command carries its approval state', () => {
  const make = eventFactory();
  const approval = {
    id: 'ap1',
    kind: 'command',
    item_id: 'c1',
    turn_id: 't1',
    command: 'rm -rf build'
  };
  const states = (...types: Array<[string, { [key: string]: any }]>) => {
    const state = applyEvents(
      EMPTY_TIMELINE,
      types.map(([type, data]) =>
        make(type, data, { item_id: 'c1', turn_id: 't1' })
      )
    );
    const command = state.bubbles.find(b => b.kind === 'command') as
      | ICommandBubble
      | undefined;
    const card = state.bubbles.find(b => b.kind === 'approval') as
      | IApprovalBubble
      | undefined;
    return commandState(command ?? null, card ?? null);
  };
  const started: [string, { [key: string]: any }] = [
    'command.started',
    { command: 'rm -rf build' }
  ];
  const asked: [string, { [key: string]: any }] = [
    'approval.requested',
    approval
  ];

  it('waits for the user instead of "running…"', () => {
    expect(states(started, asked)).toEqual({
      state: 'waiting',
      label: 'waiting for approval'
    });
  });

  it('runs after an approval and ends with its exit code', () => {
    expect(
      states(started, asked, [
        'approval.resolved',
        { id: 'ap1', decision: 'accept', by: 'user' }
      ]).state
    ).toBe('running');
    expect(
      states(
        started,
        asked,
        ['approval.resolved', { id: 'ap1', decision: 'accept', by: 'user' }],
        ['command.completed', { status: 'completed', exit_code: 0 }]
      )
    ).toEqual({ state: 'ok', label: 'exit 0' });
  });

  it('says declined, or cancelled when the turn ended (not "declined")', () => {
    expect(
      states(
        started,
        asked,
        ['approval.resolved', { id: 'ap1', decision: 'decline', by: 'user' }],
        ['command.completed', { status: 'declined' }]
      ).label
    ).toBe('declined');
    expect(
      states(
        started,
        asked,
        ['approval.resolved', { id: 'ap1', decision: 'cancel', by: 'server' }],
        ['command.completed', { status: 'declined' }]
      )
    ).toEqual({ state: 'cancelled', label: 'cancelled (turn ended)' });
  });
});

describe('approvals render inside the call they are about', () => {
  const make = eventFactory();
  const ask = (id: string, kind: string, item: string) =>
    make(
      'approval.requested',
      { id, kind, item_id: item, turn_id: 't1', command: 'print(1)' },
      { item_id: item, turn_id: 't1' }
    );
  const run = () =>
    make(
      'tool_call.started',
      { kind: 'dynamic', tool: 'notebook_run_cell', arguments: { cell_id: 'r1' }, status: 'in_progress' },
      { item_id: 'call_1', turn_id: 't1' }
    );
  const command = () =>
    make('command.started', { command: 'ls' }, { item_id: 'c1', turn_id: 't1' });

  it('merges a command approval and a notebook run approval into their bubbles', () => {
    const state = applyEvents(EMPTY_TIMELINE, [
      command(),
      ask('ap1', 'command', 'c1'),
      run(),
      ask('ap2', 'notebook_run', 'call_1'),
      ask('ap3', 'file_change', 'f1'), // a file change keeps its own card
      ask('ap4', 'notebook_run', 'call_9') // its call has not started: alone for now
    ]);
    const { byItem, merged } = inlineApprovals(state.bubbles, state.index);
    expect(byItem.get('c1')?.approval.id).toBe('ap1');
    expect(byItem.get('call_1')?.approval.id).toBe('ap2');
    expect(byItem.has('f1')).toBe(false);
    expect([...merged].sort()).toEqual(['approval:ap1', 'approval:ap2']);
  });
});
