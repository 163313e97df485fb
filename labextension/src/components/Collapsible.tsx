/** A long text shown as its last (or first) lines until expanded. */
import * as React from 'react';

import { classes } from './context';

/** Lines shown of a long output or diff before "Show all". */
export const COLLAPSED_LINES = 14;

/** A long text shown as its last lines until expanded. */
export function Collapsible(props: {
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
