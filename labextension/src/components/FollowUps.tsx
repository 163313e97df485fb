/**
 * Follow-ups queued while Codex works, under the composer: each with its text,
 * its state and a Cancel button (docs/automation.md).
 */
import * as React from 'react';

import { ChatModel } from '../model/chat';
import { jobSummary } from '../model/jobs';
import { useSignal } from './context';

export function FollowUps(props: { chat: ChatModel }): JSX.Element | null {
  const { chat } = props;
  useSignal(chat.changed);
  const jobs = chat.followUps;
  if (!jobs.length) {
    return null;
  }
  return (
    <ul className="jp-codex-FollowUps" aria-label="Queued follow-ups">
      {jobs.map(job => (
        <li
          key={job.id}
          className="jp-codex-FollowUp"
          data-state={job.state}
          title={job.text}
        >
          <span className="jp-codex-FollowUpState">
            {job.state === 'running' ? 'Running' : 'Queued'}
          </span>
          <span className="jp-codex-FollowUpText">{job.text}</span>
          <span className="jp-codex-Dim">{jobSummary(job)}</span>
          <button
            className="jp-codex-LinkButton"
            aria-label={`Cancel queued follow-up: ${job.text}`}
            title="Cancel this follow-up"
            onClick={() => void chat.cancelJob(job.id)}
          >
            Cancel
          </button>
        </li>
      ))}
    </ul>
  );
}
