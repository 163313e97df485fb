/**
 * The accounts view (usage bars and chart per account, targets with switch
 * buttons, strategies, add/remove, system log) and the status-bar item.
 */
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { AccountsModel } from '../model/accounts';
import {
  leastRemaining,
  relativeTime,
  remaining,
  resetsIn,
  windowLabel
} from '../model/format';
import { Codex } from '../tokens';
import { AddAccount } from './AddAccount';
import { classes, useSignal } from './context';

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

export function UsageBar(props: {
  label: string;
  used: number | null | undefined;
  windowMinutes?: number | null;
  resetsAt?: number | null;
  threshold: number;
}): JSX.Element {
  const left = remaining(props.used);
  const level =
    left === null
      ? 'unknown'
      : left <= 0
        ? 'empty'
        : left < props.threshold
          ? 'low'
          : 'ok';
  return (
    <div className="jp-codex-UsageBar" data-remaining={left ?? ''}>
      <div className="jp-codex-UsageBarLabel">
        <span>
          {props.label}
          {props.windowMinutes ? ` (${windowLabel(props.windowMinutes)})` : ''}
        </span>
        <span>
          {left === null ? 'unknown' : `${left}% left`}
          {props.resetsAt ? ` · ${resetsIn(props.resetsAt)}` : ''}
        </span>
      </div>
      <div
        className="jp-codex-UsageTrack"
        role="meter"
        aria-label={`${props.label} remaining`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={left ?? undefined}
      >
        <div
          className={`jp-codex-UsageFill jp-mod-${level}`}
          style={{ width: `${left ?? 0}%` }}
        />
      </div>
    </div>
  );
}

/**
 * Remaining quota over time, both windows, as an SVG chart with a 0–100 %
 * axis, the first and last times, the latest values, and the switch
 * threshold as a labelled dashed line.
 */
export function UsageChart(props: {
  points: readonly Codex.IUsagePoint[];
  threshold?: number;
}): JSX.Element | null {
  const points = props.points;
  if (points.length < 2) {
    return (
      <div className="jp-codex-Dim jp-codex-ChartEmpty">
        Not enough history for a chart yet.
      </div>
    );
  }
  const left = 34;
  const right = 40;
  const top = 8;
  const bottom = 18;
  const w = 320;
  const h = 120;
  const plotW = w - left - right;
  const plotH = h - top - bottom;
  const t0 = points[0].time;
  const t1 = points[points.length - 1].time;
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => left + ((t - t0) / span) * plotW;
  const y = (leftPercent: number) => top + plotH - (leftPercent / 100) * plotH;
  const series = (key: 'primary' | 'secondary') =>
    points
      .filter(p => typeof p[key] === 'number')
      .map(p => ({ t: p.time, left: 100 - (p[key] as number) }));
  const line = (key: 'primary' | 'secondary') =>
    series(key)
      .map(p => `${x(p.t).toFixed(1)},${y(p.left).toFixed(1)}`)
      .join(' ');
  const last = (key: 'primary' | 'secondary') => {
    const s = series(key);
    return s.length ? s[s.length - 1].left : null;
  };
  const lastPrimary = last('primary');
  const lastSecondary = last('secondary');
  const threshold = props.threshold;
  const time = (t: number) =>
    new Date(t * 1000).toLocaleString(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit'
    });
  const summary =
    `Remaining quota from ${time(t0)} to ${time(t1)}: 5-hour window now ${lastPrimary ?? '?'}% left, ` +
    `weekly now ${lastSecondary ?? '?'}% left` +
    (threshold !== undefined ? `; switch threshold ${threshold}%.` : '.');
  // Keep the two end labels apart when the values are close.
  const labelY = (value: number | null, other: number | null, below: boolean) =>
    value === null
      ? 0
      : y(value) +
        (other !== null && Math.abs(y(value) - y(other)) < 10
          ? below
            ? 6
            : -4
          : 3);
  return (
    <figure className="jp-codex-Chart">
      <figcaption className="jp-codex-ChartLegend">
        <span className="jp-mod-primary">5-hour left</span>
        <span className="jp-mod-secondary">weekly left</span>
        {threshold !== undefined && (
          <span className="jp-mod-threshold">switch at {threshold}%</span>
        )}
      </figcaption>
      <svg
        className="jp-codex-UsageChart"
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        {[0, 50, 100].map(v => (
          <g key={v}>
            <line
              className="jp-codex-ChartGrid"
              x1={left}
              x2={left + plotW}
              y1={y(v)}
              y2={y(v)}
            />
            <text
              className="jp-codex-ChartAxis"
              x={left - 4}
              y={y(v) + 3}
              textAnchor="end"
            >
              {v}%
            </text>
          </g>
        ))}
        <line
          className="jp-codex-ChartAxisLine"
          x1={left}
          x2={left}
          y1={top}
          y2={top + plotH}
        />
        <line
          className="jp-codex-ChartAxisLine"
          x1={left}
          x2={left + plotW}
          y1={top + plotH}
          y2={top + plotH}
        />
        <text
          className="jp-codex-ChartAxis"
          x={left}
          y={h - 4}
          textAnchor="start"
        >
          {time(t0)}
        </text>
        <text
          className="jp-codex-ChartAxis"
          x={left + plotW}
          y={h - 4}
          textAnchor="end"
        >
          {time(t1)}
        </text>
        {threshold !== undefined && (
          <g className="jp-codex-ChartThreshold">
            <line
              x1={left}
              x2={left + plotW}
              y1={y(threshold)}
              y2={y(threshold)}
            />
            <text x={left + 2} y={y(threshold) - 2}>
              switch at {threshold}%
            </text>
          </g>
        )}
        <polyline className="jp-codex-ChartPrimary" points={line('primary')} />
        <polyline
          className="jp-codex-ChartSecondary"
          points={line('secondary')}
        />
        {lastPrimary !== null && (
          <text
            className="jp-codex-ChartValue jp-mod-primary"
            x={left + plotW + 4}
            y={labelY(lastPrimary, lastSecondary, lastPrimary < (lastSecondary ?? 0))}
          >
            {lastPrimary}%
          </text>
        )}
        {lastSecondary !== null && (
          <text
            className="jp-codex-ChartValue jp-mod-secondary"
            x={left + plotW + 4}
            y={labelY(lastSecondary, lastPrimary, lastSecondary <= (lastPrimary ?? 0))}
          >
            {lastSecondary}%
          </text>
        )}
      </svg>
    </figure>
  );
}

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
