/**
 * What React components get from the plugin without fetching anything
 * themselves: rendering, opening files, settings, and signal subscriptions.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { DEFAULT_SETTINGS, ICodexSettings } from '../settings';

export interface IPanelEnvironment {
  rendermime: IRenderMimeRegistry | null;
  /** Open a file (path under the Jupyter root) in JupyterLab. */
  openFile: (path: string) => void;
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
}

export const PanelEnvironment = React.createContext<IPanelEnvironment>({
  rendermime: null,
  openFile: () => undefined,
  serverRoot: '',
  settings: DEFAULT_SETTINGS,
  currentFolder: () => '',
  activeFile: () => null,
  openAccounts: () => undefined
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
