/**
 * The Jobs view: every job of the server (newest first) with its state,
 * attempts and result; live ones can be cancelled (docs/automation.md).
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { CodexAPI } from '../handler';
import { jobSummary, LIVE_JOB_STATES } from '../model/jobs';
import { Codex } from '../tokens';

const STATES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function JobsView(props: {
  api: CodexAPI;
  onOpenSession: (id: string) => void;
}): JSX.Element {
  const { api } = props;
  const [jobs, setJobs] = React.useState<Codex.IJob[] | null>(null);
  const [state, setState] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(async () => {
    try {
      setJobs(await api.listJobs({ state: state || undefined, limit: 200 }));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [api, state]);

  React.useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [load]);

  const cancel = async (id: string) => {
    try {
      await api.cancelJob(id);
    } catch (e) {
      setError((e as Error).message);
    }
    void load();
  };

  return (
    <div className="jp-codex-Jobs" aria-label="Jobs">
      <div className="jp-codex-JobsBar">
        <select
          className="jp-codex-Select"
          aria-label="Job state"
          value={state}
          onChange={event => setState(event.target.value)}
        >
          {STATES.map(s => (
            <option key={s} value={s}>
              {s || 'all states'}
            </option>
          ))}
        </select>
        <span className="jp-codex-Spacer" />
        <button
          className="jp-Button jp-mod-minimal"
          title="Refresh"
          aria-label="Refresh jobs"
          onClick={() => void load()}
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {error && (
        <div className="jp-codex-Notice" role="status">
          {error}
        </div>
      )}
      {jobs && jobs.length === 0 && (
        <p className="jp-codex-Dim jp-codex-JobsEmpty">
          No jobs. Queue a follow-up while Codex works, or submit one with
          `jupyter codex jobs submit`.
        </p>
      )}
      <ul className="jp-codex-JobList">
        {(jobs ?? []).map(job => (
          <li key={job.id} className="jp-codex-Job" data-state={job.state}>
            <div className="jp-codex-JobHead">
              <span className="jp-codex-JobState">{job.state}</span>
              <span className="jp-codex-Dim">
                attempt {job.attempts}/{job.max_attempts}
              </span>
              {job.submitted_by && (
                <span className="jp-codex-Dim">{job.submitted_by}</span>
              )}
              <span className="jp-codex-Spacer" />
              <button
                className="jp-codex-LinkButton"
                onClick={() => props.onOpenSession(job.session_id)}
              >
                Open session
              </button>
              {LIVE_JOB_STATES.has(job.state) && (
                <button
                  className="jp-codex-LinkButton"
                  aria-label={`Cancel job: ${job.text}`}
                  onClick={() => void cancel(job.id)}
                >
                  Cancel
                </button>
              )}
            </div>
            <div className="jp-codex-JobText">{job.text}</div>
            <div className="jp-codex-JobResult">{jobSummary(job)}</div>
          </li>
        ))}
      </ul>
    </div>
  );
}
