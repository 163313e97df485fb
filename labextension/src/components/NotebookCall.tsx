/**
 * The bubble of a `notebook_*` tool call: a cell diff for edits, a run with its
 * outputs (images inline), a one-line read; "Go to cell" / "Open notebook"
 * opens the notebook in JupyterLab and selects the cell. A run that asks first
 * is its own approval card: the cell it will run and Approve / Approve for
 * session / Decline, then the run's outputs in the same bubble.
 */
import * as React from 'react';

import { commandState } from '../model/bubbles';
import { duration } from '../model/format';
import { IDiffLine, notebookCallView, ShownOutput } from '../model/notebookCalls';
import { IApprovalBubble, IToolBubble } from '../model/timeline';
import { ApprovalControls, approvalAttributes } from './Approvals';
import { classes, PanelEnvironment, type IBubbleActions } from './context';

/** Diff lines shown before "Show all". */
const COLLAPSED_DIFF_LINES = 40;

export function NotebookCallView(props: {
  bubble: IToolBubble;
  /** The session's notebook. */
  notebook: string | null;
  /** The approval this run asked for, if any: its state is the bubble's. */
  approval?: IApprovalBubble | null;
  actions?: IBubbleActions;
}): JSX.Element {
  const { bubble } = props;
  const approval = props.approval ?? null;
  const env = React.useContext(PanelEnvironment);
  const view = React.useMemo(
    () => notebookCallView(bubble, props.notebook),
    [bubble, props.notebook]
  );
  const [problem, setProblem] = React.useState<string | null>(null);
  const running = bubble.status === 'in_progress';
  const go = async () => {
    if (view.path && env.openNotebookCell) {
      setProblem(await env.openNotebookCell(view.path, view.cellId));
    }
  };
  const compact = view.tool === 'notebook_read';
  // Waiting, declined or cancelled: the approval says; else the call's status.
  const asked = approval ? commandState(null, approval) : null;
  const waiting = asked?.state === 'waiting';
  const label =
    asked && asked.state !== 'running'
      ? asked.label
      : running
        ? 'running…'
        : bubble.status === 'completed'
          ? ''
          : bubble.status;
  return (
    <div
      className={classes(
        'jp-codex-NotebookCall',
        compact && 'jp-mod-compact',
        approval && 'jp-codex-ApprovalCard',
        waiting && 'jp-mod-waiting'
      )}
      {...(approval ? approvalAttributes(approval) : {})}
      data-tool={view.tool}
      data-status={bubble.status}
      data-cell-id={view.cellId ?? ''}
    >
      <div className="jp-codex-NotebookCallHeader">
        <span className="jp-codex-BubbleTitle">{view.title}</span>{' '}
        <span className="jp-codex-Dim">
          {label}
          {bubble.durationMs !== null && !compact && ` ${duration(bubble.durationMs)}`}
        </span>
        {view.path && env.openNotebookCell && !compact && (
          <button
            className="jp-codex-LinkButton"
            title={`Open ${view.path} in JupyterLab${view.cellId ? ` at cell ${view.cellId}` : ''}`}
            onClick={() => void go()}
          >
            {view.cellId ? 'Go to cell' : 'Open notebook'}
          </button>
        )}
      </div>
      {problem && <div className="jp-codex-ErrorMessage">{problem}</div>}
      {approval && waiting && (
        <>
          {approval.approval.reason && (
            <div className="jp-codex-Reason">{approval.approval.reason}</div>
          )}
          {approval.approval.command && (
            <pre className="jp-codex-CellText" aria-label="the cell to run">
              {approval.approval.command}
            </pre>
          )}
        </>
      )}
      {approval && props.actions && (
        <ApprovalControls bubble={approval} actions={props.actions} />
      )}
      {bubble.error && (
        <div className="jp-codex-ErrorMessage">{bubble.error.message}</div>
      )}
      {view.diff && view.diff.length > 0 && <CellDiff lines={view.diff} />}
      {view.summary && !bubble.error && (
        <div className="jp-codex-Dim">{view.summary}</div>
      )}
      {view.outputs.length > 0 && (
        <div className="jp-codex-CellOutputs">
          {view.outputs.map((output, i) => (
            <OutputView key={i} output={output} />
          ))}
        </div>
      )}
    </div>
  );
}

function CellDiff(props: { lines: readonly IDiffLine[] }): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const long = props.lines.length > COLLAPSED_DIFF_LINES;
  const shown = long && !open ? props.lines.slice(0, COLLAPSED_DIFF_LINES) : props.lines;
  return (
    <div className="jp-codex-Diff jp-codex-CellDiff">
      <pre>
        {shown.map((line, i) => (
          <div key={i} className={`jp-codex-Diff-${line.kind}`}>
            {`${line.kind === 'add' ? '+' : line.kind === 'del' ? '-' : ' '}${line.text}`}
          </div>
        ))}
      </pre>
      {long && (
        <button className="jp-codex-LinkButton" onClick={() => setOpen(!open)}>
          {open ? 'Collapse' : `Show all ${props.lines.length} lines`}
        </button>
      )}
    </div>
  );
}

function OutputView(props: { output: ShownOutput }): JSX.Element {
  const { output } = props;
  switch (output.kind) {
    case 'image':
      return (
        <img className="jp-codex-CellImage" src={output.src} alt="cell output image" />
      );
    case 'error':
      return (
        <div className="jp-codex-CellError" role="group" aria-label="error">
          <div className="jp-codex-ErrorMessage">
            {output.ename}: {output.evalue}
          </div>
          {output.traceback && <pre>{output.traceback}</pre>}
        </div>
      );
    case 'stream':
      return (
        <pre
          className={classes(
            'jp-codex-CellStream',
            output.name === 'stderr' && 'jp-mod-stderr'
          )}
        >
          {output.text.replace(/\n$/, '')}
        </pre>
      );
    default:
      return <pre className="jp-codex-CellText">{output.text}</pre>;
  }
}
