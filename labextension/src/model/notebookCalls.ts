/**
 * Notebook tool calls in the timeline (pure, no React): what the bubble of a
 * `notebook_*` call shows. Edits show as a cell diff (before / after source),
 * runs with their outputs (text, errors with their traceback, images), reads as
 * one line. It is built from the call's arguments and result (`tool_call.*`)
 * and from the `notebook.cell_changed` / `notebook.run_output` events of that
 * call, which both the server and the browser append (docs/notebooks.md), so a
 * live session and a replayed one show the same.
 */
import { lineDiff } from '../notebook/diff';
import type { ICellChange, IToolBubble, NotebookOutput } from './timelineState';

export const NOTEBOOK_TOOL_PREFIX = 'notebook_';

export type { ICellChange, NotebookOutput } from './timelineState';

/** One output as the timeline shows it. */
export type ShownOutput =
  | { kind: 'stream'; name: string; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'image'; mime: string; src: string }
  | { kind: 'error'; ename: string; evalue: string; traceback: string };

export interface IDiffLine {
  readonly kind: 'add' | 'del' | 'ctx';
  readonly text: string;
}

/** Everything a notebook call's bubble shows. */
export interface INotebookCallView {
  readonly tool: string;
  /** e.g. "Edited cell a1", "Ran cell r1", "Read cells 1–12". */
  readonly title: string;
  /** The notebook (path under the Jupyter root), or `null` if unknown. */
  readonly path: string | null;
  /** The cell "Go to cell" selects (`null`: open the notebook only). */
  readonly cellId: string | null;
  /** The cell diff of an edit (`null`: none to show). */
  readonly diff: readonly IDiffLine[] | null;
  /** A run's outputs. */
  readonly outputs: readonly ShownOutput[];
  /** A run's one-line outcome ("… completed.", "… interrupted …"), else `null`. */
  readonly summary: string | null;
}

const ACTIONS = ['inserted', 'edited', 'deleted', 'moved'] as const;
const TOOL_OF_ACTION: { [action: string]: string } = {
  inserted: 'insert_cell',
  edited: 'edit_cell',
  deleted: 'delete_cell',
  moved: 'move_cell'
};
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

export function isNotebookTool(tool: string): boolean {
  return tool.startsWith(NOTEBOOK_TOOL_PREFIX);
}

/** Terminal colour codes out (tracebacks of IPython are coloured). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function joined(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join('') : String(value ?? '');
}

/** The cell change of a `notebook.cell_changed` event's data, or `null`. */
export function cellChangeOf(data: { [key: string]: any }): ICellChange | null {
  const action = ACTIONS.find(a => a === data.action);
  const cellId = str(data.cell_id);
  if (!action || !cellId) {
    return null;
  }
  return {
    action,
    cellId,
    index: typeof data.index === 'number' ? data.index : null,
    before: str(data.source_before),
    after: str(data.source_after)
  };
}

/** The output of a `notebook.run_output` event's data, or `null`. */
export function outputOf(data: { [key: string]: any }): NotebookOutput | null {
  const output = data.output;
  return output && typeof output.output_type === 'string'
    ? (output as NotebookOutput)
    : null;
}

/**
 * Add a run's output; a stream piece joins the previous piece of its stream (as
 * JupyterLab shows it), whose text keeps its last `cap` characters, so a chatty
 * run costs one growing string, not one entry per piece. The run's
 * `{output_type: 'clear_output'}` (the cell called `clear_output()`) empties the
 * list, as it empties the cell.
 */
export function appendOutput(
  outputs: readonly NotebookOutput[],
  output: NotebookOutput,
  cap: number
): readonly NotebookOutput[] {
  if (output.output_type === 'clear_output') {
    return [];
  }
  const last = outputs[outputs.length - 1];
  if (
    output.output_type === 'stream' &&
    last?.output_type === 'stream' &&
    last.name === output.name
  ) {
    const text = joined(last.text) + joined(output.text);
    return [
      ...outputs.slice(0, -1),
      { ...last, text: text.length > cap ? text.slice(text.length - cap) : text }
    ];
  }
  return [...outputs, output];
}

/** The tool of a notebook event that came before its call's `tool_call.started`. */
export function notebookToolOf(type: string, change: ICellChange | null): string {
  if (type === 'notebook.run_output') {
    return NOTEBOOK_TOOL_PREFIX + 'run_cell';
  }
  return NOTEBOOK_TOOL_PREFIX + (change ? TOOL_OF_ACTION[change.action] : 'edit_cell');
}

/**
 * Outputs as shown: consecutive stream outputs of one stream merged (as
 * JupyterLab shows them), images as data URLs, else the plain text.
 */
export function shownOutputs(outputs: readonly NotebookOutput[]): ShownOutput[] {
  const shown: ShownOutput[] = [];
  for (const output of outputs) {
    switch (output.output_type) {
      case 'stream': {
        const name = str(output.name) ?? 'stdout';
        const text = stripAnsi(joined(output.text));
        const last = shown[shown.length - 1];
        if (last?.kind === 'stream' && last.name === name) {
          shown[shown.length - 1] = { ...last, text: last.text + text };
        } else {
          shown.push({ kind: 'stream', name, text });
        }
        break;
      }
      case 'error':
        shown.push({
          kind: 'error',
          ename: String(output.ename ?? 'Error'),
          evalue: String(output.evalue ?? ''),
          traceback: stripAnsi(
            Array.isArray(output.traceback) ? output.traceback.join('\n') : ''
          )
        });
        break;
      case 'display_data':
      case 'execute_result': {
        const data = (output.data ?? {}) as { [mime: string]: unknown };
        const mime = IMAGE_TYPES.find(m => m in data);
        if (mime) {
          const base64 = joined(data[mime]).replace(/\s/g, '');
          shown.push({ kind: 'image', mime, src: `data:${mime};base64,${base64}` });
        } else if ('text/plain' in data) {
          shown.push({ kind: 'text', text: stripAnsi(joined(data['text/plain'])) });
        } else {
          const kinds = Object.keys(data).sort().join(', ');
          shown.push({ kind: 'text', text: `[${kinds || 'empty'} output]` });
        }
        break;
      }
    }
  }
  return shown;
}

/** A dynamic tool result's text and image items (`contentItems`). */
export function resultItems(result: unknown): { text: string; images: string[] } {
  const items: any[] = Array.isArray(result)
    ? result
    : Array.isArray((result as any)?.contentItems)
      ? (result as any).contentItems
      : [];
  const texts: string[] = [];
  const images: string[] = [];
  for (const item of items) {
    if (item?.type === 'inputText' && typeof item.text === 'string') {
      texts.push(item.text);
    } else if (
      item?.type === 'inputImage' &&
      typeof item.imageUrl === 'string' &&
      /^data:image\/(png|jpeg|gif|webp);base64,/.test(item.imageUrl)
    ) {
      images.push(item.imageUrl);
    }
  }
  return { text: texts.join('\n'), images };
}

/** A cell diff: every line added (a new cell), removed (a deleted one), or a line diff. */
export function cellDiff(before: string | null, after: string | null): IDiffLine[] {
  if (before === null && after === null) {
    return [];
  }
  if (before === null || after === null) {
    const kind = before === null ? 'add' : 'del';
    return (after ?? before ?? '').split('\n').map(text => ({ kind, text }));
  }
  return lineDiff(before, after).map(([mark, text]) => ({
    kind: mark === '+' ? 'add' : mark === '-' ? 'del' : 'ctx',
    text
  }));
}

function readTitle(args: { [key: string]: any }, text: string): string {
  const start = typeof args.start === 'number' ? args.start : null;
  const end = typeof args.end === 'number' ? args.end : null;
  const shown = /: (\d+) cells \(showing (\d+)-(\d+)\)/.exec(text);
  if (shown) {
    const [total, first, last] = shown.slice(1).map(Number);
    return total === 0
      ? 'Read the notebook (no cells)'
      : `Read cells ${first + 1}–${last + 1} of ${total}`;
  }
  if (start !== null || end !== null) {
    return `Read cells ${(start ?? 0) + 1}–${end ?? 'end'}`;
  }
  return 'Read the notebook';
}

/** What the bubble of a `notebook_*` call shows (`notebook`: the session's notebook). */
export function notebookCallView(
  bubble: Pick<
    IToolBubble,
    'tool' | 'arguments' | 'result' | 'cellChange' | 'runOutputs' | 'notebook'
  > & { readonly status?: string },
  notebook: string | null
): INotebookCallView {
  const tool = bubble.tool.slice(NOTEBOOK_TOOL_PREFIX.length);
  const args: { [key: string]: any } =
    bubble.arguments && typeof bubble.arguments === 'object'
      ? (bubble.arguments as { [key: string]: any })
      : {};
  const { text, images } = resultItems(bubble.result);
  const change = bubble.cellChange;
  const path = bubble.notebook ?? notebook;
  const argCell = str(args.cell_id);
  const inserted = /^Inserted cell (\S+)/.exec(text)?.[1] ?? null;
  const cellId = change?.cellId ?? argCell ?? inserted;
  const base = { tool: bubble.tool, path, outputs: [], summary: null, diff: null };
  switch (tool) {
    case 'read':
      return { ...base, title: readTitle(args, text), cellId: null };
    case 'insert_cell':
      return {
        ...base,
        title: `Inserted cell${cellId ? ` ${cellId}` : ''}${
          change?.index !== null && change?.index !== undefined ? ` at index ${change.index}` : ''
        }`,
        cellId,
        diff: cellDiff(null, change?.after ?? str(args.source))
      };
    case 'edit_cell':
      return {
        ...base,
        title: `Edited cell ${cellId ?? ''}`.trim(),
        cellId,
        // Without the change event only the new source is known.
        diff: change ? cellDiff(change.before, change.after) : cellDiff(null, str(args.source))
      };
    case 'delete_cell':
      return {
        ...base,
        title: `Deleted cell ${cellId ?? ''}`.trim(),
        cellId: null,
        diff: change ? cellDiff(change.before, null) : null
      };
    case 'move_cell': {
      const to = change?.index ?? (typeof args.index === 'number' ? args.index : null);
      return {
        ...base,
        title: `Moved cell ${cellId ?? ''}${to !== null ? ` to index ${to}` : ''}`,
        cellId
      };
    }
    case 'run_cell': {
      let outputs = shownOutputs(bubble.runOutputs);
      const lines = text.split('\n');
      if (!outputs.length && (lines.length > 1 || images.length)) {
        // No progress events (an older server): the answer's text and images.
        const rest = lines.slice(1).join('\n').trim();
        outputs = [
          ...(rest ? [{ kind: 'text' as const, text: stripAnsi(rest) }] : []),
          ...images.map(src => ({ kind: 'image' as const, mime: 'image', src }))
        ];
      }
      return {
        ...base,
        // "Run cell r1" while it waits for approval or runs, "Ran cell r1" after.
        title: `${bubble.status === 'in_progress' ? 'Run' : 'Ran'} cell ${cellId ?? ''}`.trim(),
        cellId,
        outputs,
        summary: text ? lines[0] : null
      };
    }
    default:
      return { ...base, title: `Notebook ${tool.replace(/_/g, ' ')}`, cellId };
  }
}
