import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICompletionProviderManager } from '@jupyterlab/completer';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CodexAPI } from '../handler';
import {
  CodexInlineProvider,
  DEFAULT_INLINE,
  IInlineCompletionSettings,
  parseInline
} from './completion';

const PLUGIN_ID = 'jupyter-codex:inline-completion';

/**
 * Codex as a provider of JupyterLab's inline completer (ghost text); off until
 * enabled in the Codex settings.
 */
export const inlineCompletionPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Inline (ghost-text) completions from Codex.',
  autoStart: true,
  requires: [ICompletionProviderManager],
  optional: [ISettingRegistry],
  activate: async (
    app: JupyterFrontEnd,
    manager: ICompletionProviderManager,
    registry: ISettingRegistry | null
  ) => {
    let settings: IInlineCompletionSettings = DEFAULT_INLINE;
    if (registry) {
      try {
        const loaded = await registry.load(PLUGIN_ID);
        settings = parseInline(loaded.composite);
        loaded.changed.connect(() => {
          settings = parseInline(loaded.composite);
        });
      } catch (reason) {
        console.error('Codex inline completion: settings failed to load.', reason);
      }
    }
    const api = new CodexAPI(app.serviceManager.serverSettings);
    manager.registerInlineProvider(new CodexInlineProvider(api, () => settings));
  }
};
