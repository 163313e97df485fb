/**
 * What React components get from the plugin without fetching anything
 * themselves: rendering, opening files, settings, and signal subscriptions.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { DEFAULT_SETTINGS, ICodexSettings } from '../settings';
import type { Codex } from '../tokens';

export interface IPanelEnvironment {
  rendermime: IRenderMimeRegistry | null;
  /** Open a file (path under the Jupyter root) in JupyterLab. */
  openFile: (path: string) => void;
  /**
   * Open a notebook and select one of its cells (by cell id; `null`: just open
   * it); resolves to `null`, or why it could not (e.g. the cell is gone).
   */
  openNotebookCell?: (path: string, cellId: string | null) => Promise<string | null>;
  /** The Jupyter root as an absolute path on the server, or `''`. */
  serverRoot: string;
  settings: ICodexSettings;
  /** The file browser's current folder (default of the folder picker). */
  currentFolder: () => string;
  /** The path of the active notebook or file, for "attach". */
  activeFile: () => string | null;
  /** Files selected in the file browser (images among them can be attached). */
  selectedFiles?: () => string[];
  /** Open the accounts view. */
  openAccounts: () => void;
  /** The panel's icon, reused in the header. */
  icon?: LabIcon;
  /** What a reply's code block can do with its code (see `ICodeActions`). */
  codeActions: ICodeActions;
}

/**
 * Actions of a code block in a reply. Each returns `null` when done, or why
 * it could not (e.g. no notebook is active).
 */
export interface ICodeActions {
  copy(code: string): Promise<string | null>;
  /** A new code cell below the active cell of the active notebook. */
  insertBelow(code: string): string | null;
  /** Replace the selection of the active cell or editor. */
  replaceSelection(code: string): string | null;
}

const NO_CODE_ACTIONS: ICodeActions = {
  copy: async () => 'Copying is not available here.',
  insertBelow: () => 'No notebook is open.',
  replaceSelection: () => 'No editor is open.'
};

export const PanelEnvironment = React.createContext<IPanelEnvironment>({
  rendermime: null,
  openFile: () => undefined,
  serverRoot: '',
  settings: DEFAULT_SETTINGS,
  currentFolder: () => '',
  activeFile: () => null,
  openAccounts: () => undefined,
  codeActions: NO_CODE_ACTIONS
});

/** Re-render the calling component whenever `signal` emits. */
export function useSignal(signal: ISignal<any, any> | null | undefined): void {
  const [, bump] = React.useReducer((n: number) => n + 1, 0);
  React.useEffect(() => {
    if (!signal) {
      return;
    }
    const slot = () => bump();
    signal.connect(slot);
    return () => {
      signal.disconnect(slot);
    };
  }, [signal]);
}

/** Join class names, skipping falsy ones. */
export function classes(...names: Array<string | false | null | undefined>) {
  return names.filter(Boolean).join(' ');
}

/** What a timeline bubble can do: decide approvals, open sessions, map paths. */
export interface IBubbleActions {
  decide: (
    approvalId: string,
    decision: Codex.Decision,
    answer?: Codex.IAnswer
  ) => void;
  openSession: (id: string) => void;
  /** Root folders that map codex's absolute paths to Jupyter paths. */
  roots: readonly string[];
  cwd: string;
  /** Thumbnail URL of an image a user message carried (null: none). */
  imageUrl?: (path: string) => string | null;
  /** The notebook of a notebook session (its `notebook_*` calls act on it). */
  notebook?: string | null;
}
