/**
 * The `notebook_*` tools on a live notebook document: the same arguments and the
 * same answers as the server's `workspace/notebook_cells.py`, applied to the
 * notebook's shared model (so every open view shows them at once and each edit is
 * one undo step).
 *
 * The model types are described structurally (the subset of `@jupyter/ydoc` used
 * here), so this module needs no notebook package at build time.
 */

/** One nbformat output. */
export type Output = { output_type: string; [key: string]: unknown };

export interface ISharedCellLike {
  readonly id: string;
  readonly cell_type: string;
  getSource(): string;
  setSource(value: string): void;
  execution_count?: number | null;
  getOutputs?(): Output[];
  setOutputs?(outputs: Output[]): void;
}

export interface ISharedNotebookLike {
  readonly cells: ISharedCellLike[];
  insertCell(
    index: number,
    cell: { cell_type: string; source: string; id?: string }
  ): ISharedCellLike;
  deleteCell(index: number): void;
  moveCell(from: number, to: number): void;
  transact(f: () => void, undoable?: boolean): void;
  undoManager?: { stopCapturing(): void } | null;
  getMetadata?(key?: string): unknown;
}

export const PREFIX = 'notebook_';
export const TOOL_NAMES = [
  'read',
  'insert_cell',
  'edit_cell',
  'delete_cell',
  'move_cell',
  'run_cell'
].map(n => PREFIX + n);

const OUTPUT_TEXT_CAP = 8000;
const MAX_IMAGES = 8;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** A tool failure whose message the model reads. */
export class NotebookToolError extends Error {}

/** What a tool answers: text for the model and images it can view. */
export interface IRendered {
  text: string;
  images: { mime: string; data: string }[];
}

/** A change, for the "changed by Codex" marks. */
export interface IChange {
  action: 'inserted' | 'edited' | 'deleted' | 'moved';
  cellId: string;
  index: number;
}

function joined(value: unknown): string {
  return Array.isArray(value) ? value.join('') : String(value ?? '');
}

function cap(text: string): string {
  if (text.length <= OUTPUT_TEXT_CAP) {
    return text;
  }
  const head = Math.floor(OUTPUT_TEXT_CAP / 4);
  const tail = OUTPUT_TEXT_CAP - head;
  return `${text.slice(0, head)}\n[… ${text.length - OUTPUT_TEXT_CAP} characters omitted …]\n${text.slice(-tail)}`;
}

export function find(nb: ISharedNotebookLike, cellId: unknown): number {
  if (typeof cellId !== 'string' || !cellId) {
    throw new NotebookToolError(
      '`cell_id` is required (a cell id from notebook_read).'
    );
  }
  const index = nb.cells.findIndex(c => c.id === cellId);
  if (index < 0) {
    throw new NotebookToolError(
      `No cell has the id '${cellId}' (it may have been deleted); call notebook_read for the current cell ids.`
    );
  }
  return index;
}

function source(args: Record<string, unknown>): string {
  if (typeof args.source !== 'string') {
    throw new NotebookToolError('`source` must be a string.');
  }
  return args.source;
}

function cellType(args: Record<string, unknown>, fallback: string | null) {
  const kind = args.cell_type ?? fallback;
  if (kind !== null && !['code', 'markdown', 'raw'].includes(String(kind))) {
    throw new NotebookToolError(
      "`cell_type` must be 'code', 'markdown' or 'raw'."
    );
  }
  return kind as string | null;
}

/** Apply one edit tool as one undoable step. */
export function applyEdit(
  nb: ISharedNotebookLike,
  tool: string,
  args: Record<string, unknown>
): IChange {
  let change: IChange | null = null;
  const step = () => {
    switch (tool) {
      case PREFIX + 'insert_cell': {
        const text = source(args);
        const kind = cellType(args, 'code') ?? 'code';
        let at = nb.cells.length;
        if (args.after_cell_id) {
          at = find(nb, args.after_cell_id) + 1;
        } else if (args.index !== undefined && args.index !== null) {
          const index = args.index;
          if (
            typeof index !== 'number' ||
            !Number.isInteger(index) ||
            index < 0 ||
            index > nb.cells.length
          ) {
            throw new NotebookToolError(
              `\`index\` must be between 0 and ${nb.cells.length}.`
            );
          }
          at = index;
        }
        const cell = nb.insertCell(at, { cell_type: kind, source: text });
        change = { action: 'inserted', cellId: cell.id, index: at };
        break;
      }
      case PREFIX + 'edit_cell': {
        const index = find(nb, args.cell_id);
        const text = source(args);
        const kind = cellType(args, null);
        const cell = nb.cells[index];
        if (kind && kind !== cell.cell_type) {
          const id = cell.id;
          nb.deleteCell(index);
          nb.insertCell(index, { cell_type: kind, source: text, id });
        } else {
          cell.setSource(text);
        }
        change = { action: 'edited', cellId: String(args.cell_id), index };
        break;
      }
      case PREFIX + 'delete_cell': {
        const index = find(nb, args.cell_id);
        nb.deleteCell(index);
        change = { action: 'deleted', cellId: String(args.cell_id), index };
        break;
      }
      case PREFIX + 'move_cell': {
        const index = find(nb, args.cell_id);
        const target = args.index;
        if (
          typeof target !== 'number' ||
          !Number.isInteger(target) ||
          target < 0 ||
          target >= nb.cells.length
        ) {
          throw new NotebookToolError(
            `\`index\` must be between 0 and ${nb.cells.length - 1}.`
          );
        }
        nb.moveCell(index, target);
        change = { action: 'moved', cellId: String(args.cell_id), index: target };
        break;
      }
      default:
        throw new NotebookToolError(`Unknown notebook tool ${tool}.`);
    }
  };
  // Validate first (a failed edit changes nothing), then one transaction: one undo step.
  nb.undoManager?.stopCapturing();
  nb.transact(step);
  nb.undoManager?.stopCapturing();
  if (!change) {
    throw new NotebookToolError('The edit did not apply.');
  }
  return change;
}

export function describeChange(change: IChange, nb: ISharedNotebookLike): string {
  const verb = {
    inserted: 'Inserted',
    edited: 'Edited',
    deleted: 'Deleted',
    moved: 'Moved'
  }[change.action];
  const where =
    change.action === 'deleted'
      ? 'from the notebook'
      : `at index ${change.index}`;
  return `${verb} cell ${change.cellId} ${where}; the notebook has ${nb.cells.length} cells.`;
}

export function outputText(
  output: Output,
  images: IRendered['images'],
  label: string
): string {
  const kind = output.output_type;
  if (kind === 'stream') {
    return `[${String(output.name ?? 'stdout')}]\n${cap(joined(output.text))}`;
  }
  if (kind === 'error') {
    const trace = ((output.traceback as string[]) ?? []).join('\n').replace(ANSI, '');
    const head = `[error] ${String(output.ename)}: ${String(output.evalue)}`;
    return trace ? `${head}\n${cap(trace)}` : head;
  }
  const data = (output.data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const mime of IMAGE_TYPES) {
    if (mime in data) {
      const name = `${label}-image-${images.length + 1}`;
      if (images.length < MAX_IMAGES) {
        images.push({ mime, data: joined(data[mime]).replace(/\n/g, '') });
        parts.push(`[image ${mime}: attached as ${name}]`);
      } else {
        parts.push(`[image ${mime}: not attached, more than ${MAX_IMAGES} images]`);
      }
      break;
    }
  }
  if ('text/plain' in data) {
    parts.push(cap(joined(data['text/plain'])));
  } else if (!parts.length) {
    parts.push(`[${Object.keys(data).sort().join(', ') || 'empty'} output]`);
  }
  const tag = kind === 'execute_result' ? 'result' : 'display';
  return `[${tag}]\n${parts.join('\n')}`;
}

/** `notebook_read` on the live document. */
export function read(
  nb: ISharedNotebookLike,
  args: Record<string, unknown>,
  path: string
): IRendered {
  const total = nb.cells.length;
  const start = (args.start ?? 0) as number;
  let end = (args.end ?? total) as number;
  if (
    typeof start !== 'number' ||
    typeof end !== 'number' ||
    start < 0 ||
    end < start
  ) {
    throw new NotebookToolError(
      '`start` and `end` must be integers with 0 <= start <= end.'
    );
  }
  end = Math.min(end, total);
  const images: IRendered['images'] = [];
  const withOutputs = args.include_outputs !== false;
  const spec = (nb.getMetadata?.('kernelspec') ?? {}) as { name?: string };
  const parts = [
    `Notebook ${path}: ${total} cells (showing ${start}-${Math.max(start, end - 1)}), kernel ${spec.name ?? 'unknown'}.`
  ];
  for (let i = start; i < end; i++) {
    const cell = nb.cells[i];
    let head = `### cell ${i} id=${cell.id} type=${cell.cell_type}`;
    if (cell.cell_type === 'code') {
      head += ` execution_count=${cell.execution_count ?? 'None'}`;
    }
    const lines = [head, '```', cell.getSource(), '```'];
    const outputs = cell.getOutputs?.() ?? [];
    if (withOutputs && cell.cell_type === 'code' && outputs.length) {
      lines.push('outputs:');
      for (const output of outputs) {
        lines.push(outputText(output, images, `cell-${cell.id}`));
      }
    }
    parts.push(lines.join('\n'));
  }
  return { text: parts.join('\n\n'), images };
}

/** `notebook_run_cell`'s answer. */
export function runAnswer(
  cellId: string,
  count: unknown,
  outputs: Output[],
  status: string
): IRendered {
  const images: IRendered['images'] = [];
  const lines = [`Ran cell ${cellId} (execution_count=${String(count ?? 'None')}): ${status}.`];
  if (!outputs.length) {
    lines.push('No output.');
  }
  for (const output of outputs) {
    lines.push(outputText(output, images, `cell-${cellId}`));
  }
  return { text: lines.join('\n'), images };
}

/** A `tool_result`'s content items. */
export function contentItems(rendered: IRendered): { [key: string]: string }[] {
  return [
    { type: 'inputText', text: rendered.text },
    ...rendered.images.map(i => ({
      type: 'inputImage',
      imageUrl: `data:${i.mime};base64,${i.data}`
    }))
  ];
}

/** An nbformat output from a kernel IOPub message (null: not an output). */
export function outputFromMessage(
  type: string,
  content: Record<string, unknown>
): Output | null {
  switch (type) {
    case 'stream':
      return { output_type: 'stream', name: content.name, text: content.text };
    case 'display_data':
      return { output_type: 'display_data', data: content.data, metadata: content.metadata ?? {} };
    case 'execute_result':
      return {
        output_type: 'execute_result',
        data: content.data,
        metadata: content.metadata ?? {},
        execution_count: content.execution_count
      };
    case 'error':
      return {
        output_type: 'error',
        ename: content.ename,
        evalue: content.evalue,
        traceback: content.traceback
      };
    default:
      return null;
  }
}
