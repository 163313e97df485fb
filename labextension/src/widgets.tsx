/**
 * Lumino widgets that host the React views: the side panel, the accounts
 * view and the status-bar item. They only pass models and the environment.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { LabIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { AccountsView, AccountStatus } from './components/Accounts';
import { IPanelEnvironment, PanelEnvironment } from './components/context';
import { CodexPanelView } from './components/Panel';
import { FolderLister } from './components/SessionList';
import { EventStream } from './events';
import { AccountsModel } from './model/accounts';
import { ComposerDraft } from './model/draft';
import { NoticeBoard } from './model/notices';
import { SessionsModel } from './model/sessions';

/** The panel icon: a terminal prompt in a speech bubble. */
export const codexIcon = new LabIcon({
  name: 'jupyter-codex:codex',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2h-7l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v11h6v2l2.5-2H20V5H4z"/>
    <path d="M6.3 8.2l1.4-1.4 3.2 3.2-3.2 3.2-1.4-1.4 1.8-1.8zM11 12h6v2h-6z"/>
  </g>
</svg>`
});

/** Shared options of the React widgets. */
interface IEnvOwner {
  environment: IPanelEnvironment;
}

export class CodexPanel extends ReactWidget implements IEnvOwner {
  constructor(
    readonly options: {
      model: SessionsModel;
      stream: EventStream;
      draft: ComposerDraft;
      listFolders: FolderLister;
      accounts: AccountsModel;
      notices: NoticeBoard;
      environment: IPanelEnvironment;
    }
  ) {
    super();
    this.environment = options.environment;
    this.id = 'jupyter-codex-panel';
    this.addClass('jp-codex-Panel');
    this.title.icon = codexIcon;
    this.title.caption = 'Codex';
  }

  environment: IPanelEnvironment;

  /** Replace the environment (settings changed) and re-render. */
  setEnvironment(environment: IPanelEnvironment): void {
    this.environment = environment;
    this.update();
  }

  render(): JSX.Element {
    return (
      <PanelEnvironment.Provider value={this.environment}>
        <CodexPanelView
          model={this.options.model}
          stream={this.options.stream}
          draft={this.options.draft}
          listFolders={this.options.listFolders}
          accounts={this.options.accounts}
          notices={this.options.notices}
        />
      </PanelEnvironment.Provider>
    );
  }
}

export class AccountsPanel extends ReactWidget {
  constructor(private readonly model: AccountsModel) {
    super();
    this.id = 'jupyter-codex-accounts';
    this.addClass('jp-codex-AccountsPanel');
  }

  render(): JSX.Element {
    return <AccountsView model={this.model} />;
  }
}

export class AccountStatusItem extends ReactWidget {
  constructor(
    private readonly model: AccountsModel,
    private readonly onClick: () => void
  ) {
    super();
    this.addClass('jp-codex-StatusBar');
  }

  render(): JSX.Element {
    return <AccountStatus model={this.model} onClick={this.onClick} />;
  }
}
