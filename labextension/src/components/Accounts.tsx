/**
 * The accounts view (usage bars and chart per account, targets with switch
 * buttons, strategies, add/remove, system log) and the status-bar item.
 * The usage bars and chart themselves are in ./Usage.
 */
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { AccountsModel } from '../model/accounts';
import { leastRemaining, relativeTime, remaining } from '../model/format';
import { Codex } from '../tokens';
import { AddAccount } from './AddAccount';
import { classes, useSignal } from './context';
import { UsageBar, UsageChart } from './Usage';

export { UsageBar, UsageChart } from './Usage';

const TARGETS: Codex.TargetName[] = ['cli', 'api'];
const TARGET_HELP: { [name: string]: string } = {
  cli: 'workspace sessions, magics and codex in terminals',
  api: 'the OpenAI/Claude-compatible endpoints'
};
/** Log reasons in words (the codes stay in the REST log). */
const REASONS: { [code: string]: string } = {
  manual: 'by hand',
  threshold: 'below threshold',
  limit_reached: 'limit reached',
  weekly_exhausted: 'weekly limit used up',
  cooldown: 'rate-limited',
  quarantined: 'signed out',
  disabled: 'disabled',
  account_removed: 'account removed',
  no_active_account: 'first account',
  rotation: 'rotation'
};
const STRATEGIES: { [name: string]: string[] } = {
  cli: ['manual', 'round_robin'],
  api: ['manual', 'round_robin', 'per_request']
};

export function AccountsView(props: { model: AccountsModel }): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  React.useEffect(() => {
    // While shown, the log and charts follow the event stream too.
    const watch = model.watchDetails();
    void model
      .refresh()
      .then(() => model.loadDetails())
      .catch(() => undefined);
    return () => watch.dispose();
  }, [model]);
  const threshold = model.target('cli')?.threshold_percent ?? 15;
  return (
    <div className="jp-codex-Accounts">
      <div className="jp-codex-AccountsHeader">
        <h2>Codex accounts</h2>
        <button
          className="jp-Button jp-mod-styled"
          onClick={() => void model.refreshUsage().catch(() => undefined)}
        >
          <refreshIcon.react tag="span" className="jp-codex-InlineIcon" />{' '}
          Refresh usage
        </button>
      </div>
      {model.error && (
        <div className="jp-codex-ErrorMessage" role="alert">
          {model.error}
        </div>
      )}
      <section className="jp-codex-Targets">
        {TARGETS.map(name => (
          <TargetCard key={name} name={name} model={model} />
        ))}
      </section>
      <section>
        <h3>Accounts</h3>
        {model.accounts.length === 0 && (
          <div className="jp-codex-Dim">No accounts yet: add one below.</div>
        )}
        <div className="jp-codex-AccountGrid">
          {model.accounts.map(account => (
            <AccountCard
              key={account.id}
              account={account}
              model={model}
              threshold={threshold}
            />
          ))}
        </div>
      </section>
      <AddAccount model={model} />
      <SystemLog model={model} />
    </div>
  );
}

function TargetCard(props: {
  name: Codex.TargetName;
  model: AccountsModel;
}): JSX.Element {
  const { name, model } = props;
  const target = model.target(name);
  const active = model.activeAccount(name);
  const [strategy, setStrategy] = React.useState(target?.strategy ?? 'manual');
  const [threshold, setThreshold] = React.useState(
    String(target?.threshold_percent ?? 15)
  );
  React.useEffect(() => {
    if (target) {
      setStrategy(target.strategy);
      setThreshold(String(target.threshold_percent));
    }
  }, [target?.strategy, target?.threshold_percent]);
  return (
    <div className="jp-codex-TargetCard" data-target={name}>
      <div className="jp-codex-BubbleTitle">
        {name} target{' '}
        <span className="jp-codex-Dim">· {TARGET_HELP[name]}</span>
      </div>
      <div className="jp-codex-TargetActive">
        Active: <strong>{active ? active.label : 'none'}</strong>
        {active?.email ? ` (${active.email})` : ''}
      </div>
      <div className="jp-codex-TargetSettings">
        <label>
          Strategy{' '}
          <select
            className="jp-codex-Select"
            aria-label={`${name} strategy`}
            value={strategy}
            onChange={event => setStrategy(event.target.value)}
          >
            {STRATEGIES[name].map(s => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Switch below{' '}
          <input
            className="jp-codex-TextInput jp-codex-Narrow"
            type="number"
            min={0}
            max={100}
            aria-label={`${name} threshold`}
            value={threshold}
            onChange={event => setThreshold(event.target.value)}
          />
          % left
        </label>
        <button
          className="jp-Button jp-mod-styled"
          onClick={() =>
            void model
              .setStrategy(name, strategy, Number(threshold))
              .catch(() => undefined)
          }
        >
          Save
        </button>
      </div>
    </div>
  );
}

function AccountCard(props: {
  account: Codex.IAccount;
  model: AccountsModel;
  threshold: number;
}): JSX.Element {
  const { account, model } = props;
  const usage = account.usage;
  const remove = async () => {
    const answer = await showDialog({
      title: 'Remove account',
      body: `Remove "${account.label}" (${account.email ?? account.kind})? Its tokens are deleted from this server.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (answer.button.accept) {
      await model.remove(account.id).catch(() => undefined);
    }
  };
  const rename = async () => {
    const answer = await InputDialog.getText({
      title: 'Rename account',
      text: account.label,
      okLabel: 'Rename'
    });
    const label = answer.value?.trim();
    if (answer.button.accept && label) {
      await model.rename(account.id, label).catch(() => undefined);
    }
  };
  return (
    <div
      className={classes(
        'jp-codex-AccountCard',
        account.status !== 'active' && 'jp-mod-inactive'
      )}
      data-account-id={account.id}
    >
      <div className="jp-codex-AccountTitle">
        <strong className="jp-codex-AccountLabel">{account.label}</strong>
        {account.active_targets.map(t => (
          <span key={t} className="jp-codex-TargetBadge">
            {t}
          </span>
        ))}
      </div>
      <div className="jp-codex-Dim">
        {[
          account.email,
          account.kind === 'api_key' ? 'API key' : 'ChatGPT',
          account.plan ?? usage?.plan_type
        ]
          .filter(Boolean)
          .join(' · ')}
      </div>
      {account.status !== 'active' && (
        <div className="jp-codex-ErrorMessage">
          {account.status}
          {account.status_reason ? `: ${account.status_reason}` : ''}
        </div>
      )}
      {account.kind === 'api_key' ? (
        <div className="jp-codex-Dim">API keys have no usage windows.</div>
      ) : (
        <>
          <UsageBar
            label="5-hour"
            used={usage?.primary_used_percent}
            windowMinutes={usage?.primary_window_minutes}
            resetsAt={usage?.primary_resets_at}
            threshold={props.threshold}
          />
          <UsageBar
            label="Weekly"
            used={usage?.secondary_used_percent}
            windowMinutes={usage?.secondary_window_minutes}
            resetsAt={usage?.secondary_resets_at}
            threshold={props.threshold}
          />
          <UsageChart
            points={model.history(account.id)}
            threshold={props.threshold}
          />
          {usage?.fetched_at && (
            <div className="jp-codex-Dim">
              Updated {relativeTime(usage.fetched_at)}
              {usage.error_count ? ` · ${usage.error_count} failed polls` : ''}
            </div>
          )}
        </>
      )}
      <div className="jp-codex-AccountActions">
        {TARGETS.map(t => (
          <button
            key={t}
            className="jp-Button jp-mod-styled jp-codex-UseFor"
            data-target={t}
            disabled={
              account.active_targets.includes(t) || account.status !== 'active'
            }
            onClick={() =>
              void model.switchTarget(t, account.id).catch(() => undefined)
            }
          >
            Use for {t}
          </button>
        ))}
        <button
          className="jp-Button jp-mod-minimal"
          onClick={() => void rename()}
        >
          Rename
        </button>
        <button
          className="jp-Button jp-mod-minimal"
          onClick={() =>
            void model
              .setEnabled(account.id, account.status !== 'active')
              .catch(() => undefined)
          }
        >
          {account.status === 'active' ? 'Disable' : 'Enable'}
        </button>
        <button
          className="jp-Button jp-mod-minimal"
          onClick={() => void remove()}
        >
          Remove
        </button>
      </div>
    </div>
  );
}

function SystemLog(props: { model: AccountsModel }): JSX.Element {
  const { model } = props;
  const names = new Map(model.accounts.map(a => [a.id, a.label]));
  const name = (id: string | null) =>
    id ? (names.get(id) ?? model.labelOf(id) ?? 'a removed account') : '—';
  return (
    <section className="jp-codex-SystemLog">
      <h3>
        System log{' '}
        <button
          className="jp-Button jp-mod-minimal"
          aria-label="Reload the log"
          onClick={() => void model.loadDetails()}
        >
          <refreshIcon.react tag="span" />
        </button>
      </h3>
      {model.logs.length === 0 ? (
        <div className="jp-codex-Dim">Nothing logged yet.</div>
      ) : (
        <table className="jp-codex-LogTable">
          <tbody>
            {model.logs.map(entry => (
              <tr key={entry.id} className={`jp-mod-${entry.level}`}>
                <td title={new Date(entry.time * 1000).toLocaleString()}>
                  {relativeTime(entry.time)}
                </td>
                <td>{entry.kind}</td>
                <td>{entry.target ?? ''}</td>
                <td>
                  {entry.kind === 'switch'
                    ? `${name(entry.from_account)} → ${name(entry.to_account)}${entry.reason && REASONS[entry.reason] ? ` (${REASONS[entry.reason]})` : ''}`
                    : entry.message}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The status-bar item: the cli account and what is left of its quota. */
export function AccountStatus(props: {
  model: AccountsModel;
  onClick: () => void;
}): JSX.Element {
  useSignal(props.model.changed);
  const account = props.model.activeAccount('cli');
  const left = account ? leastRemaining(account.usage) : null;
  const usage = account?.usage;
  const own = !account && props.model.cliLogin === 'own';
  const title = account
    ? `Codex cli account: ${account.label}${account.email ? ` (${account.email})` : ''}\n5-hour: ${remaining(usage?.primary_used_percent) ?? '?'}% left · weekly: ${remaining(usage?.secondary_used_percent) ?? '?'}% left`
    : own
      ? 'No managed account is active for the cli target: codex uses its own login (its CODEX_HOME). Add an account to let the router switch before limits.'
      : 'No Codex account for the cli target';
  return (
    <button
      className="jp-codex-StatusItem"
      title={title}
      onClick={props.onClick}
    >
      Codex: {account ? account.label : own ? 'own login' : 'no account'}
      {left !== null && (
        <span className="jp-codex-StatusLeft"> · {left}% left</span>
      )}
    </button>
  );
}
