/**
 * Sandbox, approval policy and network access: in the new-session form and in a
 * session's menu (with Compact, Fork and Undo). Choices the administrator does not
 * allow (`GET codex/api/limits`) are not offered; the server refuses them anyway.
 */
import * as React from 'react';

import { Codex } from '../tokens';

export const SANDBOXES: { [mode: string]: string } = {
  'read-only': 'Read only',
  'workspace-write': 'Write in the folder',
  'danger-full-access': 'Full access (no sandbox)'
};

export const APPROVAL_POLICIES: { [policy: string]: string } = {
  'on-request': 'Ask when needed',
  untrusted: 'Ask for every command',
  never: 'Never ask'
};

/** The three controls; `value` holds the current choices. */
export function SettingsFields(props: {
  value: Codex.ISessionSettings;
  limits: Codex.ILimits | null;
  onChange: (change: Codex.ISessionSettings) => void;
}): JSX.Element {
  const { value, limits, onChange } = props;
  const sandboxes = limits?.sandboxes ?? Object.keys(SANDBOXES);
  const policies = limits?.approval_policies ?? Object.keys(APPROVAL_POLICIES);
  return (
    <div className="jp-codex-SettingsFields">
      <label>
        <span>Sandbox</span>
        <select
          className="jp-codex-Select"
          aria-label="Sandbox"
          value={value.sandbox ?? 'workspace-write'}
          onChange={e => onChange({ sandbox: e.currentTarget.value })}
        >
          {sandboxes.map(s => (
            <option key={s} value={s}>
              {SANDBOXES[s] ?? s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Approvals</span>
        <select
          className="jp-codex-Select"
          aria-label="Approval policy"
          value={value.approval_policy ?? 'on-request'}
          onChange={e => onChange({ approval_policy: e.currentTarget.value })}
        >
          {policies.map(p => (
            <option key={p} value={p}>
              {APPROVAL_POLICIES[p] ?? p}
            </option>
          ))}
        </select>
      </label>
      <label title={limits?.network_access === false ? 'Not allowed here' : ''}>
        <input
          type="checkbox"
          aria-label="Network access"
          disabled={limits?.network_access === false}
          checked={Boolean(value.network_access)}
          onChange={e => onChange({ network_access: e.currentTarget.checked })}
        />
        <span>Network access for commands</span>
      </label>
    </div>
  );
}

/** Fetch the limits once per mount (null until known, or when unavailable). */
export function useLimits(load: () => Promise<Codex.ILimits>): Codex.ILimits | null {
  const [limits, setLimits] = React.useState<Codex.ILimits | null>(null);
  React.useEffect(() => {
    let live = true;
    load()
      .then(l => live && setLimits(l))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return limits;
}

/** The session menu: its settings (applied from the next turn) and its history actions. */
export function SessionMenu(props: {
  session: Codex.ISession;
  running: boolean;
  loadLimits: () => Promise<Codex.ILimits>;
  update: (change: Codex.ISessionSettings) => void;
  act: (action: 'compact' | 'fork' | 'undo') => void;
}): JSX.Element {
  const { session, running } = props;
  const [open, setOpen] = React.useState(false);
  const limits = useLimits(props.loadLimits);
  return (
    <details
      className="jp-codex-SessionMenu"
      open={open}
      onToggle={e => setOpen((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary
        className="jp-Button jp-mod-minimal"
        aria-label="Session settings"
        title="Sandbox, approvals, network; compact, fork, undo"
      >
        ⚙
      </summary>
      <div className="jp-codex-SessionMenuBody" role="menu">
        <SettingsFields
          value={session}
          limits={limits}
          onChange={props.update}
        />
        <div className="jp-codex-Dim">Changes apply from the next turn.</div>
        <div className="jp-codex-SessionActions">
          <button
            className="jp-Button jp-mod-styled"
            disabled={running}
            title="Summarize the conversation so far into a shorter context"
            onClick={() => props.act('compact')}
          >
            Compact
          </button>
          <button
            className="jp-Button jp-mod-styled"
            disabled={running}
            title="A new session that continues from a copy of this conversation"
            onClick={() => props.act('fork')}
          >
            Fork
          </button>
          <button
            className="jp-Button jp-mod-styled jp-mod-warn"
            disabled={running}
            title="Remove the last turn and reverse the file changes it made"
            onClick={() => props.act('undo')}
          >
            Undo last turn
          </button>
        </div>
      </div>
    </details>
  );
}
