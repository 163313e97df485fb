/**
 * The four ways to add an account, shared by the accounts view and the
 * panel's first-run card: the user's own Codex login (`codex login` on the
 * server), an uploaded `auth.json`, an API key, or a device-code sign-in.
 */
import * as React from 'react';

import { AccountsModel } from '../model/accounts';
import { classes, useSignal } from './context';

type Mode = 'login' | 'file' | 'key' | 'device';

const MODES: ReadonlyArray<readonly [Mode, string]> = [
  ['login', 'Codex login'],
  ['file', 'auth.json file'],
  ['key', 'API key'],
  ['device', 'Sign in with a code']
];

let nextId = 0;

export function AddAccount(props: {
  model: AccountsModel;
  /** In the first-run card: no heading of its own, compact. */
  firstRun?: boolean;
}): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  const [ids] = React.useState(() => `jp-codex-add-${++nextId}`);
  const [mode, setMode] = React.useState<Mode>('login');
  const [label, setLabel] = React.useState('');
  const [key, setKey] = React.useState('');
  const [busy, setBusy] = React.useState(false);
  const [status, setStatus] = React.useState<string | null>(null);
  const signIn = model.signIn;
  const run = async (action: () => Promise<void>, done: string) => {
    setStatus(null);
    setBusy(true);
    try {
      await action();
      setStatus(done || null);
      setLabel('');
      setKey('');
    } catch (e) {
      setStatus((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const onFile = async (event: React.ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) {
      return;
    }
    let content: unknown;
    try {
      content = JSON.parse(await file.text());
    } catch {
      setStatus(`${file.name} is not JSON.`);
      return;
    }
    await run(() => model.importAuthJson(content, label), 'Account imported.');
  };
  return (
    <section
      className={classes(
        'jp-codex-AddAccount',
        props.firstRun && 'jp-mod-firstRun'
      )}
      aria-label="Add an account"
    >
      {!props.firstRun && <h3>Add an account</h3>}
      <div className="jp-codex-Tabs" role="tablist" aria-label="How to add it">
        {MODES.map(([m, text]) => (
          <button
            key={m}
            id={`${ids}-tab-${m}`}
            role="tab"
            aria-selected={mode === m}
            aria-controls={`${ids}-panel`}
            className={classes('jp-codex-Tab', mode === m && 'jp-mod-active')}
            onClick={() => {
              setMode(m);
              setStatus(null);
            }}
          >
            {text}
          </button>
        ))}
      </div>
      <div
        id={`${ids}-panel`}
        role="tabpanel"
        aria-labelledby={`${ids}-tab-${mode}`}
        className="jp-codex-AddPanel"
      >
        <input
          className="jp-codex-TextInput"
          placeholder="label (optional)"
          aria-label="Account label"
          value={label}
          onChange={event => setLabel(event.target.value)}
        />
        {mode === 'login' && (
          <div className="jp-codex-AddRow">
            <p className="jp-codex-Help">
              The ChatGPT login of the user running Jupyter (
              <code>codex login</code>, saved in <code>~/.codex/auth.json</code>
              ).
            </p>
            <button
              className="jp-Button jp-mod-styled jp-mod-accept jp-codex-ImportLogin"
              disabled={busy}
              title="The server user's $CODEX_HOME/auth.json (after `codex login` on the server)"
              onClick={() =>
                void run(
                  () => model.importAuthJson(undefined, label),
                  'Account imported.'
                )
              }
            >
              Use my Codex login
            </button>
          </div>
        )}
        {mode === 'file' && (
          <div className="jp-codex-AddRow">
            <p className="jp-codex-Help">
              An <code>auth.json</code> from a machine where you ran{' '}
              <code>codex login</code>.
            </p>
            <label
              className={classes(
                'jp-Button jp-mod-styled jp-mod-accept jp-codex-FileButton',
                busy && 'jp-mod-disabled'
              )}
            >
              Choose auth.json…
              <input
                type="file"
                accept=".json,application/json"
                aria-label="Choose auth.json"
                disabled={busy}
                onChange={event => void onFile(event)}
              />
            </label>
          </div>
        )}
        {mode === 'key' && (
          <div className="jp-codex-AddRow">
            <input
              className="jp-codex-TextInput"
              type="password"
              autoComplete="off"
              placeholder="sk-…"
              aria-label="API key"
              value={key}
              onChange={event => setKey(event.target.value)}
            />
            <button
              className="jp-Button jp-mod-styled jp-mod-accept"
              disabled={!key.trim() || busy}
              onClick={() =>
                void run(() => model.addApiKey(key.trim(), label), 'Key added.')
              }
            >
              Add key
            </button>
          </div>
        )}
        {mode === 'device' && (
          <div className="jp-codex-AddRow">
            {signIn && signIn.status === 'pending' ? (
              <div className="jp-codex-DeviceCode">
                <div>
                  Open{' '}
                  <a
                    href={signIn.verification_url}
                    target="_blank"
                    rel="noreferrer"
                  >
                    {signIn.verification_url}
                  </a>{' '}
                  and enter the code
                </div>
                <code className="jp-codex-UserCode">{signIn.user_code}</code>
                <button
                  className="jp-Button jp-mod-styled"
                  onClick={() => void model.cancelSignIn()}
                >
                  Cancel
                </button>
              </div>
            ) : (
              <button
                className="jp-Button jp-mod-styled jp-mod-accept"
                disabled={busy}
                onClick={() => void run(() => model.startSignIn(label), '')}
              >
                Start sign-in
              </button>
            )}
            {signIn && signIn.status !== 'pending' && (
              <div className="jp-codex-Dim">
                Sign-in {signIn.status}
                {signIn.error ? `: ${signIn.error}` : ''}
              </div>
            )}
          </div>
        )}
        <div className="jp-codex-Dim" role="status">
          {busy ? 'Working…' : status}
        </div>
      </div>
    </section>
  );
}
