/**
 * The timeline's item events: each item of a turn (message, reasoning, plan,
 * command, file change, tool call, other item, subagent step) is one bubble
 * that its `*.started`, delta and `*.completed` events update in place.
 */
import { Codex } from '../tokens';
import {
  appendOutput,
  cellChangeOf,
  ICellChange,
  NotebookOutput,
  notebookToolOf,
  outputOf
} from './notebookCalls';
import { base, capTail, Draft, itemKey, num, str } from './timelineDraft';
import {
  IAssistantBubble,
  ICommandBubble,
  IFileChangeBubble,
  IItemBubble,
  IPlanBubble,
  IProposedPlanBubble,
  IReasoningBubble,
  ISubagentBubble,
  IToolBubble
} from './timelineState';

/** Client-side cap of a command's live output (the tail is kept). */
export const LIVE_OUTPUT_CAP = 200_000;

export function onAssistant(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('assistant', e);
  const updated = d.update<IAssistantBubble>(key, e.seq, b => {
    if (e.type === 'assistant.delta') {
      if (!b.final) {
        b.text += str(data.delta) ?? '';
      }
    } else if (e.type === 'assistant.message') {
      b.text = str(data.text) ?? b.text;
      b.phase = str(data.phase);
      b.final = true;
    }
  });
  if (!updated) {
    d.add({
      ...base(e, key),
      kind: 'assistant',
      text:
        e.type === 'assistant.delta'
          ? (str(data.delta) ?? '')
          : e.type === 'assistant.message'
            ? (str(data.text) ?? '')
            : '',
      phase: str(data.phase),
      final: e.type === 'assistant.message'
    });
  }
}

export function onReasoning(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('reasoning', e);
  const apply = (b: { sections: readonly string[]; done: boolean }) => {
    if (e.type === 'reasoning.delta') {
      const index = num(data.index) ?? 0;
      const sections = b.sections.slice();
      while (sections.length <= index) {
        sections.push('');
      }
      sections[index] += str(data.delta) ?? '';
      b.sections = sections;
    } else if (e.type === 'reasoning.summary') {
      const summary: string[] = Array.isArray(data.summary) ? data.summary : [];
      const content: string[] = Array.isArray(data.content) ? data.content : [];
      const final = summary.length ? summary : content;
      if (final.length) {
        b.sections = final.map(String);
      }
      b.done = true;
    }
  };
  if (!d.update<IReasoningBubble>(key, e.seq, apply)) {
    const bubble = {
      ...base(e, key),
      kind: 'reasoning' as const,
      sections: [] as readonly string[],
      done: false
    };
    apply(bubble);
    d.add(bubble);
  }
}

export function onPlan(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = `plan:${e.turn_id ?? `#${e.seq}`}`;
  const steps = Array.isArray(data.steps)
    ? data.steps.map((s: any) => ({
        step: String(s?.step ?? ''),
        status: String(s?.status ?? 'pending')
      }))
    : [];
  if (
    !d.update<IPlanBubble>(key, e.seq, b => {
      b.explanation = str(data.explanation);
      b.steps = steps;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'plan',
      explanation: str(data.explanation),
      steps
    });
  }
}

export function onProposedPlan(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('proposed_plan', e);
  const delta = str(data.delta) ?? '';
  const updated = d.update<IProposedPlanBubble>(key, e.seq, b => {
    if (e.type === 'plan.proposed') {
      b.text = str(data.text) ?? b.text;
      b.done = true;
    } else {
      b.text += delta;
    }
  });
  if (!updated) {
    d.add({
      ...base(e, key),
      kind: 'proposed_plan',
      text: e.type === 'plan.proposed' ? (str(data.text) ?? '') : delta,
      done: e.type === 'plan.proposed'
    });
  }
}

export function onCommand(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('command', e);
  const updated = d.update<ICommandBubble>(key, e.seq, b => {
    if (e.type === 'command.output') {
      b.output = capTail(b.output + (str(data.delta) ?? ''), LIVE_OUTPUT_CAP);
      b.truncated = b.truncated || data.truncated === true;
    } else if (e.type === 'command.completed') {
      b.command = str(data.command) ?? b.command;
      b.cwd = str(data.cwd) ?? b.cwd;
      b.status = str(data.status) ?? 'completed';
      b.exitCode = num(data.exit_code);
      b.durationMs = num(data.duration_ms);
      if (typeof data.output === 'string' && data.output !== '') {
        b.output = data.output;
      }
      b.truncated = data.truncated === true;
    } else {
      b.command = str(data.command) ?? b.command;
      b.cwd = str(data.cwd) ?? b.cwd;
    }
  });
  if (!updated) {
    const completed = e.type === 'command.completed';
    d.add({
      ...base(e, key),
      kind: 'command',
      command: str(data.command) ?? '',
      cwd: str(data.cwd),
      output:
        e.type === 'command.output'
          ? (str(data.delta) ?? '')
          : completed
            ? (str(data.output) ?? '')
            : '',
      status: completed ? (str(data.status) ?? 'completed') : 'in_progress',
      exitCode: completed ? num(data.exit_code) : null,
      durationMs: completed ? num(data.duration_ms) : null,
      truncated: data.truncated === true,
      actions: Array.isArray(data.actions) ? data.actions : []
    });
  }
}

export function onFileChange(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('file_change', e);
  const changes: Codex.IFileChange[] | null = Array.isArray(data.changes)
    ? data.changes
    : null;
  const status =
    e.type === 'file_change.completed'
      ? (str(data.status) ?? 'completed')
      : (str(data.status) ?? 'in_progress');
  if (
    !d.update<IFileChangeBubble>(key, e.seq, b => {
      if (changes && changes.length) {
        b.changes = changes;
      }
      b.status = status;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'file_change',
      changes: changes ?? [],
      status
    });
  }
}

export function onTool(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('tool', e);
  const updated = d.update<IToolBubble>(key, e.seq, b => {
    if (e.type === 'tool_call.progress') {
      b.progress = [...b.progress, str(data.message) ?? ''];
      return;
    }
    b.toolKind = str(data.kind) ?? b.toolKind;
    b.server = str(data.server) ?? b.server;
    b.tool = str(data.tool) ?? b.tool;
    b.arguments = data.arguments ?? b.arguments;
    b.result = data.result ?? b.result;
    b.error = data.error ?? null;
    b.status = str(data.status) ?? b.status;
    b.durationMs = num(data.duration_ms);
  });
  if (!updated) {
    d.add({
      ...base(e, key),
      kind: 'tool',
      toolKind: str(data.kind) ?? 'mcp',
      server: str(data.server),
      tool: str(data.tool) ?? 'tool',
      arguments: data.arguments ?? null,
      result: data.result ?? null,
      error: data.error ?? null,
      status:
        str(data.status) ??
        (e.type === 'tool_call.completed' ? 'completed' : 'in_progress'),
      durationMs: num(data.duration_ms),
      progress: e.type === 'tool_call.progress' ? [str(data.message) ?? ''] : [],
      cellChange: null,
      runOutputs: [],
      notebook: null
    });
  }
}

/** A notebook tool call's cell change or run output, on the call's own bubble. */
export function onNotebook(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('tool', e);
  const change = e.type === 'notebook.cell_changed' ? cellChangeOf(data) : null;
  const output = e.type === 'notebook.run_output' ? outputOf(data) : null;
  const apply = (b: {
    cellChange: ICellChange | null;
    runOutputs: readonly NotebookOutput[];
    notebook: string | null;
  }) => {
    b.notebook = str(data.notebook) ?? b.notebook;
    if (change) {
      b.cellChange = change;
    }
    if (output) {
      b.runOutputs = appendOutput(b.runOutputs, output, LIVE_OUTPUT_CAP);
    }
  };
  if (!d.update<IToolBubble>(key, e.seq, apply)) {
    // The call's own `tool_call.started` normally comes first; never lose the event.
    const bubble = {
      ...base(e, key),
      kind: 'tool' as const,
      toolKind: 'dynamic',
      server: null,
      tool: notebookToolOf(e.type, change),
      arguments: null,
      result: null,
      error: null,
      status: 'in_progress',
      durationMs: null,
      progress: [] as readonly string[],
      cellChange: null as ICellChange | null,
      runOutputs: [] as readonly NotebookOutput[],
      notebook: null as string | null
    };
    apply(bubble);
    d.add(bubble);
  }
}

export function onItem(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('item', e);
  const done = e.type === 'item.completed';
  if (
    !d.update<IItemBubble>(key, e.seq, b => {
      b.item = data.item ?? b.item;
      b.itemType = str(data.item_type) ?? b.itemType;
      b.done = b.done || done;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'item',
      itemType: str(data.item_type) ?? 'item',
      item: data.item ?? null,
      done
    });
  }
}

/** A subagent's event: one line in its nested bubble, never a bubble of the session's turn. */
export function onSubagent(d: Draft, e: Codex.IEvent): void {
  const sub = e.data.subagent ?? {};
  const threadId = String(sub.thread_id ?? '');
  const key = `subagent:${threadId}`;
  if (!d.get(key)) {
    d.add({
      ...base(e, key),
      kind: 'subagent',
      threadId,
      path: str(sub.path),
      parentItemId: str(sub.parent_item_id),
      lines: [],
      done: false
    });
  }
  const data = e.data;
  let line: string | null = null;
  switch (e.type) {
    case 'command.completed':
      line = `$ ${str(data.command) ?? ''} → ${
        data.status === 'declined' ? 'declined' : `exit ${data.exit_code ?? '?'}`
      }`;
      break;
    case 'file_change.completed':
      line = `${str(data.status) ?? 'changed'}: ${((data.changes ?? []) as any[])
        .map(c => c.path)
        .join(', ')}`;
      break;
    case 'assistant.message':
      line = str(data.text);
      break;
    case 'tool_call.completed':
      line = `tool ${str(data.tool) ?? ''}`;
      break;
    case 'error':
      line = `error: ${str(data.message) ?? ''}`;
      break;
  }
  d.update<ISubagentBubble>(key, e.seq, b => {
    if (line) {
      b.lines = [...b.lines, line];
    }
    if (e.type === 'subagent.completed') {
      b.done = true;
    } else if (e.type === 'subagent.started') {
      b.done = false;
    }
  });
}
