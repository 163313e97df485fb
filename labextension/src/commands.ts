/**
 * The Codex commands of the command registry (open the panel, new session,
 * send the selection, accounts, refresh usage) and the notebook ones (work on
 * this notebook, edit the cell or selection with Codex).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

import { CodexAPI } from './handler';
import { activeDocument, currentCode } from './mainArea';
import { AccountsModel } from './model/accounts';
import { ComposerDraft, fence } from './model/draft';
import { SessionsModel } from './model/sessions';
import { NotebookToolHost } from './notebook/host';
import { activeCell, activeFileEditor, inlineEdit } from './notebook/inline';
import { captureShortcut } from './notebook/shortcut';
import { CommandIDs } from './tokens';
import { CodexPanel, codexIcon } from './widgets';

export function addCommands(
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
export function addNotebookCommand(
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
