/**
 * The file-change bubble: each changed file with its verb, its path relative
 * to the Jupyter root, an Open button, and its diff.
 */
import * as React from 'react';

import { changeVerb } from '../model/bubbles';
import { toRootRelative } from '../model/format';
import { diffLines, IFileChangeBubble } from '../model/timeline';
import { Codex } from '../tokens';
import { COLLAPSED_LINES } from './Collapsible';
import { PanelEnvironment, type IBubbleActions } from './context';

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

export function FileChanges(props: {
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

export function FileChangeView(props: {
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
