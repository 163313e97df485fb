/**
 * The chronological list of bubbles. Windowed: only the newest `window`
 * bubbles are mounted ("Show earlier" adds more), each memoised, and the
 * browser skips layout of off-screen ones (`content-visibility`). It sticks
 * to the bottom unless the user scrolled up.
 */
import * as React from 'react';

import { ChatModel } from '../model/chat';
import { inlineApprovals } from '../model/bubbles';
import { rootFromCwd } from '../model/format';
import { Bubble } from '../model/timeline';
import { Codex } from '../tokens';
import { BubbleView, IBubbleActions } from './Bubbles';
import { PanelEnvironment, useSignal } from './context';

/** Distance from the bottom (px) that still counts as "at the bottom". */
const STICK_SLACK = 48;
/** A scroll this soon after a wheel, touch, key or pointer event is the user's. */
const USER_SCROLL_MS = 800;

export function Timeline(props: {
  chat: ChatModel;
  window: number;
  onOpenSession: (id: string) => void;
}): JSX.Element {
  const { chat } = props;
  useSignal(chat.changed);
  const env = React.useContext(PanelEnvironment);
  const state = chat.timeline;
  const [shown, setShown] = React.useState(props.window);
  const scroller = React.useRef<HTMLDivElement>(null);
  const content = React.useRef<HTMLDivElement>(null);
  const stick = React.useRef(true);
  const [away, setAway] = React.useState(false);
  const anchor = React.useRef<number | null>(null);

  const absCwd = state.threadCwd ?? firstAbsoluteCwd(state.bubbles);
  const roots = React.useMemo(() => {
    const found = [env.serverRoot];
    if (absCwd) {
      found.push(rootFromCwd(absCwd, chat.session.cwd));
    }
    return found.filter(Boolean);
  }, [env.serverRoot, absCwd, chat.session.cwd]);

  const actions: IBubbleActions = React.useMemo(
    () => ({
      decide: (
        id: string,
        decision: Codex.Decision,
        answer?: Codex.IAnswer
      ) => void chat.decide(id, decision, answer),
      openSession: props.onOpenSession,
      roots,
      cwd: chat.session.cwd,
      imageUrl: (path: string) => chat.imageUrl(path),
      notebook: chat.session.notebook ?? null
    }),
    [chat, props.onOpenSession, roots]
  );

  // A command's (or a notebook run's) approval is shown by the call's own
  // bubble (one bubble, one state); the approval bubble only stands alone
  // until the call starts.
  const approvals = React.useMemo(
    () => inlineApprovals(state.bubbles, state.index),
    [state.bubbles, state.index]
  );
  const start = Math.max(0, state.bubbles.length - shown);
  const visible = state.bubbles
    .slice(start)
    .filter(b => !(b.kind === 'approval' && approvals.merged.has(b.key)));

  const toBottom = React.useCallback(() => {
    const el = scroller.current;
    if (el) {
      el.scrollTop = el.scrollHeight;
    }
  }, []);

  // Only the user unsticks the view (wheel, touch, keys, scrollbar): layout
  // changes (markdown rendering, off-screen bubbles sizing) also fire scroll
  // events and must not.
  const intent = React.useRef(0);
  const onIntent = React.useCallback(() => {
    intent.current = Date.now();
  }, []);
  const onScroll = React.useCallback(() => {
    const el = scroller.current;
    if (!el) {
      return;
    }
    const atBottom =
      el.scrollHeight - el.scrollTop - el.clientHeight < STICK_SLACK;
    if (atBottom) {
      stick.current = true;
      setAway(false);
    } else if (Date.now() - intent.current < USER_SCROLL_MS) {
      stick.current = false;
      setAway(true);
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, []);

  // New or changed bubbles: follow them while stuck to the bottom; keep the
  // reading position after "Show earlier".
  React.useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) {
      return;
    }
    if (anchor.current !== null) {
      el.scrollTop = el.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  // Content that grows on its own (markdown rendering, images) also follows.
  React.useEffect(() => {
    const el = content.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => {
      if (stick.current) {
        toBottom();
      }
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [toBottom]);

  const showEarlier = () => {
    const el = scroller.current;
    anchor.current = el ? el.scrollHeight - el.scrollTop : null;
    setShown(shown + props.window);
  };

  return (
    <div className="jp-codex-TimelineWrap">
      <div
        className="jp-codex-Timeline"
        ref={scroller}
        onScroll={onScroll}
        onWheel={onIntent}
        onTouchMove={onIntent}
        onKeyDown={onIntent}
        onPointerDown={onIntent}
        tabIndex={0}
        data-event-count={state.eventCount}
        data-last-seq={state.lastSeq}
        data-duplicates={chat.duplicates}
        data-ready={chat.ready ? 'true' : 'false'}
        data-running={state.running ? 'true' : 'false'}
        role="log"
        aria-label="Conversation with Codex"
        aria-live="polite"
      >
        <div ref={content} className="jp-codex-TimelineContent">
          {start > 0 && (
            <button className="jp-codex-ShowEarlier" onClick={showEarlier}>
              Show {Math.min(start, props.window)} earlier
            </button>
          )}
          {!chat.ready && state.bubbles.length === 0 && (
            <div className="jp-codex-Dim jp-codex-Empty">Loading…</div>
          )}
          {chat.ready && state.bubbles.length === 0 && (
            <div className="jp-codex-Dim jp-codex-Empty">
              Ask Codex something about{' '}
              <code>{chat.session.cwd || 'the root folder'}</code>. Type / for
              commands, $ for skills.
            </div>
          )}
          {visible.map(bubble => (
            <BubbleView
              key={bubble.key}
              bubble={bubble}
              related={
                bubble.kind === 'command' || bubble.kind === 'tool'
                  ? approvals.byItem.get(bubble.itemId ?? '')
                  : relatedOf(bubble, state.index, state.bubbles)
              }
              actions={actions}
            />
          ))}
          {state.running && (
            <div className="jp-codex-Working">
              <span className="jp-codex-Spinner" /> Working…
            </div>
          )}
        </div>
      </div>
      {away && (
        <button
          className="jp-codex-JumpToBottom"
          onClick={() => {
            stick.current = true;
            setAway(false);
            toBottom();
          }}
        >
          ↓ Latest
        </button>
      )}
    </div>
  );
}

/** The file change an approval card shows a diff of. */
function relatedOf(
  bubble: Bubble,
  index: ReadonlyMap<string, number>,
  bubbles: readonly Bubble[]
): Bubble | undefined {
  if (bubble.kind !== 'approval' || !bubble.itemId) {
    return undefined;
  }
  const at = index.get(`file_change:${bubble.itemId}`);
  return at === undefined ? undefined : bubbles[at];
}


function firstAbsoluteCwd(bubbles: readonly Bubble[]): string | null {
  for (const b of bubbles) {
    if (b.kind === 'command' && b.cwd && b.cwd.startsWith('/')) {
      return b.cwd;
    }
  }
  return null;
}
