/**
 * The timeline's turn-level events: a turn's end and its summary bubble,
 * token usage per turn, approvals asked and resolved, and what an error code
 * tells the user to do.
 */
import { Codex } from '../tokens';
import { base, Draft, num, str } from './timelineDraft';
import {
  IApprovalBubble,
  ITokenCounts,
  ITurnBubble,
  ITurnUsage
} from './timelineState';

/** What to tell the user about an error code (codex's `codexErrorInfo`). */
export function errorHint(code: string | null, willRetry: boolean): string {
  if (willRetry) {
    return 'Codex is retrying on its own; nothing to do yet.';
  }
  switch (code) {
    case 'usageLimitExceeded':
    case 'usage_limit_reached':
      return 'This account hit its usage limit: switch the cli account in the Accounts view, or wait for the window to reset.';
    case 'contextWindowExceeded':
      return 'The conversation no longer fits the model: start a fresh session with /new.';
    case 'unauthorized':
      return 'The account is signed out: sign in again or switch accounts in the Accounts view.';
    case 'serverOverloaded':
    case 'internalServerError':
      return 'The service is busy: send the message again in a moment.';
    case 'app_server_died':
      return 'Codex restarted: send your message again; the session keeps its history.';
    case 'httpConnectionFailed':
    case 'responseStreamDisconnected':
    case 'responseStreamConnectionFailed':
      return 'The connection to the model dropped: check the network and send the message again.';
    case 'sandboxError':
      return 'The sandbox refused the command: approve it when asked, or change the sandbox of the session.';
    default:
      return 'Send the message again, or check the server log if it keeps failing.';
  }
}

function counts(raw: any): ITokenCounts {
  return {
    input: num(raw?.input) ?? 0,
    cachedInput: num(raw?.cached_input) ?? 0,
    output: num(raw?.output) ?? 0,
    reasoningOutput: num(raw?.reasoning_output) ?? 0,
    total: num(raw?.total) ?? 0
  };
}

function addCounts(a: ITokenCounts, b: ITokenCounts): ITokenCounts {
  return {
    input: a.input + b.input,
    cachedInput: a.cachedInput + b.cachedInput,
    output: a.output + b.output,
    reasoningOutput: a.reasoningOutput + b.reasoningOutput,
    total: a.total + b.total
  };
}

export function onTurnCompleted(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const turnId = e.turn_id;
  if (turnId === null || turnId === d.turnId) {
    d.running = false;
  }
  const error = data.error
    ? {
        message: str(data.error.message) ?? 'The turn failed.',
        code: str(data.error.code)
      }
    : null;
  const usage = turnId ? d.turnUsage.get(turnId) : undefined;
  d.add({
    ...base(e, `turn:${turnId ?? `#${e.seq}`}`),
    kind: 'turn',
    status: str(data.status) ?? 'completed',
    durationMs: num(data.duration_ms),
    error,
    usage: usage?.counts ?? null,
    contextWindow: usage?.contextWindow ?? null,
    threadTotal: usage?.threadTotal ?? null
  });
  // Approvals of a finished turn can no longer be answered.
  if (turnId) {
    d.pending = d.pending.filter(a => a.turn_id !== turnId);
  }
}

export function onTokenUsage(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const turnId = e.turn_id;
  if (!turnId) {
    return;
  }
  const previous = d.turnUsage.get(turnId);
  const last = counts(data.last);
  const next: ITurnUsage = {
    counts: previous ? addCounts(previous.counts, last) : last,
    contextWindow: num(data.context_window),
    threadTotal: num(data.total?.total)
  };
  d.turnUsage.set(turnId, next);
  // Usage that arrives after the turn ended still lands on its summary.
  d.update<ITurnBubble>(`turn:${turnId}`, e.seq, b => {
    b.usage = next.counts;
    b.contextWindow = next.contextWindow;
    b.threadTotal = next.threadTotal;
  });
}

export function onApprovalRequested(d: Draft, e: Codex.IEvent): void {
  const approval = e.data as Codex.IApproval;
  if (!approval || !approval.id) {
    return;
  }
  d.add({
    ...base(e, `approval:${approval.id}`),
    kind: 'approval',
    approval,
    decision: null,
    by: null
  });
  if (!d.pending.some(a => a.id === approval.id)) {
    d.pending.push(approval);
  }
}

export function onApprovalResolved(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const id = str(data.id);
  if (!id) {
    return;
  }
  d.update<IApprovalBubble>(`approval:${id}`, e.seq, b => {
    b.decision = str(data.decision) ?? 'cancel';
    b.by = str(data.by);
  });
  d.pending = d.pending.filter(a => a.id !== id);
}
