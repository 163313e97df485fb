import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { DEFAULT_SETTINGS, ICodexSettings, parseSettings } from './settings';

/**
 * The id of the main plugin; also the key of its settings (`schema/plugin.json`).
 */
export const PLUGIN_ID = 'jupyter-codex:plugin';

/**
 * The main jupyter-codex plugin.
 *
 * For now it only loads and tracks its settings; the panel, the model and the
 * commands are wired here as they land.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Codex workspace panel for JupyterLab.',
  autoStart: true,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null
  ): void => {
    console.log(`JupyterLab extension ${PLUGIN_ID} is activated!`);

    let settings: ICodexSettings = DEFAULT_SETTINGS;
    if (!settingRegistry) {
      return;
    }
    settingRegistry
      .load(PLUGIN_ID)
      .then(registry => {
        const update = (): void => {
          settings = parseSettings(registry.composite);
          console.debug(`${PLUGIN_ID} settings: ${JSON.stringify(settings)}`);
        };
        update();
        registry.changed.connect(update);
      })
      .catch(reason => {
        console.error(`Failed to load settings for ${PLUGIN_ID}.`, reason);
      });
  }
};

export default plugin;
