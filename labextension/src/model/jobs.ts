/**
 * Jobs as the panel sees them: the session's queued follow-ups, kept current
 * from its `job.*` events (docs/websocket.md), and how a job reads in a list.
 */
import { Codex } from '../tokens';

/** States in which a job may still run (and be cancelled). */
export const LIVE_JOB_STATES: ReadonlySet<string> = new Set([
  'queued',
  'running'
]);

/**
 * Apply `job.*` events to a map of the session's jobs (id → job); answers the
 * same map when nothing changed, a new one otherwise.
 */
export function applyJobEvents(
  jobs: ReadonlyMap<string, Codex.IJob>,
  events: readonly Codex.IEvent[]
): ReadonlyMap<string, Codex.IJob> {
  let next: Map<string, Codex.IJob> | null = null;
  for (const event of events) {
    if (!event.type.startsWith('job.')) {
      continue;
    }
    const job = event.data as Codex.IJob;
    if (!job || typeof job.id !== 'string') {
      continue;
    }
    next = next ?? new Map(jobs);
    next.set(job.id, job);
  }
  return next ?? jobs;
}

/** The jobs that still wait or run, oldest first (the queued follow-ups). */
export function liveJobs(jobs: ReadonlyMap<string, Codex.IJob>): Codex.IJob[] {
  return [...jobs.values()]
    .filter(job => LIVE_JOB_STATES.has(job.state))
    .sort((a, b) => a.created_at - b.created_at);
}

/** One line about a job's outcome: its reply, its error, or when it runs. */
export function jobSummary(job: Codex.IJob, now = Date.now() / 1000): string {
  if (job.state === 'succeeded') {
    return job.result?.text?.trim() || 'Done.';
  }
  if (job.error?.message && job.state !== 'running') {
    const why = job.error.reason ? `${job.error.reason}: ` : '';
    return `${why}${job.error.message}`;
  }
  if (job.state === 'cancelled') {
    return 'Cancelled.';
  }
  if (job.state === 'failed') {
    return 'Failed.';
  }
  const next = job.next_attempt_at ?? job.not_before;
  if (job.state === 'queued' && next && next > now) {
    return `waits ${Math.ceil(next - now)} s`;
  }
  return job.state === 'running' ? 'running' : 'waits for its turn';
}
