import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
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

import { ICodeActions, IPanelEnvironment } from './components/context';
import { EventStream } from './events';
import { CodexAPI } from './handler';
import { AccountsModel, IAlert, notifyAlert } from './model/accounts';
import { NoticeBoard } from './model/notices';
import { ComposerDraft, fence } from './model/draft';
import { SessionsModel } from './model/sessions';
import { openNotebookCell } from './notebook/goto';
import { NotebookToolHost } from './notebook/host';
import { inlineCompletionPlugin } from './notebook/completionPlugin';
import { activeCell, activeFileEditor, inlineEdit } from './notebook/inline';
import { captureShortcut } from './notebook/shortcut';
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

function addCommands(
  app: JupyterFrontEnd,
  deps: {
    panel: CodexPanel;
    sessions: SessionsModel;
    accounts: AccountsModel;
    draft: ComposerDraft;
    openAccounts: () => void;
  }
): void {
  const { panel, sessions, accounts, draft } = deps;
  const show = () => {
    if (!panel.isAttached) {
      app.shell.add(panel, panel.environment.settings.panelArea);
    }
    app.shell.activateById(panel.id);
  };
  app.commands.addCommand(CommandIDs.open, {
    label: 'Open Codex',
    caption: 'Open the Codex panel',
    icon: codexIcon,
    execute: () => {
      show();
      draft.focus();
    }
  });
  app.commands.addCommand(CommandIDs.newSession, {
    label: 'New Codex Session',
    caption: 'Start a Codex session in a folder',
    execute: () => {
      show();
      sessions.open(null);
    }
  });
  app.commands.addCommand(CommandIDs.sendSelection, {
    label: 'Send Selection to Codex',
    caption: 'Put the current cell or the selected text into the Codex message',
    isEnabled: () => currentCode(app) !== null,
    execute: () => {
      const code = currentCode(app);
      if (!code) {
        return;
      }
      show();
      draft.append(fence(code.code, code.language, code.source));
    }
  });
  app.commands.addCommand(CommandIDs.openAccounts, {
    label: 'Codex Accounts and Usage',
    caption: 'Accounts, usage, targets and the system log',
    execute: deps.openAccounts
  });
  app.commands.addCommand(CommandIDs.refreshUsage, {
    label: 'Refresh Codex Usage',
    execute: () => accounts.refreshUsage().catch(() => undefined)
  });
}

/** "Work on this notebook": a notebook session for the active notebook. */
function addNotebookCommand(
  app: JupyterFrontEnd,
  deps: {
    api: CodexAPI;
    sessions: SessionsModel;
    host: NotebookToolHost;
    panel: CodexPanel;
  }
): void {
  const notebook = () => {
    const path = activeDocument(app)?.path ?? '';
    return path.endsWith('.ipynb') ? path : null;
  };
  app.commands.addCommand(CommandIDs.inlineEdit, {
    label: () =>
      activeFileEditor(app.shell.currentWidget)
        ? 'Edit Selection with Codex'
        : 'Edit Cell with Codex',
    caption:
      'Ask Codex to rewrite this cell, or the selection (in a file: else the line), then accept or reject',
    isEnabled: () =>
      activeCell(app.shell.currentWidget) !== null ||
      activeFileEditor(app.shell.currentWidget) !== null,
    execute: () => inlineEdit(deps.api, app.shell.currentWidget)
  });
  // CodeMirror keeps Ctrl/Cmd+I from JupyterLab's keybindings in a file editor.
  captureShortcut(app.commands, CommandIDs.inlineEdit, '.jp-FileEditor');
  app.commands.addCommand(CommandIDs.workOnNotebook, {
    label: 'Work on This Notebook with Codex',
    caption: 'Start a Codex session that reads, edits and runs this notebook live',
    isEnabled: () => notebook() !== null,
    execute: async () => {
      const path = notebook();
      if (!path) {
        return;
      }
      const session = await deps.api.createSession({ cwd: '', notebook: path });
      await deps.host.refresh();
      if (!deps.panel.isAttached) {
        app.shell.add(deps.panel, deps.panel.environment.settings.panelArea);
      }
      app.shell.activateById(deps.panel.id);
      await deps.sessions.openById(session.id);
      return session.id;
    }
  });
}

/**
 * What a reply's code block can do in the main area: copy, a new cell below the
 * active notebook cell, or replace the selection of the active cell / editor.
 * Duck-typed, like `currentCode`.
 */
function codeActions(app: JupyterFrontEnd): ICodeActions {
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
function activeDocument(app: JupyterFrontEnd): { path: string } | null {
  const widget: any = app.shell.currentWidget;
  const path = widget?.context?.path;
  return typeof path === 'string' && path ? { path } : null;
}

/**
 * The selected text of the active notebook cell or editor, else the whole
 * cell. Duck-typed so the extension does not pull in the notebook package.
 */
function currentCode(
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

export default [plugin, inlineCompletionPlugin];
