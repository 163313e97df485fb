/**
 * The extension's entry point: the main plugin builds the models, the panel,
 * the accounts view and the notebook tool host and wires them together; the
 * commands are in ./commands, the main-area helpers in ./mainArea.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';

import { addCommands, addNotebookCommand } from './commands';
import { IPanelEnvironment } from './components/context';
import { EventStream } from './events';
import { CodexAPI } from './handler';
import { activeDocument, codeActions } from './mainArea';
import { AccountsModel, IAlert, notifyAlert } from './model/accounts';
import { NoticeBoard } from './model/notices';
import { ComposerDraft } from './model/draft';
import { SessionsModel } from './model/sessions';
import { openNotebookCell } from './notebook/goto';
import { NotebookToolHost } from './notebook/host';
import { inlineCompletionPlugin } from './notebook/completionPlugin';
import { DEFAULT_SETTINGS, ICodexSettings, parseSettings } from './settings';
import { CommandIDs } from './tokens';
import {
  AccountsPanel,
  AccountStatusItem,
  CodexPanel,
  codexIcon
} from './widgets';

/**
 * The id of the main plugin; also the key of its settings (`schema/plugin.json`).
 */
export const PLUGIN_ID = 'jupyter-codex:plugin';

const CATEGORY = 'Codex';

/**
 * The main jupyter-codex plugin: the Codex side panel (sessions, timeline,
 * composer, approvals), the accounts view, the status-bar item, commands and
 * notifications. All state lives in the models; widgets only render it.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Codex workspace panel for JupyterLab.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [
    ISettingRegistry,
    ILayoutRestorer,
    ICommandPalette,
    IStatusBar,
    IDefaultFileBrowser,
    IStateDB
  ],
  activate: async (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    fileBrowser: IDefaultFileBrowser | null,
    state: IStateDB | null
  ): Promise<void> => {
    const api = new CodexAPI(app.serviceManager.serverSettings);
    const stream = new EventStream({
      url: () => api.eventsUrl(),
      WebSocket: app.serviceManager.serverSettings.WebSocket
    });
    const sessions = new SessionsModel({ api, stream });
    const accounts = new AccountsModel({ api });
    const notices = new NoticeBoard();
    const draft = new ComposerDraft();

    let settings: ICodexSettings = DEFAULT_SETTINGS;
    let loaded: ISettingRegistry.ISettings | null = null;
    if (settingRegistry) {
      try {
        loaded = await settingRegistry.load(PLUGIN_ID);
        settings = parseSettings(loaded.composite);
      } catch (reason) {
        console.error(`Failed to load settings for ${PLUGIN_ID}.`, reason);
      }
    }

    const serverRoot = PageConfig.getOption('serverRoot');
    let accountsWidget: MainAreaWidget<AccountsPanel> | null = null;
    const openAccounts = () => {
      if (!accountsWidget || accountsWidget.isDisposed) {
        accountsWidget = new MainAreaWidget({
          content: new AccountsPanel(accounts)
        });
        accountsWidget.id = 'jupyter-codex-accounts-view';
        accountsWidget.title.label = 'Codex accounts';
        accountsWidget.title.icon = codexIcon;
        accountsWidget.title.closable = true;
      }
      if (!accountsWidget.isAttached) {
        app.shell.add(accountsWidget, 'main');
      }
      app.shell.activateById(accountsWidget.id);
    };

    const environment = (): IPanelEnvironment => ({
      rendermime,
      serverRoot: serverRoot.startsWith('~') ? '' : serverRoot,
      settings,
      openFile: path => void app.commands.execute('docmanager:open', { path }),
      openNotebookCell: (path, cellId) => openNotebookCell(app, path, cellId),
      currentFolder: () => fileBrowser?.model.path ?? '',
      selectedFiles: () =>
        fileBrowser ? Array.from(fileBrowser.selectedItems(), i => i.path) : [],
      activeFile: () => activeDocument(app)?.path ?? null,
      openAccounts,
      icon: codexIcon,
      codeActions: codeActions(app)
    });

    const panel = new CodexPanel({
      model: sessions,
      stream,
      draft,
      listFolders: path => api.listFolders(path),
      accounts,
      notices,
      environment: environment()
    });

    // Account switches, usage alerts and outcomes of account actions: one
    // self-closing notice each. With the panel shown it goes to the panel's
    // notice strip (a toast would sit on the composer) and, silently, to
    // JupyterLab's notification centre; otherwise it is a self-closing toast.
    accounts.alert.connect((_, alert: IAlert) => {
      if (panel.isVisible) {
        notices.show({
          level: alert.level,
          message: alert.message,
          autoClose: alert.autoClose ?? 6000
        });
        Notification.emit(alert.message, alert.level, { autoClose: 0 });
      } else {
        notifyAlert(Notification, alert);
      }
    });
    app.shell.add(panel, settings.panelArea, { rank: 600 });
    restorer?.add(panel, 'jupyter-codex-panel');

    loaded?.changed.connect(() => {
      settings = parseSettings(loaded!.composite);
      panel.setEnvironment(environment());
    });

    // The badge: how many approvals wait, on the panel's tab.
    // (`data-codex-pending` on the tab; the shell keeps its own `data-id` there.)
    const updateBadge = () => {
      const waiting = sessions.pendingApprovals.length;
      const value = waiting ? String(waiting) : undefined;
      const { ['codex-pending']: current, ...rest } = panel.title.dataset;
      if (current === value) {
        return;
      }
      panel.title.dataset = value ? { ...rest, 'codex-pending': value } : rest;
      panel.title.caption = waiting
        ? `Codex: ${waiting} approval${waiting > 1 ? 's' : ''} waiting`
        : 'Codex';
    };
    sessions.changed.connect(updateBadge);

    sessions.systemEvent.connect((_, event) => accounts.onSystemEvent(event));

    if (statusBar) {
      statusBar.registerStatusItem('jupyter-codex:account-status', {
        item: new AccountStatusItem(accounts, openAccounts),
        align: 'right',
        rank: 50
      });
    }

    // Codex edits and runs the notebooks open here live (notebook sessions).
    const notebookHost = new NotebookToolHost({
      app,
      api,
      WebSocket: app.serviceManager.serverSettings.WebSocket
    });
    notebookHost.start();

    addCommands(app, { panel, sessions, accounts, draft, openAccounts });
    addNotebookCommand(app, { api, sessions, host: notebookHost, panel });
    if (palette) {
      for (const command of [
        CommandIDs.open,
        CommandIDs.newSession,
        CommandIDs.sendSelection,
        CommandIDs.workOnNotebook,
        CommandIDs.inlineEdit,
        CommandIDs.openAccounts,
        CommandIDs.refreshUsage
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    stream.connect();
    void sessions.refresh();
    if (state) {
      void reopenLastSession(app, state, sessions);
    }
    void accounts.refresh().catch(() => undefined);
  }
};

/** Key of the panel's state in the workspace's state DB. */
const STATE_KEY = 'jupyter-codex:panel';

/**
 * A reload reopens the session that was open, per Lab workspace (the state DB
 * is saved with the workspace); from then on every change is remembered.
 */
async function reopenLastSession(
  app: JupyterFrontEnd,
  state: IStateDB,
  sessions: SessionsModel
): Promise<void> {
  await app.restored;
  let saved: string | null = null;
  try {
    const value = (await state.fetch(STATE_KEY)) as { session?: string } | null;
    saved = typeof value?.session === 'string' ? value.session : null;
  } catch {
    saved = null;
  }
  if (saved && !sessions.current) {
    await sessions.openById(saved).catch(() => null); // deleted meanwhile: the list
  }
  sessions.currentChanged.connect((_, chat) => {
    void state.save(STATE_KEY, { session: chat?.id ?? null });
  });
}

export default [plugin, inlineCompletionPlugin];
