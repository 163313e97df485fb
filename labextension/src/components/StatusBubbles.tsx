/** A turn's summary line (outcome, time, tokens, context) and the /status table. */
import * as React from 'react';

import { duration, tokens } from '../model/format';
import { IStatusBubble, ITurnBubble } from '../model/timeline';

export function TurnView(props: { bubble: ITurnBubble }): JSX.Element {
  const { bubble } = props;
  const parts: string[] = [];
  parts.push(
    bubble.status === 'completed'
      ? 'Turn completed'
      : bubble.status === 'interrupted'
        ? 'Stopped'
        : 'Turn failed'
  );
  if (bubble.durationMs !== null) {
    parts.push(duration(bubble.durationMs));
  }
  if (bubble.usage) {
    const u = bubble.usage;
    parts.push(
      `${tokens(u.total)} tokens (${tokens(u.input)} in${u.cachedInput ? `, ${tokens(u.cachedInput)} cached` : ''}, ${tokens(u.output)} out)`
    );
  }
  if (bubble.contextWindow && bubble.threadTotal) {
    parts.push(
      `context ${Math.min(100, Math.round((100 * bubble.threadTotal) / bubble.contextWindow))}% used`
    );
  }
  return (
    <div data-status={bubble.status}>
      <div className="jp-codex-TurnLine">{parts.join(' · ')}</div>
      {bubble.error && (
        <div className="jp-codex-ErrorMessage">{bubble.error.message}</div>
      )}
    </div>
  );
}

export function StatusView(props: { bubble: IStatusBubble }): JSX.Element {
  const s = props.bubble.status;
  const account = s.account ?? {};
  const usage = s.usage ?? {};
  const pct = (w: any) =>
    w && typeof w.used_percent === 'number'
      ? `${Math.round(100 - w.used_percent)}% left`
      : typeof w?.usedPercent === 'number'
        ? `${Math.round(100 - w.usedPercent)}% left`
        : '—';
  const rows: Array<[string, string]> = [
    [
      'Account',
      account.error
        ? String(account.error)
        : [account.email, account.planType ?? account.plan_type, account.type]
            .filter(Boolean)
            .join(' · ') || '—'
    ],
    ['Model', `${s.model ?? 'default'}${s.effort ? ` (${s.effort})` : ''}`],
    ['Folder', s.cwd || '/'],
    ['Approvals', `${s.approval_policy ?? ''} · ${s.sandbox ?? ''}`],
    ['5-hour window', pct(usage.primary)],
    ['Weekly window', pct(usage.secondary)]
  ];
  if (s.token_usage?.total?.total) {
    rows.push(['Tokens in thread', tokens(s.token_usage.total.total)]);
  }
  return (
    <div>
      <div className="jp-codex-BubbleTitle">Status</div>
      <table className="jp-codex-StatusTable">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
