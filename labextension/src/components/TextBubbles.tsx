/**
 * The bubbles of words: the user's message text, the assistant's answer,
 * reasoning, and the plan.
 */
import * as React from 'react';

import {
  IAssistantBubble,
  IPlanBubble,
  IReasoningBubble
} from '../model/timeline';
import { Markdown } from './Markdown';

/** Marks the context block `%codex` appends to the user's words. */
const NOTEBOOK_CONTEXT = '\n\n[Context from the Jupyter notebook]\n';

/** The user's words; an appended notebook context block stays collapsed. */
export function UserText(props: { text: string }): JSX.Element {
  const at = props.text.indexOf(NOTEBOOK_CONTEXT);
  if (at === -1) {
    return <>{props.text}</>;
  }
  return (
    <>
      {props.text.slice(0, at)}
      <details className="jp-codex-UserContext">
        <summary>Notebook context</summary>
        <pre>{props.text.slice(at + NOTEBOOK_CONTEXT.length)}</pre>
      </details>
    </>
  );
}

export function AssistantView(props: { bubble: IAssistantBubble }): JSX.Element {
  const { bubble } = props;
  return (
    <div data-final={bubble.final ? 'true' : 'false'}>
      <Markdown text={bubble.text} streaming={!bubble.final} codeActions />
    </div>
  );
}

export function ReasoningView(props: { bubble: IReasoningBubble }): JSX.Element {
  const { bubble } = props;
  const text = bubble.sections.filter(Boolean).join('\n\n');
  return (
    <details className="jp-codex-Reasoning">
      <summary>
        {bubble.done ? 'Reasoning' : 'Thinking…'}
        {text && (
          <span className="jp-codex-Dim">
            {' '}
            · {firstLine(text).slice(0, 80)}
          </span>
        )}
      </summary>
      <div className="jp-codex-pre">{text}</div>
    </details>
  );
}

function firstLine(text: string): string {
  return text.split('\n').find(line => line.trim()) ?? '';
}

const STEP_MARK: { [status: string]: string } = {
  completed: '✓',
  in_progress: '▸',
  pending: '○'
};

export function PlanView(props: { bubble: IPlanBubble }): JSX.Element {
  const { bubble } = props;
  return (
    <div>
      <div className="jp-codex-BubbleTitle">Plan</div>
      {bubble.explanation && (
        <div className="jp-codex-Dim">{bubble.explanation}</div>
      )}
      <ul className="jp-codex-Plan">
        {bubble.steps.map((s, i) => (
          <li key={i} className={`jp-codex-Plan-${s.status}`}>
            <span className="jp-codex-PlanMark">
              {STEP_MARK[s.status] ?? '○'}
            </span>{' '}
            {s.step}
          </li>
        ))}
      </ul>
    </div>
  );
}
