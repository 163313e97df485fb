/**
 * The message box: multi-line input, Enter / Shift+Enter (configurable),
 * slash-command and `$skill` completion, model and effort selectors,
 * attachments, and Send ↔ Stop → Force Stop. The model and effort pickers
 * are in ./ModelMenu, the attached images in ./ComposerImages.
 */
import * as React from 'react';

import { ChatModel } from '../model/chat';
import {
  applyCompletion,
  complete,
  enterAction,
  ICompletion
} from '../model/completion';
import { ComposerDraft } from '../model/draft';
import { withAttachments } from '../model/format';
import { Codex } from '../tokens';
import { classes, PanelEnvironment, useSignal } from './context';
import { ImageChips, useImages } from './ComposerImages';
import { ModelPicker } from './ModelMenu';
import { SessionMenu } from './SessionSettings';

export function Composer(props: {
  chat: ChatModel;
  draft: ComposerDraft;
  onCommandResult: (answer: { [key: string]: any }) => void;
  /** Why sending is off (no account yet), or null. */
  blocked?: string | null;
}): JSX.Element {
  const { chat, draft } = props;
  useSignal(chat.changed);
  useSignal(draft.changed);
  const env = React.useContext(PanelEnvironment);
  const input = React.useRef<HTMLTextAreaElement>(null);
  const [completion, setCompletion] = React.useState<ICompletion | null>(null);
  const [active, setActive] = React.useState(0);
  const [skills, setSkills] = React.useState<Codex.ISkill[]>([]);
  const [sending, setSending] = React.useState(false);
  /** Images pasted, dropped or attached for the next message (stored on the server). */
  const { images, setImages, addImage, addFiles } = useImages(chat);

  React.useEffect(() => {
    const focus = () => input.current?.focus();
    draft.focusRequested.connect(focus);
    return () => {
      draft.focusRequested.disconnect(focus);
    };
  }, [draft]);

  React.useEffect(() => {
    let live = true;
    void chat.skills().then(list => live && setSkills(list));
    return () => {
      live = false;
    };
  }, [chat]);

  // Grow with the text, up to the CSS max-height.
  React.useLayoutEffect(() => {
    const el = input.current;
    if (el) {
      el.style.height = 'auto';
      el.style.height = `${el.scrollHeight}px`;
    }
  }, [draft.text]);

  const refreshCompletion = (text: string, caret: number) => {
    const next = complete(text, caret, skills);
    setCompletion(next);
    setActive(0);
  };

  const choose = (index: number) => {
    if (!completion) {
      return;
    }
    const item = completion.items[index];
    const next = applyCompletion(draft.text, completion, item);
    draft.text = next.text;
    setCompletion(null);
    requestAnimationFrame(() => {
      const el = input.current;
      if (el) {
        el.focus();
        el.setSelectionRange(next.caret, next.caret);
      }
    });
  };

  const send = async () => {
    const text = draft.text.trim();
    if (!text || sending || props.blocked) {
      return;
    }
    setSending(true);
    try {
      if (chat.running) {
        // A turn runs: the message steers it (turn/steer) instead of a 409.
        await chat.steer(
          withAttachments(text, draft.attachments, env.serverRoot)
        );
        draft.clear();
        setCompletion(null);
        return;
      }
      const answer = await chat.send(
        withAttachments(text, draft.attachments, env.serverRoot),
        images.map(i => i.id)
      );
      draft.clear();
      setImages([]);
      setCompletion(null);
      if (answer && answer.command) {
        props.onCommandResult(answer);
      }
    } catch {
      // The chat model reported it (notice); keep the text for another try.
    } finally {
      setSending(false);
    }
  };

  /** While a turn runs: run the message after it, as a queued follow-up (a job). */
  const queue = async () => {
    const text = draft.text.trim();
    if (!text || sending) {
      return;
    }
    setSending(true);
    try {
      await chat.send(
        withAttachments(text, draft.attachments, env.serverRoot),
        undefined,
        true
      );
      draft.clear();
      setCompletion(null);
    } catch {
      // The chat model reported it (notice); keep the text for another try.
    } finally {
      setSending(false);
    }
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (completion) {
      const n = completion.items.length;
      if (event.key === 'ArrowDown') {
        event.preventDefault();
        setActive((active + 1) % n);
        return;
      }
      if (event.key === 'ArrowUp') {
        event.preventDefault();
        setActive((active - 1 + n) % n);
        return;
      }
      if (event.key === 'Tab' || (event.key === 'Enter' && !event.shiftKey)) {
        event.preventDefault();
        choose(active);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setCompletion(null);
        return;
      }
    }
    const action = enterAction(
      {
        key: event.key,
        shiftKey: event.shiftKey,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        isComposing: event.nativeEvent.isComposing
      },
      env.settings.enterToSend
    );
    if (action === 'send') {
      event.preventDefault();
      void send();
    }
    // 'newline': the textarea inserts it.
  };

  const session = chat.session;
  const running = chat.running;

  const isImage = (path: string) => /\.(png|jpe?g|gif|webp)$/i.test(path);
  const attachActive = () => {
    // Images selected in the file browser go as pictures; otherwise the active file.
    const selected = (env.selectedFiles?.() ?? []).filter(isImage);
    if (selected.length) {
      selected.forEach(path => void addImage({ path }));
      return;
    }
    const path = env.activeFile();
    if (path && isImage(path)) {
      void addImage({ path });
    } else if (path) {
      draft.attach(path);
    }
  };

  return (
    <div className="jp-codex-Composer">
      {completion && (
        <ul className="jp-codex-Completion" role="listbox">
          {completion.items.map((item, i) => (
            <li
              key={item.label}
              role="option"
              aria-selected={i === active}
              className={classes(i === active && 'jp-mod-active')}
              onMouseDown={event => {
                event.preventDefault();
                choose(i);
              }}
            >
              <span className="jp-codex-CompletionLabel">{item.label}</span>
              <span className="jp-codex-Dim" title={item.description}>
                {firstLine(item.description)}
              </span>
            </li>
          ))}
        </ul>
      )}
      <ImageChips images={images} setImages={setImages} />
      {draft.attachments.length > 0 && (
        <div className="jp-codex-Chips">
          {draft.attachments.map(path => (
            <span className="jp-codex-Chip" key={path} title={path}>
              {path.split('/').pop()}
              <button
                className="jp-codex-ChipRemove"
                aria-label={`Remove ${path}`}
                onClick={() => draft.detach(path)}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      )}
      <textarea
        ref={input}
        className="jp-codex-Input"
        aria-label="Message to Codex"
        rows={2}
        placeholder={
          running
            ? env.settings.enterToSend
              ? 'Codex is working: Enter steers the running turn with your message'
              : 'Codex is working: Ctrl+Enter steers the running turn with your message'
            : env.settings.enterToSend
              ? 'Message Codex (Enter to send, Shift+Enter for a new line, / for commands, $ for skills)'
              : 'Message Codex (Ctrl+Enter to send, / for commands, $ for skills)'
        }
        data-steers={running ? 'true' : 'false'}
        value={draft.text}
        onChange={event => {
          draft.text = event.target.value;
          refreshCompletion(
            event.target.value,
            event.target.selectionStart ?? event.target.value.length
          );
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setCompletion(null)}
        onPaste={event => {
          const files = Array.from(event.clipboardData.items)
            .filter(item => item.kind === 'file')
            .map(item => item.getAsFile())
            .filter((f): f is File => f !== null);
          if (addFiles(files)) {
            event.preventDefault();
          }
        }}
        onDragOver={event => {
          if (Array.from(event.dataTransfer.types).includes('Files')) {
            event.preventDefault();
          }
        }}
        onDrop={event => {
          if (addFiles(Array.from(event.dataTransfer.files))) {
            event.preventDefault();
          }
        }}
      />
      <div className="jp-codex-ComposerBar">
        <ModelPicker chat={chat} />
        <SessionMenu
          session={session}
          running={running}
          loadLimits={() => chat.limits()}
          update={change => void chat.update(change)}
          act={action =>
            void chat.act(action).then(forked => {
              if (forked) {
                props.onCommandResult({ command: 'new', session: forked });
              }
            })
          }
        />
        <button
          className="jp-Button jp-mod-minimal jp-codex-Attach"
          title="Attach the active notebook or file as context"
          onClick={attachActive}
        >
          + Attach
        </button>
        <span className="jp-codex-Spacer" />
        {running && draft.text.trim() && (
          <button
            className="jp-Button jp-mod-styled jp-codex-Steer"
            disabled={sending}
            title="Add this message to the running turn"
            onClick={() => void send()}
          >
            Steer
          </button>
        )}
        {running && draft.text.trim() && (
          <button
            className="jp-Button jp-mod-styled jp-codex-Queue"
            disabled={sending}
            title="Run this message after the current turn (a queued follow-up)"
            onClick={() => void queue()}
          >
            Queue
          </button>
        )}
        {running ? (
          <button
            className={classes(
              'jp-Button jp-mod-styled jp-codex-Stop',
              'jp-mod-warn',
              chat.stopRequested && 'jp-mod-force'
            )}
            title={
              chat.stopRequested
                ? 'Restart Codex to end the turn now (kills running commands)'
                : 'Interrupt the turn'
            }
            onClick={() => void chat.stop()}
          >
            {chat.stopRequested ? 'Force Stop' : 'Stop'}
          </button>
        ) : (
          <button
            className="jp-Button jp-mod-styled jp-mod-accept jp-codex-Send"
            disabled={!draft.text.trim() || sending || !!props.blocked}
            aria-describedby={props.blocked ? 'jp-codex-send-blocked' : undefined}
            onClick={() => void send()}
          >
            Send
          </button>
        )}
      </div>
      {props.blocked && (
        <div className="jp-codex-Hint" id="jp-codex-send-blocked">
          {props.blocked}
        </div>
      )}
    </div>
  );
}

/** The first line of a (skill) description, for a one-line completion. */
function firstLine(text: string | undefined): string {
  return (text ?? '').trim().split(/\n/)[0] ?? '';
}
