/**
 * Inline edit (Ctrl/Cmd+I on a notebook cell, or on a selection in a file editor):
 * a one-line prompt, Codex's proposal shown as a line diff in place, and Accept /
 * Reject / Refine.
 *
 * The proposal comes from `POST codex/api/inline/edit` (a cli-target session that
 * shows in the history); Accept applies it to the shared model (the cell's, or the
 * file's) as one undo step. In a file editor the edit covers the selection, or the
 * cursor's line when nothing is selected, and only that range is replaced.
 * Duck-typed like the rest of the extension: no notebook or fileeditor package needed.
 */
import { InputDialog } from '@jupyterlab/apputils';

import { CodexAPI } from '../handler';
import { lineDiff } from './diff';
import { applyProposal, editRange, IRange, languageOf } from './selection';

export const INLINE_CLASS = 'jp-codex-InlineEdit';

interface ISharedTextLike {
  getSource(): string;
  setSource(value: string): void;
  updateSource?(start: number, end: number, value: string): void;
  transact?(f: () => void): void;
  undoManager?: { stopCapturing(): void } | null;
}

interface IPositionLike {
  line: number;
  column: number;
}

interface IEditorLike {
  getSelection(): { start: IPositionLike; end: IPositionLike };
  getOffsetAt(position: IPositionLike): number;
  getCoordinateForPosition?(
    position: IPositionLike
  ): { left: number; right: number; top: number; bottom: number } | null;
}

/** What one inline edit works on. */
interface ITarget {
  /** Where the proposal box goes (the cell; the file editor's node). */
  node: HTMLElement;
  shared: ISharedTextLike;
  editor: IEditorLike | null;
  path: string;
  language: string;
  /** A file editor: no selection means the cursor's line; the box floats below it. */
  file: boolean;
}

/** The active cell of the current notebook, if any. */
export function activeCell(
  current: unknown
): {
  node: HTMLElement;
  model: { sharedModel: ISharedTextLike; type?: string };
  editor: IEditorLike | null;
  path: string;
} | null {
  const widget = current as {
    context?: { path?: string };
    content?: { activeCell?: { node: HTMLElement; model: any; editor: any } };
  } | null;
  const cell = widget?.content?.activeCell;
  const path = widget?.context?.path;
  if (!cell?.model?.sharedModel || typeof path !== 'string') {
    return null;
  }
  return { node: cell.node, model: cell.model, editor: cell.editor ?? null, path };
}

/** The current widget as a file editor (a document whose content has an editor). */
export function activeFileEditor(current: unknown): ITarget | null {
  const widget = current as {
    context?: { path?: string };
    content?: {
      node?: HTMLElement;
      editor?: IEditorLike;
      model?: { sharedModel?: ISharedTextLike };
      activeCell?: unknown;
    };
  } | null;
  const content = widget?.content;
  const path = widget?.context?.path;
  const shared = content?.model?.sharedModel;
  if (
    !content?.node ||
    !content.editor ||
    !shared ||
    typeof shared.getSource !== 'function' ||
    'activeCell' in content ||
    typeof path !== 'string'
  ) {
    return null;
  }
  return {
    node: content.node,
    shared,
    editor: content.editor,
    path,
    language: languageOf(path),
    file: true
  };
}

function targetOf(current: unknown): ITarget | null {
  const cell = activeCell(current);
  if (cell) {
    return {
      node: cell.node,
      shared: cell.model.sharedModel,
      editor: cell.editor,
      path: cell.path,
      language: cell.model.type === 'markdown' ? 'markdown' : 'python',
      file: false
    };
  }
  return activeFileEditor(current);
}

/** The selection (or, in a file, the cursor's line); null: the whole cell. */
function rangeOf(target: ITarget, source: string): IRange | null {
  try {
    const selection = target.editor?.getSelection();
    if (selection && target.editor) {
      const s = target.editor.getOffsetAt(selection.start);
      const e = target.editor.getOffsetAt(selection.end);
      return editRange(source, s, e, target.file);
    }
  } catch {
    // No selection API: the whole cell.
  }
  return null;
}

/** In a file editor the box floats just below the edited range. */
function place(box: HTMLElement, target: ITarget): void {
  if (!target.file) {
    return;
  }
  box.classList.add('jp-mod-floating');
  try {
    const end = target.editor?.getSelection().end;
    const at = end ? target.editor?.getCoordinateForPosition?.(end) : null;
    const host = target.node.getBoundingClientRect();
    if (at) {
      box.style.top = `${Math.max(0, at.bottom - host.top + target.node.scrollTop + 4)}px`;
    }
  } catch {
    // Unknown position: the top of the editor.
  }
}

/**
 * Run one inline edit on the active cell or file selection: prompt, propose, show,
 * decide. Resolves with what the user chose.
 */
export async function inlineEdit(
  api: CodexAPI,
  current: unknown
): Promise<'accepted' | 'rejected' | 'cancelled'> {
  const target = targetOf(current);
  if (!target) {
    return 'cancelled';
  }
  const shared = target.shared;
  const source = shared.getSource();
  const range = rangeOf(target, source);
  const before = range ? source.slice(range.start, range.end) : source;
  target.node.querySelector(`:scope > .${INLINE_CLASS}`)?.remove();

  let sessionId: string | undefined;
  const ask = async (title: string) => {
    const answer = await InputDialog.getText({
      title,
      placeholder: 'Describe the change, e.g. "vectorize this loop"'
    });
    return answer.button.accept && answer.value?.trim() ? answer.value.trim() : null;
  };
  let instruction = await ask(target.file ? 'Edit the selection with Codex' : 'Edit with Codex');
  const box = document.createElement('div');
  box.className = INLINE_CLASS;
  place(box, target);
  target.node.appendChild(box);
  try {
    while (instruction) {
      box.dataset.state = 'working';
      box.textContent = 'Codex is working on it…';
      const proposal = await api.inlineEdit({
        path: target.path,
        source,
        selection_start: range?.start,
        selection_end: range?.end,
        instruction,
        language: target.language,
        session_id: sessionId
      });
      sessionId = proposal.session_id;
      const choice = await show(box, before, proposal.proposal);
      if (choice === 'accept') {
        accept(shared, range, before, proposal.proposal);
        return 'accepted';
      }
      if (choice === 'reject') {
        return 'rejected';
      }
      instruction = await ask('Refine the edit');
    }
    return 'cancelled';
  } catch (error) {
    box.dataset.state = 'error';
    box.textContent = `Inline edit failed: ${error instanceof Error ? error.message : String(error)}`;
    await new Promise(resolve => setTimeout(resolve, 4000));
    return 'cancelled';
  } finally {
    box.remove();
  }
}

/** Apply the proposal as one undo step: only the range when there is one. */
function accept(
  shared: ISharedTextLike,
  range: IRange | null,
  before: string,
  proposal: string
): void {
  const now = shared.getSource();
  if (!range) {
    shared.undoManager?.stopCapturing();
    shared.setSource(proposal);
    shared.undoManager?.stopCapturing();
    return;
  }
  const next = applyProposal(now, range, before, proposal);
  if (next === null) {
    throw new Error('The text changed while Codex worked on it; select it and try again.');
  }
  shared.undoManager?.stopCapturing();
  if (shared.updateSource) {
    const replaced = next.length - (now.length - (range.end - range.start));
    shared.updateSource(range.start, range.end, next.slice(range.start, range.start + replaced));
  } else {
    shared.setSource(next);
  }
  shared.undoManager?.stopCapturing();
}

/** Render the diff with the three buttons; resolves with the button pressed. */
function show(
  box: HTMLElement,
  before: string,
  after: string
): Promise<'accept' | 'reject' | 'refine'> {
  box.dataset.state = 'proposed';
  box.textContent = '';
  const diff = document.createElement('pre');
  diff.className = 'jp-codex-InlineDiff';
  for (const [mark, line] of lineDiff(before, after)) {
    const row = document.createElement('div');
    row.className =
      mark === '+' ? 'jp-codex-DiffAdded' : mark === '-' ? 'jp-codex-DiffRemoved' : '';
    row.textContent = `${mark} ${line}`;
    diff.appendChild(row);
  }
  box.appendChild(diff);
  const buttons = document.createElement('div');
  buttons.className = 'jp-codex-InlineButtons';
  box.appendChild(buttons);
  return new Promise(resolve => {
    for (const [label, value, style] of [
      ['Accept', 'accept', 'jp-mod-accept'],
      ['Reject', 'reject', 'jp-mod-warn'],
      ['Refine', 'refine', '']
    ] as const) {
      const button = document.createElement('button');
      button.className = `jp-Button jp-mod-styled ${style}`;
      button.textContent = label;
      button.onclick = () => resolve(value);
      buttons.appendChild(button);
    }
  });
}
