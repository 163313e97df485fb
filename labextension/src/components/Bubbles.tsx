/**
 * One component per bubble kind of the timeline. Each is memoised on its
 * bubble object, which the reducer replaces only when it changes.
 *
 * This module picks the view of each bubble kind; the views of one family
 * each live in their own module: ./TextBubbles, ./ToolBubbles (commands,
 * tools, items), ./FileChanges, ./Approvals, ./StatusBubbles, and
 * ./NotebookCall and ./Questions.
 */
import * as React from 'react';

import { isNotebookTool } from '../model/notebookCalls';
import { Bubble } from '../model/timeline';
import { ApprovalCard } from './Approvals';
import { classes, type IBubbleActions } from './context';
import { FileChangeView } from './FileChanges';
import { Markdown } from './Markdown';
import { NotebookCallView } from './NotebookCall';
import { isQuestion, QuestionCard } from './Questions';
import { StatusView, TurnView } from './StatusBubbles';
import {
  AssistantView,
  PlanView,
  ReasoningView,
  UserText
} from './TextBubbles';
import { CommandView, ItemView, ToolView } from './ToolBubbles';

export { DiffView } from './FileChanges';

export type { IBubbleActions } from './context';

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
        <NotebookCallView
          bubble={bubble}
          notebook={actions.notebook ?? null}
          approval={props.related?.kind === 'approval' ? props.related : null}
          actions={actions}
        />
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
