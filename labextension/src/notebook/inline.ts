/**
 * Inline edit (Ctrl/Cmd+I on a notebook cell): a one-line prompt, Codex's proposal
 * shown as a line diff inside the cell, and Accept / Reject / Refine.
 *
 * The proposal comes from `POST codex/api/inline/edit` (a cli-target session that
 * shows in the history); Accept applies it to the cell's shared model as one undo
 * step. Duck-typed like the rest of the extension: no notebook package needed.
 */
import { InputDialog } from '@jupyterlab/apputils';

import { CodexAPI } from '../handler';
import { lineDiff } from './diff';

export const INLINE_CLASS = 'jp-codex-InlineEdit';

interface ISharedTextLike {
  getSource(): string;
  setSource(value: string): void;
  transact?(f: () => void): void;
  undoManager?: { stopCapturing(): void } | null;
}

interface IEditorLike {
  getSelection(): { start: unknown; end: unknown };
  getOffsetAt(position: unknown): number;
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

/**
 * Run one inline edit on the active cell: prompt, propose, show, decide.
 * Resolves with what the user chose.
 */
export async function inlineEdit(
  api: CodexAPI,
  current: unknown
): Promise<'accepted' | 'rejected' | 'cancelled'> {
  const cell = activeCell(current);
  if (!cell) {
    return 'cancelled';
  }
  const shared = cell.model.sharedModel;
  const source = shared.getSource();
  let start: number | undefined;
  let end: number | undefined;
  try {
    const selection = cell.editor?.getSelection();
    if (selection && cell.editor) {
      const s = cell.editor.getOffsetAt(selection.start);
      const e = cell.editor.getOffsetAt(selection.end);
      if (s !== e) {
        start = Math.min(s, e);
        end = Math.max(s, e);
      }
    }
  } catch {
    // No selection API: the whole cell.
  }
  const target = start !== undefined ? source.slice(start, end) : source;
  cell.node.querySelector(`.${INLINE_CLASS}`)?.remove();

  let sessionId: string | undefined;
  const ask = async (title: string) => {
    const answer = await InputDialog.getText({
      title,
      placeholder: 'Describe the change, e.g. "vectorize this loop"'
    });
    return answer.button.accept && answer.value?.trim() ? answer.value.trim() : null;
  };
  let instruction = await ask('Edit with Codex');
  const box = document.createElement('div');
  box.className = INLINE_CLASS;
  cell.node.appendChild(box);
  try {
    while (instruction) {
      box.dataset.state = 'working';
      box.textContent = 'Codex is working on it…';
      const proposal = await api.inlineEdit({
        path: cell.path,
        source,
        selection_start: start,
        selection_end: end,
        instruction,
        language: cell.model.type === 'markdown' ? 'markdown' : 'python',
        session_id: sessionId
      });
      sessionId = proposal.session_id;
      const choice = await show(box, target, proposal.proposal);
      if (choice === 'accept') {
        const next =
          start !== undefined
            ? source.slice(0, start) + proposal.proposal + source.slice(end)
            : proposal.proposal;
        shared.undoManager?.stopCapturing();
        shared.setSource(next);
        shared.undoManager?.stopCapturing();
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
