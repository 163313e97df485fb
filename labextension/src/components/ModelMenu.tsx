/**
 * The session's model and reasoning-effort pickers of the composer bar,
 * behind one compact button; the model list is fetched when first opened.
 */
import * as React from 'react';

import { ChatModel, EFFORTS } from '../model/chat';
import { Codex } from '../tokens';

/** The model and effort selectors of a chat's session, in their menu. */
export function ModelPicker(props: { chat: ChatModel }): JSX.Element {
  const { chat } = props;
  const [models, setModels] = React.useState<Codex.IModelInfo[]>([]);
  const [menuOpen, setMenuOpen] = React.useState(false);

  const loadModels = () => {
    if (!models.length) {
      void chat.models().then(setModels);
    }
  };

  const session = chat.session;
  const modelOptions = [...models.map(m => m.id)];
  if (session.model && !modelOptions.includes(session.model)) {
    modelOptions.unshift(session.model);
  }
  const currentModel = models.find(m => m.id === session.model);
  const efforts = currentModel?.efforts.length ? currentModel.efforts : EFFORTS;

  return (
    <ModelMenu
      open={menuOpen}
      setOpen={setMenuOpen}
      summary={`${session.model ? (models.find(m => m.id === session.model)?.label ?? session.model) : 'default model'} · ${session.effort ?? 'default effort'}`}
    >
      <label>
        Model
        <select
          className="jp-codex-Select"
          aria-label="Model"
          title="Model for the next turns"
          value={session.model ?? ''}
          onFocus={loadModels}
          onMouseDown={loadModels}
          onChange={event =>
            void chat.update({ model: event.target.value || null })
          }
        >
          <option value="">default model</option>
          {modelOptions.map(id => (
            <option key={id} value={id}>
              {models.find(m => m.id === id)?.label ?? id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reasoning effort
        <select
          className="jp-codex-Select"
          aria-label="Reasoning effort"
          title="Reasoning effort"
          value={session.effort ?? ''}
          onChange={event =>
            void chat.update({ effort: event.target.value || null })
          }
        >
          <option value="">default effort</option>
          {efforts.map(e => (
            <option key={e} value={e}>
              {e}
            </option>
          ))}
        </select>
      </label>
    </ModelMenu>
  );
}

/**
 * The session's pickers (model, effort) behind one compact button, so the
 * composer bar fits a 240 px panel. Escape or a click outside closes it.
 */
function ModelMenu(props: {
  open: boolean;
  setOpen: (open: boolean) => void;
  summary: string;
  children: React.ReactNode;
}): JSX.Element {
  const { open, setOpen } = props;
  const root = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (!open) {
      return;
    }
    const onDown = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  return (
    <div
      className="jp-codex-ModelMenu"
      ref={root}
      onKeyDown={event => {
        if (event.key === 'Escape' && open) {
          event.stopPropagation();
          setOpen(false);
        }
      }}
    >
      <button
        className="jp-Button jp-mod-minimal jp-codex-ModelMenuButton"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-label={`Model and effort: ${props.summary}`}
        title={`Model and reasoning effort for the next turns (${props.summary})`}
        onClick={() => setOpen(!open)}
      >
        <span className="jp-codex-ModelMenuText">{props.summary}</span> ▾
      </button>
      {open && (
        <div
          className="jp-codex-ModelMenuPopup"
          role="dialog"
          aria-label="Model and effort"
        >
          {props.children}
        </div>
      )}
    </div>
  );
}
