/**
 * What the extension reads of and writes to the main area's active document,
 * duck-typed so it does not pull in the notebook or file-editor packages.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { JupyterFrontEnd } from '@jupyterlab/application';

import { ICodeActions } from './components/context';

/**
 * What a reply's code block can do in the main area: copy, a new cell below the
 * active notebook cell, or replace the selection of the active cell / editor.
 * Duck-typed, like `currentCode`.
 */
export function codeActions(app: JupyterFrontEnd): ICodeActions {
  return {
    copy: async code => {
      try {
        await navigator.clipboard.writeText(code);
      } catch {
        Clipboard.copyToSystem(code); // no async clipboard (http, no permission)
      }
      return null;
    },
    insertBelow: code => {
      const notebook: any = (app.shell.currentWidget as any)?.content;
      const shared = notebook?.model?.sharedModel;
      if (!shared || typeof notebook.activeCellIndex !== 'number') {
        return 'Open a notebook first';
      }
      const at = notebook.activeCellIndex + 1;
      shared.insertCell(at, { cell_type: 'code', source: code });
      notebook.activeCellIndex = at;
      notebook.activeCell?.node?.scrollIntoView?.({ block: 'nearest' });
      return null;
    },
    replaceSelection: code => {
      const content: any = (app.shell.currentWidget as any)?.content;
      const editor = content?.activeCell?.editor ?? content?.editor;
      if (!editor || typeof editor.replaceSelection !== 'function') {
        return 'Open a notebook or file first';
      }
      editor.replaceSelection(code);
      return null;
    }
  };
}

/** The active document (notebook or file) in the main area, duck-typed. */
export function activeDocument(app: JupyterFrontEnd): { path: string } | null {
  const widget: any = app.shell.currentWidget;
  const path = widget?.context?.path;
  return typeof path === 'string' && path ? { path } : null;
}

/**
 * The selected text of the active notebook cell or editor, else the whole
 * cell. Duck-typed so the extension does not pull in the notebook package.
 */
export function currentCode(
  app: JupyterFrontEnd
): { code: string; language: string; source: string } | null {
  const widget: any = app.shell.currentWidget;
  const content = widget?.content;
  const cell = content?.activeCell;
  const editor = cell?.editor ?? content?.editor;
  if (!editor?.model?.sharedModel) {
    return null;
  }
  const text: string = editor.model.sharedModel.getSource();
  let code = text;
  try {
    const selection = editor.getSelection();
    const start = editor.getOffsetAt(selection.start);
    const end = editor.getOffsetAt(selection.end);
    if (start !== end) {
      code = text.slice(Math.min(start, end), Math.max(start, end));
    }
  } catch {
    // No selection API: send the whole cell or file.
  }
  if (!code.trim()) {
    return null;
  }
  const mime = String(editor.model.mimeType ?? '');
  const language =
    cell?.model?.type === 'markdown' || mime.includes('markdown')
      ? 'markdown'
      : mime.includes('python')
        ? 'python'
        : '';
  const path: string = widget?.context?.path ?? '';
  return { code, language, source: path };
}
