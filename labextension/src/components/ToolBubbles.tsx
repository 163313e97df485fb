/**
 * The bubbles of what the agent ran: a command (with its approval, output and
 * exit state), an MCP / dynamic tool call, and any other item of a turn.
 * Notebook tool calls have their own view (./NotebookCall).
 */
import * as React from 'react';

import {
  commandState,
  commandSummary,
  toolResultText,
  toolTitle
} from '../model/bubbles';
import { displayCommand, duration } from '../model/format';
import {
  IApprovalBubble,
  ICommandBubble,
  IItemBubble,
  IToolBubble
} from '../model/timeline';
import { ApprovalControls, approvalAttributes } from './Approvals';
import { Collapsible } from './Collapsible';
import { classes, type IBubbleActions } from './context';
import { Markdown } from './Markdown';

export function CommandView(props: {
  bubble: ICommandBubble;
  /** The approval asked for this command, if any: its state is the bubble's. */
  approval: IApprovalBubble | null;
  actions: IBubbleActions;
}): JSX.Element {
  const { bubble, approval } = props;
  const { state, label } = commandState(bubble, approval);
  const summary = commandSummary(bubble);
  return (
    <div
      className={classes(
        approval && 'jp-codex-ApprovalCard',
        state === 'waiting' && 'jp-mod-waiting'
      )}
      {...(approval ? approvalAttributes(approval) : {})}
      data-status={bubble.status}
      data-state={state}
      data-exit-code={bubble.exitCode === null ? '' : String(bubble.exitCode)}
    >
      <div className="jp-codex-CommandHeader">
        <code className="jp-codex-CommandLine" title={bubble.command}>
          $ {displayCommand(bubble.command)}
        </code>
        <span
          className={classes(
            'jp-codex-CommandState',
            `jp-mod-${state}`,
            state === 'ok' && 'jp-mod-ok',
            (state === 'failed' || state === 'declined') && 'jp-mod-failed'
          )}
        >
          {label}
          {bubble.durationMs !== null && ` · ${duration(bubble.durationMs)}`}
        </span>
      </div>
      {approval && state === 'waiting' && (
        <>
          {bubble.cwd && <div className="jp-codex-Dim">in {bubble.cwd}</div>}
          {approval.approval.reason && (
            <div className="jp-codex-Reason">{approval.approval.reason}</div>
          )}
        </>
      )}
      {approval && (
        <ApprovalControls bubble={approval} actions={props.actions} />
      )}
      {summary && <div className="jp-codex-Dim">{summary}</div>}
      {bubble.output && (
        <Collapsible
          text={bubble.output.replace(/\n$/, '')}
          className="jp-codex-Output"
          tail
        />
      )}
      {bubble.truncated && (
        <div className="jp-codex-Dim">
          The output was shortened; the full text stays in the Codex thread.
        </div>
      )}
    </div>
  );
}

export function ToolView(props: { bubble: IToolBubble }): JSX.Element {
  const { bubble } = props;
  const result = toolResultText(bubble.result);
  return (
    <details className="jp-codex-Tool" data-status={bubble.status}>
      <summary>
        {toolTitle(bubble)}{' '}
        <span className="jp-codex-Dim">
          {bubble.status === 'in_progress' ? 'running…' : bubble.status}
          {bubble.durationMs !== null && ` · ${duration(bubble.durationMs)}`}
        </span>
      </summary>
      {bubble.progress.length > 0 && (
        <div className="jp-codex-Dim">{bubble.progress.at(-1)}</div>
      )}
      {bubble.arguments !== null && (
        <Collapsible text={JSON.stringify(bubble.arguments, null, 2)} />
      )}
      {bubble.error && (
        <div className="jp-codex-ErrorMessage">{bubble.error.message}</div>
      )}
      {result && <Collapsible text={result} className="jp-codex-Output" />}
    </details>
  );
}

const ITEM_LABELS: { [type: string]: string } = {
  context_compaction: 'Context compacted to fit the model',
  entered_review_mode: 'Review started',
  exited_review_mode: 'Review finished',
  image_view: 'Viewed an image',
  sub_agent_activity: 'Subagent activity',
  image_generation: 'Generated an image'
};

export function ItemView(props: { bubble: IItemBubble }): JSX.Element {
  const { bubble } = props;
  const label =
    ITEM_LABELS[bubble.itemType] ?? bubble.itemType.replace(/_/g, ' ');
  const item = bubble.item ?? {};
  const detail: string =
    typeof item.review === 'string'
      ? item.review
      : typeof item.path === 'string'
        ? item.path
        : '';
  return (
    <div className="jp-codex-Item">
      <span className="jp-codex-BubbleTitle">{label}</span>
      {!bubble.done && <span className="jp-codex-Dim"> · running…</span>}
      {detail &&
        (bubble.itemType === 'exited_review_mode' ? (
          <Markdown text={detail} />
        ) : (
          <span className="jp-codex-Dim"> · {detail}</span>
        ))}
    </div>
  );
}
