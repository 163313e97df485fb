/**
 * The session's queued follow-ups follow its `job.*` events.
 */
import { describe, expect, it } from 'vitest';

import { applyJobEvents, jobSummary, liveJobs } from '../model/jobs';
import { Codex } from '../tokens';

function job(
  id: string,
  state: Codex.IJob['state'],
  extra: Partial<Codex.IJob> = {}
): Codex.IJob {
  return {
    id,
    session_id: 's1',
    text: `text of ${id}`,
    state,
    attempts: 0,
    max_attempts: 1,
    dedupe_key: null,
    not_before: null,
    created_at: Number(id.slice(1)),
    started_at: null,
    finished_at: null,
    result: null,
    error: null,
    submitted_by: null,
    ...extra
  };
}

let seq = 0;
function event(type: string, data: Codex.IJob): Codex.IEvent {
  seq += 1;
  return {
    seq,
    session_id: 's1',
    type,
    time: seq,
    turn_id: null,
    item_id: null,
    data
  } as Codex.IEvent;
}

describe('queued follow-ups', () => {
  it('tracks jobs through their lifecycle, oldest first', () => {
    let jobs = applyJobEvents(new Map(), [
      event('job.queued', job('j2', 'queued')),
      event('job.queued', job('j1', 'queued')),
      event('assistant.delta', job('x9', 'queued'))
    ]);
    expect(liveJobs(jobs).map(j => j.id)).toEqual(['j1', 'j2']);
    jobs = applyJobEvents(jobs, [
      event('job.started', job('j1', 'running')),
      event('job.cancelled', job('j2', 'cancelled'))
    ]);
    expect(liveJobs(jobs).map(j => [j.id, j.state])).toEqual([
      ['j1', 'running']
    ]);
    jobs = applyJobEvents(jobs, [
      event('job.succeeded', job('j1', 'succeeded'))
    ]);
    expect(liveJobs(jobs)).toEqual([]);
  });

  it('answers the same map when no job event arrived', () => {
    const jobs = new Map([['j1', job('j1', 'queued')]]);
    expect(applyJobEvents(jobs, [])).toBe(jobs);
  });

  it('summarises replies, errors and waits', () => {
    expect(
      jobSummary(job('j1', 'succeeded', { result: { text: ' All good ' } }))
    ).toBe('All good');
    expect(
      jobSummary(
        job('j1', 'failed', {
          error: { reason: 'turn_failed', message: 'boom' }
        })
      )
    ).toBe('turn_failed: boom');
    expect(jobSummary(job('j1', 'queued', { not_before: 130 }), 100)).toBe(
      'waits 30 s'
    );
    expect(jobSummary(job('j1', 'queued'), 100)).toBe('waits for its turn');
    expect(jobSummary(job('j1', 'cancelled'), 100)).toBe('Cancelled.');
  });
});
