/**
 * The session list (resume, rename, archive) and the new-session form with a
 * folder picker that suggests folders from the server's contents API.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { editIcon, folderIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { relativeTime } from '../model/format';
import { SessionsModel } from '../model/sessions';
import { Codex } from '../tokens';
import { classes, PanelEnvironment, useSignal } from './context';
import { SettingsFields, useLimits } from './SessionSettings';

/** Lists the sub-folders of a folder (through the model layer's API). */
export type FolderLister = (
  path: string
) => Promise<Array<{ name: string; path: string }>>;

export function SessionList(props: {
  model: SessionsModel;
  listFolders: FolderLister;
}): JSX.Element {
  const { model } = props;
  useSignal(model.changed);
  return (
    <div className="jp-codex-SessionList">
      <NewSessionForm model={model} listFolders={props.listFolders} />
      <div className="jp-codex-SectionHeader">
        <span>Sessions</span>
        <label className="jp-codex-Dim">
          <input
            type="checkbox"
            checked={model.showArchived}
            onChange={event => void model.setShowArchived(event.target.checked)}
          />{' '}
          archived
        </label>
      </div>
      {model.error && (
        <div className="jp-codex-ErrorMessage" role="alert">
          {model.error}
        </div>
      )}
      {!model.loading && model.sessions.length === 0 && (
        <div className="jp-codex-Dim jp-codex-Empty">
          {model.showArchived
            ? 'No archived sessions.'
            : 'No sessions yet: pick a folder above and start one.'}
        </div>
      )}
      <ul className="jp-codex-Sessions">
        {model.sessions.map(session => (
          <SessionItem
            key={session.id}
            session={session}
            model={model}
            duplicate={
              model.sessions.filter(s => s.title === session.title).length > 1
            }
          />
        ))}
      </ul>
    </div>
  );
}

const STATE_LABELS: { [state: string]: string } = {
  running: 'running',
  waiting_approval: 'waiting for approval'
};

function SessionItem(props: {
  session: Codex.ISession;
  model: SessionsModel;
  /** Another listed session has the same title: show when this one started. */
  duplicate?: boolean;
}): JSX.Element {
  const { session, model } = props;
  const [editing, setEditing] = React.useState(false);
  const [title, setTitle] = React.useState(session.title);
  const state = STATE_LABELS[session.state];
  const remove = async () => {
    const answer = await showDialog({
      title: 'Delete session',
      body: `Delete "${session.title || 'Untitled session'}" and its history? This cannot be undone (Archive only hides it).`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (answer.button.accept) {
      await model.remove(session.id).catch(() => undefined);
    }
  };
  const save = () => {
    setEditing(false);
    const next = title.trim();
    if (next && next !== session.title) {
      void model.rename(session.id, next);
    }
  };
  return (
    <li
      className={classes('jp-codex-SessionItem', `jp-mod-${session.state}`)}
      data-session-id={session.id}
    >
      {editing ? (
        <input
          className="jp-codex-TextInput"
          aria-label="Session title"
          autoFocus
          value={title}
          onChange={event => setTitle(event.target.value)}
          onBlur={save}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              save();
            } else if (event.key === 'Escape') {
              setEditing(false);
              setTitle(session.title);
            }
          }}
        />
      ) : (
        <button
          className="jp-codex-SessionOpen"
          onClick={() => model.open(session.id)}
          title={`Open "${session.title || 'Untitled'}"`}
        >
          <span className="jp-codex-SessionTitle">
            {state && <span className="jp-codex-StateDot" title={state} />}
            {session.title || 'Untitled session'}
          </span>
          <span className="jp-codex-SessionMeta">
            <folderIcon.react tag="span" className="jp-codex-InlineIcon" />
            {session.cwd || '/'} · {relativeTime(session.updated_at)}
            {props.duplicate &&
              ` · started ${new Date(session.created_at * 1000).toLocaleString(
                undefined,
                {
                  month: 'short',
                  day: 'numeric',
                  hour: '2-digit',
                  minute: '2-digit',
                  second: '2-digit'
                }
              )}`}
            {state ? ` · ${state}` : ''}
          </span>
        </button>
      )}
      <div className="jp-codex-SessionActions">
        <button
          className="jp-Button jp-mod-minimal"
          title="Rename"
          aria-label="Rename"
          onClick={() => {
            setTitle(session.title);
            setEditing(true);
          }}
        >
          <editIcon.react tag="span" />
        </button>
        <button
          className="jp-Button jp-mod-minimal"
          title={session.archived ? 'Unarchive' : 'Archive'}
          onClick={() => void model.archive(session.id, !session.archived)}
        >
          {session.archived ? 'Unarchive' : 'Archive'}
        </button>
        <button
          className="jp-Button jp-mod-minimal jp-codex-Delete"
          title="Delete this session and its history"
          onClick={() => void remove()}
        >
          Delete
        </button>
      </div>
    </li>
  );
}

function NewSessionForm(props: {
  model: SessionsModel;
  listFolders: FolderLister;
}): JSX.Element {
  const env = React.useContext(PanelEnvironment);
  const [folder, setFolder] = React.useState(() => env.currentFolder());
  const [title, setTitle] = React.useState('');
  const [settings, setSettings] = React.useState<Codex.ISessionSettings>({});
  const limits = useLimits(() => props.model.limits());
  const [suggestions, setSuggestions] = React.useState<string[]>([]);
  const [open, setOpen] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const touched = React.useRef(false);

  // Follow the file browser until the user types a folder.
  React.useEffect(() => {
    const timer = setInterval(() => {
      if (!touched.current) {
        setFolder(env.currentFolder());
      }
    }, 1000);
    return () => clearInterval(timer);
  }, [env]);

  React.useEffect(() => {
    if (!open) {
      return;
    }
    let live = true;
    const cut = folder.lastIndexOf('/');
    const parent = cut === -1 ? '' : folder.slice(0, cut);
    const prefix = (cut === -1 ? folder : folder.slice(cut + 1)).toLowerCase();
    const timer = setTimeout(() => {
      const inside = props.listFolders(folder).catch(() => []);
      const siblings = props.listFolders(parent).catch(() => []);
      void Promise.all([inside, siblings]).then(([a, b]) => {
        if (!live) {
          return;
        }
        const names = [
          ...b.filter(f => f.name.toLowerCase().startsWith(prefix)),
          ...a
        ].map(f => f.path);
        setSuggestions(
          [...new Set(names)].filter(p => p !== folder).slice(0, 12)
        );
      });
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [folder, open, props.listFolders]);

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.model.create({
        cwd: folder.replace(/^\/+|\/+$/g, ''),
        title: title.trim(),
        model: env.settings.defaultModel,
        ...settings
      });
      setTitle('');
      // The next session starts from the file browser's folder again.
      touched.current = false;
      setFolder(env.currentFolder());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="jp-codex-NewSession">
      <div className="jp-codex-SectionHeader">
        <span>New session</span>
      </div>
      <div className="jp-codex-FolderPicker">
        <folderIcon.react tag="span" className="jp-codex-InlineIcon" />
        <input
          className="jp-codex-TextInput"
          aria-label="Folder"
          placeholder="folder under the Jupyter root (empty: the root)"
          value={folder}
          onFocus={() => setOpen(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onChange={event => {
            touched.current = true;
            setFolder(event.target.value);
            setOpen(true);
          }}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              void create();
            }
          }}
        />
        {open && suggestions.length > 0 && (
          <ul className="jp-codex-Suggestions" role="listbox">
            {suggestions.map(path => (
              <li
                key={path}
                role="option"
                aria-selected={false}
                onMouseDown={event => {
                  event.preventDefault();
                  touched.current = true;
                  setFolder(path);
                }}
              >
                {path}
              </li>
            ))}
          </ul>
        )}
      </div>
      <input
        className="jp-codex-TextInput"
        aria-label="Title"
        placeholder="title (optional: named after the first message)"
        value={title}
        onChange={event => setTitle(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            void create();
          }
        }}
      />
      <details className="jp-codex-NewSessionSettings">
        <summary>Settings</summary>
        <SettingsFields
          value={settings}
          limits={limits}
          onChange={change => setSettings(s => ({ ...s, ...change }))}
        />
      </details>
      <button
        className="jp-Button jp-mod-styled jp-mod-accept jp-codex-Create"
        disabled={busy}
        onClick={() => void create()}
      >
        {busy ? 'Starting…' : 'Start session'}
      </button>
      {error && (
        <div className="jp-codex-ErrorMessage" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
