/**
 * Approval cards: what Codex asks to do, with Approve / Approve for session /
 * Decline, or the decision once made. A command's approval shows on the
 * command's own bubble (./ToolBubbles) with the same controls.
 */
import * as React from 'react';

import { displayCommand } from '../model/format';
import { Bubble, IApprovalBubble } from '../model/timeline';
import { Codex } from '../tokens';
import { Collapsible } from './Collapsible';
import { classes, type IBubbleActions } from './context';
import { FileChanges } from './FileChanges';

const DECISION_LABELS: { [decision: string]: string } = {
  accept: 'Approved',
  acceptForSession: 'Approved for this session',
  decline: 'Declined',
  cancel: 'Cancelled'
};

/** Approve / Approve for session / Decline, or the decision once made. */
export function ApprovalControls(props: {
  bubble: IApprovalBubble;
  actions: IBubbleActions;
}): JSX.Element {
  const { bubble, actions } = props;
  const [sent, setSent] = React.useState<string | null>(null);
  const decide = (decision: Codex.Decision) => {
    setSent(decision);
    actions.decide(bubble.approval.id, decision);
  };
  if (bubble.decision !== null) {
    const resolvedBy =
      bubble.by === 'timeout'
        ? ' (timed out)'
        : bubble.by === 'server'
          ? ' (turn ended)'
          : bubble.by?.startsWith('extension:')
            ? ` (by ${bubble.by.slice('extension:'.length)})`
            : '';
    return (
      <div className="jp-codex-Dim jp-codex-Decision">
        {DECISION_LABELS[bubble.decision] ?? bubble.decision}
        {resolvedBy}
      </div>
    );
  }
  return (
    <div className="jp-codex-ApprovalButtons">
      <button
        className="jp-Button jp-mod-styled jp-mod-accept"
        disabled={sent !== null}
        onClick={() => decide('accept')}
      >
        Approve
      </button>
      <button
        className="jp-Button jp-mod-styled"
        disabled={sent !== null}
        onClick={() => decide('acceptForSession')}
      >
        Approve for session
      </button>
      <button
        className="jp-Button jp-mod-styled jp-mod-warn"
        disabled={sent !== null}
        onClick={() => decide('decline')}
      >
        Decline
      </button>
    </div>
  );
}

/** The attributes that mark an element as (the card of) an approval. */
export function approvalAttributes(bubble: IApprovalBubble) {
  return {
    'data-approval-id': bubble.approval.id,
    'data-decision': bubble.decision ?? ''
  };
}

export function ApprovalCard(props: {
  bubble: IApprovalBubble;
  related?: Bubble;
  actions: IBubbleActions;
}): JSX.Element {
  const { bubble, actions } = props;
  const a = bubble.approval;
  const changes =
    a.changes && a.changes.length
      ? a.changes
      : props.related?.kind === 'file_change'
        ? props.related.changes
        : [];
  const waiting = bubble.decision === null;
  const title =
    a.kind === 'command'
      ? 'Run this command?'
      : a.kind === 'file_change'
        ? 'Apply these changes?'
        : a.kind === 'permissions'
          ? 'Grant these permissions?'
          : a.kind === 'notebook_run'
            ? 'Run this notebook cell?'
            : 'Codex asks for input';
  return (
    <div
      className={classes('jp-codex-ApprovalCard', waiting && 'jp-mod-waiting')}
      {...approvalAttributes(bubble)}
    >
      <div className="jp-codex-BubbleTitle">{title}</div>
      {a.command && (
        <code className="jp-codex-CommandLine" title={a.command}>
          $ {displayCommand(a.command)}
        </code>
      )}
      {a.cwd && <div className="jp-codex-Dim">in {a.cwd}</div>}
      {a.reason && <div className="jp-codex-Reason">{a.reason}</div>}
      {changes.length > 0 && (
        <FileChanges changes={changes} actions={actions} />
      )}
      {!a.command && !changes.length && a.params && (
        <Collapsible text={JSON.stringify(a.params, null, 2)} />
      )}
      <ApprovalControls bubble={bubble} actions={actions} />
    </div>
  );
}
