/**
 * The timeline reducer: a session's events (docs/websocket.md) in, a list of
 * bubbles out.
 *
 * Deltas, `*.started` and `*.completed` events of one item share an `item_id`
 * and become one bubble that is updated in place. The state is immutable: a
 * batch of events produces a new state in which only the bubbles that changed
 * are new objects, so memoised components re-render only those. `applyEvents`
 * assumes events come in `seq` order without repeats (see `EventSequencer`),
 * but also ignores any `seq` it has already applied.
 *
 * This module dispatches each event; the state's types live in
 * ./timelineState, the working copy in ./timelineDraft, the handlers of item
 * events in ./itemEvents and of turn-level events in ./turnEvents. Every name
 * of those that other modules use is re-exported here.
 */
import { Codex } from '../tokens';
import {
  onAssistant,
  onCommand,
  onFileChange,
  onItem,
  onNotebook,
  onPlan,
  onProposedPlan,
  onReasoning,
  onSubagent,
  onTool
} from './itemEvents';
import { base, Draft, itemKey, num, str } from './timelineDraft';
import { ITimelineState } from './timelineState';
import {
  errorHint,
  onApprovalRequested,
  onApprovalResolved,
  onTokenUsage,
  onTurnCompleted
} from './turnEvents';

// The reducer's pieces, importable from here as before the split.
export { diffLines } from './diff';
export { LIVE_OUTPUT_CAP } from './itemEvents';
export { EMPTY_TIMELINE } from './timelineState';
export type {
  Bubble,
  IApprovalBubble,
  IAssistantBubble,
  ICommandBubble,
  IErrorBubble,
  IFileChangeBubble,
  IItemBubble,
  INoticeBubble,
  IPlanBubble,
  IProposedPlanBubble,
  IReasoningBubble,
  IStatusBubble,
  ISubagentBubble,
  ITimelineState,
  ITokenCounts,
  IToolBubble,
  ITurnBubble,
  IUserBubble,
  IWarningBubble
} from './timelineState';
export { errorHint } from './turnEvents';

/** Apply a batch of events (in `seq` order) and return the new state. */
export function applyEvents(
  state: ITimelineState,
  events: readonly Codex.IEvent[]
): ITimelineState {
  if (events.length === 0) {
    return state;
  }
  const draft = new Draft(state);
  let changed = false;
  for (const event of events) {
    if (event.seq <= draft.lastSeq) {
      continue;
    }
    draft.lastSeq = event.seq;
    draft.eventCount++;
    changed = true;
    applyOne(draft, event);
  }
  return changed ? draft.freeze() : state;
}

function applyOne(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  if (data.subagent) {
    onSubagent(d, e);
    return;
  }
  switch (e.type) {
    case 'session.created':
    case 'session.updated':
      d.session = data as Codex.ISession;
      return;
    case 'thread.started':
      d.threadCwd = str(data.cwd) ?? d.threadCwd;
      return;
    case 'turn.started':
      d.running = true;
      d.turnId = e.turn_id;
      d.turnDiff = null;
      return;
    case 'turn.completed':
      onTurnCompleted(d, e);
      return;
    case 'turn.force_stopped':
      d.add({
        ...base(e, `notice:#${e.seq}`),
        kind: 'notice',
        text: 'Force Stop: Codex was restarted to end the turn.'
      });
      return;
    case 'user.message':
      d.add({
        ...base(e, itemKey('user', e)),
        kind: 'user',
        text: str(data.text) ?? '',
        images: Array.isArray(data.images) ? data.images : [],
        inputs: Array.isArray(data.inputs) ? data.inputs : []
      });
      return;
    case 'assistant.started':
    case 'assistant.delta':
    case 'assistant.message':
      onAssistant(d, e);
      return;
    case 'reasoning.started':
    case 'reasoning.delta':
    case 'reasoning.summary':
      onReasoning(d, e);
      return;
    case 'plan.updated':
      onPlan(d, e);
      return;
    case 'plan.delta':
    case 'plan.proposed':
      onProposedPlan(d, e);
      return;
    case 'command.started':
    case 'command.output':
    case 'command.completed':
      onCommand(d, e);
      return;
    case 'file_change.started':
    case 'file_change.updated':
    case 'file_change.completed':
      onFileChange(d, e);
      return;
    case 'diff.updated':
      d.turnDiff = str(data.diff);
      return;
    case 'tool_call.started':
    case 'tool_call.progress':
    case 'tool_call.completed':
      onTool(d, e);
      return;
    case 'notebook.cell_changed':
    case 'notebook.run_output':
      onNotebook(d, e);
      return;
    case 'item.started':
    case 'item.completed':
      onItem(d, e);
      return;
    case 'token_usage':
      onTokenUsage(d, e);
      return;
    case 'rate_limits':
      d.rateLimits = { ...(d.rateLimits ?? {}), ...data };
      return;
    case 'model.rerouted':
      d.add({
        ...base(e, `notice:#${e.seq}`),
        kind: 'notice',
        text: `Model switched from ${data.from_model ?? '?'} to ${data.to_model ?? '?'}${data.reason ? ` (${data.reason})` : ''}.`
      });
      return;
    case 'error': {
      const code = str(data.code);
      const willRetry = data.will_retry === true;
      d.add({
        ...base(e, `error:#${e.seq}`),
        kind: 'error',
        message: str(data.message) ?? 'Unknown error',
        code,
        httpStatus: num(data.http_status),
        willRetry,
        hint: errorHint(code, willRetry)
      });
      return;
    }
    case 'warning':
      d.add({
        ...base(e, `warning:#${e.seq}`),
        kind: 'warning',
        message: str(data.message) ?? '',
        source: str(data.source)
      });
      return;
    case 'approval.requested':
      onApprovalRequested(d, e);
      return;
    case 'approval.resolved':
      onApprovalResolved(d, e);
      return;
    case 'session.forked':
      d.add({
        ...base(e, `notice:#${e.seq}`),
        kind: 'notice',
        text: 'Started a new session (/new).',
        sessionId: str(data.new_session_id) ?? undefined
      });
      return;
    case 'status':
      d.add({ ...base(e, `status:#${e.seq}`), kind: 'status', status: data });
      return;
    default:
      // thread.status, codex.* and future types: nothing to show.
      return;
  }
}
