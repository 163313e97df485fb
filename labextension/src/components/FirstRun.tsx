/**
 * The first-run card: with no usable account for the cli target, the panel
 * opens on the ways to add one (sending stays off until one is active), and
 * the notices strip (account switches and alerts, each closing itself).
 */
import * as React from 'react';

import { AccountsModel } from '../model/accounts';
import { NoticeBoard } from '../model/notices';
import { AddAccount } from './AddAccount';
import { classes, PanelEnvironment, useSignal } from './context';

/** Why sending is off now, or `null` (see `FirstRun`). */
export function sendBlockedReason(accounts: AccountsModel): string | null {
  return accounts.loaded && !accounts.canRun
    ? 'Add an account above to send messages.'
    : null;
}

export function FirstRun(props: { accounts: AccountsModel }): JSX.Element | null {
  const { accounts } = props;
  useSignal(accounts.changed);
  const env = React.useContext(PanelEnvironment);
  if (!accounts.loaded || accounts.canRun) {
    return null;
  }
  const unusable = accounts.accounts.length > 0;
  return (
    <section
      className="jp-codex-FirstRun"
      aria-labelledby="jp-codex-firstrun-title"
    >
      <h3 id="jp-codex-firstrun-title">Connect Codex to an account</h3>
      {unusable ? (
        <p>
          None of your accounts can be used now (disabled, signed out or out of
          quota).{' '}
          <button className="jp-codex-LinkButton" onClick={env.openAccounts}>
            Open the Accounts view
          </button>{' '}
          or add another one.
        </p>
      ) : (
        <p>
          Codex works with your ChatGPT plan or an OpenAI API key. Add one to
          start; more can be added later in the Accounts view, and Codex
          switches to another when one runs low.
        </p>
      )}
      <AddAccount model={accounts} firstRun />
    </section>
  );
}

/** Account notices (switches, alerts): one line each, closing by themselves. */
export function NoticeStrip(props: { notices: NoticeBoard }): JSX.Element {
  const { notices } = props;
  useSignal(notices.changed);
  return (
    <div className="jp-codex-NoticeStrip" role="status" aria-live="polite">
      {notices.items.map(n => (
        <div
          key={n.id}
          className={classes('jp-codex-AccountNotice', `jp-mod-${n.level}`)}
        >
          <span>{n.message}</span>
          <button
            className="jp-codex-LinkButton"
            aria-label="Dismiss notice"
            title="Dismiss"
            onClick={() => notices.dismiss(n.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
