/**
 * The side panel: connection state, the session list or the open session
 * (timeline + composer), and notices.
 */
import {
  caretLeftIcon,
  refreshIcon,
  userIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { EventStream } from '../events';
import { AccountsModel } from '../model/accounts';
import { ChatModel } from '../model/chat';
import { NoticeBoard } from '../model/notices';
import { ComposerDraft } from '../model/draft';
import { SessionsModel } from '../model/sessions';
import { Codex } from '../tokens';
import { Composer } from './Composer';
import { classes, PanelEnvironment, useSignal } from './context';
import { FirstRun, NoticeStrip, sendBlockedReason } from './FirstRun';
import { FollowUps } from './FollowUps';
import { JobsView } from './JobsView';
import { FolderLister, SessionList } from './SessionList';
import { Timeline } from './Timeline';

const CONNECTION_LABELS: { [state in Codex.ConnectionState]: string } = {
  connected: 'Connected',
  connecting: 'Connecting…',
  disconnected: 'Disconnected'
};

export function ConnectionIndicator(props: {
  stream: EventStream;
}): JSX.Element {
  useSignal(props.stream.stateChanged);
  const state = props.stream.state;
  return (
    <button
      className={classes('jp-codex-Connection', `jp-mod-${state}`)}
      data-state={state}
      title={
        state === 'connected'
          ? 'Live events are connected'
          : 'Click to reconnect now'
      }
      aria-label={`Events: ${CONNECTION_LABELS[state]}`}
      onClick={() => state !== 'connected' && props.stream.reconnect()}
    >
      <span className="jp-codex-ConnectionDot" aria-hidden="true" />
      <span className="jp-codex-ConnectionLabel">{CONNECTION_LABELS[state]}</span>
    </button>
  );
}

export function CodexPanelView(props: {
  model: SessionsModel;
  stream: EventStream;
  draft: ComposerDraft;
  listFolders: FolderLister;
  accounts: AccountsModel;
  notices: NoticeBoard;
}): JSX.Element {
  const { model, stream, accounts } = props;
  useSignal(model.currentChanged);
  useSignal(model.changed);
  const env = React.useContext(PanelEnvironment);
  const chat = model.current;
  const [showJobs, setShowJobs] = React.useState(false);
  return (
    <div className="jp-codex-PanelBody">
      <div className="jp-codex-PanelHeader">
        {chat ? (
          <button
            className="jp-Button jp-mod-minimal jp-codex-Back"
            title="All sessions"
            aria-label="All sessions"
            onClick={() => model.open(null)}
          >
            <caretLeftIcon.react tag="span" />
          </button>
        ) : (
          <span className="jp-codex-PanelTitle">Codex</span>
        )}
        {chat && <SessionTitle chat={chat} />}
        <span className="jp-codex-Spacer" />
        <ConnectionIndicator stream={stream} />
        {model.pendingApprovals.length > 0 && (
          <span
            className="jp-codex-PendingBadge"
            title="Approvals waiting for you"
          >
            {model.pendingApprovals.length}
          </span>
        )}
        <button
          className="jp-Button jp-mod-minimal jp-codex-AccountsButton"
          title="Accounts and usage"
          aria-label="Accounts and usage"
          onClick={env.openAccounts}
        >
          <userIcon.react tag="span" />
        </button>
        {!chat && (
          <button
            className={classes(
              'jp-Button jp-mod-minimal jp-codex-JobsButton',
              showJobs && 'jp-mod-active'
            )}
            title={showJobs ? 'Back to the sessions' : 'Jobs'}
            aria-pressed={showJobs}
            onClick={() => setShowJobs(!showJobs)}
          >
            Jobs
          </button>
        )}
        {!chat && (
          <button
            className="jp-Button jp-mod-minimal"
            title="Refresh"
            aria-label="Refresh"
            onClick={() => void model.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        )}
      </div>
      <NoticeStrip notices={props.notices} />
      <FirstRun accounts={accounts} />
      {chat ? (
        <ChatView
          key={chat.id}
          chat={chat}
          model={model}
          draft={props.draft}
          accounts={accounts}
        />
      ) : showJobs ? (
        <JobsView
          api={model.api}
          onOpenSession={id => {
            setShowJobs(false);
            void model.openById(id);
          }}
        />
      ) : (
        <SessionList model={model} listFolders={props.listFolders} />
      )}
    </div>
  );
}

function SessionTitle(props: { chat: ChatModel }): JSX.Element {
  useSignal(props.chat.changed);
  const s = props.chat.session;
  return (
    <span
      className="jp-codex-SessionHeading"
      title={`${s.title} — ${s.cwd || '/'}`}
    >
      <span className="jp-codex-SessionTitle">{s.title || 'New session'}</span>
      <span className="jp-codex-Dim"> · {s.cwd || '/'}</span>
    </span>
  );
}

function ChatView(props: {
  chat: ChatModel;
  model: SessionsModel;
  draft: ComposerDraft;
  accounts: AccountsModel;
}): JSX.Element {
  const { chat, model } = props;
  useSignal(props.accounts.changed);
  const env = React.useContext(PanelEnvironment);
  const [notice, setNotice] = React.useState<string | null>(null);

  React.useEffect(() => {
    const show = (_: unknown, message: string) => setNotice(message);
    chat.notice.connect(show);
    return () => {
      chat.notice.disconnect(show);
    };
  }, [chat]);

  const openSession = React.useCallback(
    (id: string) => void model.openById(id),
    [model]
  );

  const onCommandResult = (answer: { [key: string]: any }) => {
    if (answer.command === 'new' && answer.session?.id) {
      void model.openById(answer.session.id);
    } else if (answer.command === 'model') {
      const models: any[] = Array.isArray(answer.models) ? answer.models : [];
      setNotice(
        answer.models
          ? `Model: ${answer.model ?? 'default'}${answer.effort ? ` (${answer.effort})` : ''}. Available: ${models
              .map(m => m.model ?? m.id)
              .filter(Boolean)
              .join(', ')}`
          : `Model set to ${answer.model ?? 'default'}${answer.effort ? ` (${answer.effort})` : ''}.`
      );
    }
  };

  return (
    <div className="jp-codex-Chat">
      <Timeline
        chat={chat}
        window={env.settings.timelineWindow}
        onOpenSession={openSession}
      />
      {notice && (
        <div className="jp-codex-Notice" role="status">
          <span>{notice}</span>
          <button
            className="jp-codex-LinkButton"
            aria-label="Dismiss"
            onClick={() => setNotice(null)}
          >
            ×
          </button>
        </div>
      )}
      <FollowUps chat={chat} />
      <Composer
        chat={chat}
        draft={props.draft}
        onCommandResult={onCommandResult}
        blocked={sendBlockedReason(props.accounts)}
      />
    </div>
  );
}
