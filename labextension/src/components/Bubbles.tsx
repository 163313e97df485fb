/**
 * One component per bubble kind of the timeline. Each is memoised on its
 * bubble object, which the reducer replaces only when it changes.
 */
import * as React from 'react';

import {
  changeVerb,
  commandState,
  commandSummary,
  toolResultText,
  toolTitle
} from '../model/bubbles';
import { isNotebookTool } from '../model/notebookCalls';
import {
  displayCommand,
  duration,
  toRootRelative,
  tokens
} from '../model/format';
import {
  Bubble,
  diffLines,
  IApprovalBubble,
  IAssistantBubble,
  ICommandBubble,
  IFileChangeBubble,
  IItemBubble,
  IPlanBubble,
  IReasoningBubble,
  IStatusBubble,
  IToolBubble,
  ITurnBubble
} from '../model/timeline';
import { Codex } from '../tokens';
import { classes, PanelEnvironment } from './context';
import { Markdown } from './Markdown';
import { NotebookCallView } from './NotebookCall';
import { isQuestion, QuestionCard } from './Questions';

/** Lines shown of a long output or diff before "Show all". */
const COLLAPSED_LINES = 14;

export interface IBubbleActions {
  decide: (
    approvalId: string,
    decision: Codex.Decision,
    answer?: Codex.IAnswer
  ) => void;
  openSession: (id: string) => void;
  /** Root folders that map codex's absolute paths to Jupyter paths. */
  roots: readonly string[];
  cwd: string;
  /** Thumbnail URL of an image a user message carried (null: none). */
  imageUrl?: (path: string) => string | null;
  /** The notebook of a notebook session (its `notebook_*` calls act on it). */
  notebook?: string | null;
}

export const BubbleView = React.memo(function BubbleView(props: {
  bubble: Bubble;
  related?: Bubble;
  actions: IBubbleActions;
}): JSX.Element | null {
  const { bubble, actions } = props;
  let body: JSX.Element | null;
  switch (bubble.kind) {
    case 'user':
      body = (
        <div className="jp-codex-UserText">
          <UserText text={bubble.text} />
          {bubble.images.length > 0 && (
            <div className="jp-codex-Thumbnails">
              {bubble.images.map((image, i) => {
                const url =
                  actions.imageUrl?.(String(image.path ?? '')) ??
                  (typeof image.url === 'string' ? image.url : null);
                return url ? (
                  <img
                    key={i}
                    className="jp-codex-Thumbnail"
                    src={url}
                    alt="image sent to Codex"
                  />
                ) : (
                  <span className="jp-codex-Chip" key={i}>
                    image
                  </span>
                );
              })}
            </div>
          )}
          {bubble.inputs.length > 0 && (
            <div className="jp-codex-Chips">
              {bubble.inputs.map((input, i) => (
                <span className="jp-codex-Chip" key={i}>
                  {input.type === 'skill' ? '$' : '@'}
                  {String(input.name ?? input.path ?? input.type)}
                </span>
              ))}
            </div>
          )}
        </div>
      );
      break;
    case 'assistant':
      body = <AssistantView bubble={bubble} />;
      break;
    case 'reasoning':
      body = <ReasoningView bubble={bubble} />;
      break;
    case 'command':
      body = (
        <CommandView
          bubble={bubble}
          approval={
            props.related?.kind === 'approval' ? props.related : null
          }
          actions={actions}
        />
      );
      break;
    case 'file_change':
      body = <FileChangeView bubble={bubble} actions={actions} />;
      break;
    case 'tool':
      body = isNotebookTool(bubble.tool) ? (
        <NotebookCallView bubble={bubble} notebook={actions.notebook ?? null} />
      ) : (
        <ToolView bubble={bubble} />
      );
      break;
    case 'item':
      body = <ItemView bubble={bubble} />;
      break;
    case 'plan':
      body = <PlanView bubble={bubble} />;
      break;
    case 'proposed_plan':
      body = (
        <div>
          <div className="jp-codex-BubbleTitle">Proposed plan</div>
          <Markdown text={bubble.text} streaming={!bubble.done} />
        </div>
      );
      break;
    case 'approval':
      body = isQuestion(bubble.approval) ? (
        <QuestionCard bubble={bubble} actions={actions} />
      ) : (
        <ApprovalCard
          bubble={bubble}
          related={props.related}
          actions={actions}
        />
      );
      break;
    case 'subagent':
      body = (
        <details className="jp-codex-Subagent" data-thread-id={bubble.threadId}>
          <summary>
            <span className="jp-codex-BubbleTitle">
              Subagent {bubble.path ?? bubble.threadId}
            </span>{' '}
            <span className="jp-codex-Dim">
              {bubble.done ? 'done' : 'working…'} · {bubble.lines.length} steps
            </span>
          </summary>
          <ul className="jp-codex-SubagentSteps">
            {bubble.lines.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        </details>
      );
      break;
    case 'error':
      body = (
        <div role="alert">
          <div className="jp-codex-BubbleTitle">
            {bubble.willRetry ? 'Retrying' : 'Error'}
            {bubble.code ? ` · ${bubble.code}` : ''}
          </div>
          <div className="jp-codex-ErrorMessage">{bubble.message}</div>
          <div className="jp-codex-Hint">{bubble.hint}</div>
        </div>
      );
      break;
    case 'warning':
      body = (
        <div>
          <span className="jp-codex-BubbleTitle">Warning</span> {bubble.message}
        </div>
      );
      break;
    case 'turn':
      body = <TurnView bubble={bubble} />;
      break;
    case 'status':
      body = <StatusView bubble={bubble} />;
      break;
    case 'notice':
      body = (
        <div>
          {bubble.text}{' '}
          {bubble.sessionId && (
            <button
              className="jp-codex-LinkButton"
              onClick={() => actions.openSession(bubble.sessionId!)}
            >
              Open it
            </button>
          )}
        </div>
      );
      break;
    default:
      body = null;
  }
  if (!body) {
    return null;
  }
  return (
    <div
      className={classes('jp-codex-Bubble', `jp-codex-Bubble-${bubble.kind}`)}
      data-kind={bubble.kind}
      data-seq={bubble.seq}
    >
      {body}
    </div>
  );
});

/** Marks the context block `%codex` appends to the user's words. */
const NOTEBOOK_CONTEXT = '\n\n[Context from the Jupyter notebook]\n';

/** The user's words; an appended notebook context block stays collapsed. */
function UserText(props: { text: string }): JSX.Element {
  const at = props.text.indexOf(NOTEBOOK_CONTEXT);
  if (at === -1) {
    return <>{props.text}</>;
  }
  return (
    <>
      {props.text.slice(0, at)}
      <details className="jp-codex-UserContext">
        <summary>Notebook context</summary>
        <pre>{props.text.slice(at + NOTEBOOK_CONTEXT.length)}</pre>
      </details>
    </>
  );
}

function AssistantView(props: { bubble: IAssistantBubble }): JSX.Element {
  const { bubble } = props;
  return (
    <div data-final={bubble.final ? 'true' : 'false'}>
      <Markdown text={bubble.text} streaming={!bubble.final} codeActions />
    </div>
  );
}

function ReasoningView(props: { bubble: IReasoningBubble }): JSX.Element {
  const { bubble } = props;
  const text = bubble.sections.filter(Boolean).join('\n\n');
  return (
    <details className="jp-codex-Reasoning">
      <summary>
        {bubble.done ? 'Reasoning' : 'Thinking…'}
        {text && (
          <span className="jp-codex-Dim">
            {' '}
            · {firstLine(text).slice(0, 80)}
          </span>
        )}
      </summary>
      <div className="jp-codex-pre">{text}</div>
    </details>
  );
}

function firstLine(text: string): string {
  return text.split('\n').find(line => line.trim()) ?? '';
}

/** A long text shown as its last lines until expanded. */
function Collapsible(props: {
  text: string;
  className?: string;
  tail?: boolean;
}): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const lines = props.text.split('\n');
  const long = lines.length > COLLAPSED_LINES + 2;
  const shown =
    long && !open
      ? props.tail
        ? lines.slice(-COLLAPSED_LINES)
        : lines.slice(0, COLLAPSED_LINES)
      : lines;
  return (
    <div className={classes('jp-codex-Collapsible', props.className)}>
      {long && props.tail && !open && (
        <button className="jp-codex-LinkButton" onClick={() => setOpen(true)}>
          Show all {lines.length} lines
        </button>
      )}
      <pre>{shown.join('\n')}</pre>
      {long && (!props.tail || open) && (
        <button className="jp-codex-LinkButton" onClick={() => setOpen(!open)}>
          {open ? 'Collapse' : `Show all ${lines.length} lines`}
        </button>
      )}
    </div>
  );
}

function CommandView(props: {
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

export function DiffView(props: {
  diff: string;
  changeKind?: string;
}): JSX.Element | null {
  const [open, setOpen] = React.useState(false);
  const lines = React.useMemo(
    () => diffLines(props.diff, props.changeKind),
    [props.diff, props.changeKind]
  );
  if (!lines.length) {
    return null;
  }
  const long = lines.length > COLLAPSED_LINES * 3;
  const shown = long && !open ? lines.slice(0, COLLAPSED_LINES * 3) : lines;
  return (
    <div className="jp-codex-Diff">
      <pre>
        {shown.map((line, i) => (
          <div key={i} className={`jp-codex-Diff-${line.kind}`}>
            {line.text || ' '}
          </div>
        ))}
      </pre>
      {long && (
        <button className="jp-codex-LinkButton" onClick={() => setOpen(!open)}>
          {open ? 'Collapse' : `Show all ${lines.length} lines`}
        </button>
      )}
    </div>
  );
}

function FileChanges(props: {
  changes: readonly Codex.IFileChange[];
  actions: IBubbleActions;
}): JSX.Element {
  const env = React.useContext(PanelEnvironment);
  return (
    <>
      {props.changes.map((change, i) => {
        // Paths under the Jupyter root show relative to it.
        const display = (path: string) =>
          toRootRelative(path, props.actions.roots, props.actions.cwd) ?? path;
        const shownPath = change.move_path ?? change.path;
        const local = toRootRelative(
          shownPath,
          props.actions.roots,
          props.actions.cwd
        );
        return (
          <div className="jp-codex-FileChange" key={i}>
            <div className="jp-codex-FileChangeHeader">
              <span className="jp-codex-BubbleTitle">{changeVerb(change)}</span>{' '}
              <code title={change.move_path ?? change.path}>
                {change.move_path
                  ? `${display(change.path)} → ${display(change.move_path)}`
                  : display(change.path)}
              </code>
              {local !== null && change.kind !== 'delete' && (
                <button
                  className="jp-codex-LinkButton"
                  title={`Open ${local} in JupyterLab`}
                  onClick={() => env.openFile(local)}
                >
                  Open
                </button>
              )}
            </div>
            <DiffView diff={change.diff} changeKind={change.kind} />
          </div>
        );
      })}
    </>
  );
}

function FileChangeView(props: {
  bubble: IFileChangeBubble;
  actions: IBubbleActions;
}): JSX.Element {
  const { bubble } = props;
  return (
    <div data-status={bubble.status}>
      {bubble.status !== 'completed' && (
        <div className="jp-codex-Dim">
          {bubble.status === 'in_progress' ? 'Proposed change' : bubble.status}
        </div>
      )}
      <FileChanges changes={bubble.changes} actions={props.actions} />
    </div>
  );
}

function ToolView(props: { bubble: IToolBubble }): JSX.Element {
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

function ItemView(props: { bubble: IItemBubble }): JSX.Element {
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

const STEP_MARK: { [status: string]: string } = {
  completed: '✓',
  in_progress: '▸',
  pending: '○'
};

function PlanView(props: { bubble: IPlanBubble }): JSX.Element {
  const { bubble } = props;
  return (
    <div>
      <div className="jp-codex-BubbleTitle">Plan</div>
      {bubble.explanation && (
        <div className="jp-codex-Dim">{bubble.explanation}</div>
      )}
      <ul className="jp-codex-Plan">
        {bubble.steps.map((s, i) => (
          <li key={i} className={`jp-codex-Plan-${s.status}`}>
            <span className="jp-codex-PlanMark">
              {STEP_MARK[s.status] ?? '○'}
            </span>{' '}
            {s.step}
          </li>
        ))}
      </ul>
    </div>
  );
}

const DECISION_LABELS: { [decision: string]: string } = {
  accept: 'Approved',
  acceptForSession: 'Approved for this session',
  decline: 'Declined',
  cancel: 'Cancelled'
};

/** Approve / Approve for session / Decline, or the decision once made. */
function ApprovalControls(props: {
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
function approvalAttributes(bubble: IApprovalBubble) {
  return {
    'data-approval-id': bubble.approval.id,
    'data-decision': bubble.decision ?? ''
  };
}

function ApprovalCard(props: {
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

function TurnView(props: { bubble: ITurnBubble }): JSX.Element {
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

function StatusView(props: { bubble: IStatusBubble }): JSX.Element {
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
