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
 */
import { Codex } from '../tokens';
import {
  appendOutput,
  cellChangeOf,
  ICellChange,
  NotebookOutput,
  notebookToolOf,
  outputOf
} from './notebookCalls';

/** Client-side cap of a command's live output (the tail is kept). */
export const LIVE_OUTPUT_CAP = 200_000;

interface IBubbleBase {
  /** Stable key: one bubble per key. */
  readonly key: string;
  /** `seq` of the event that created the bubble. */
  readonly seq: number;
  /** `seq` of the last event that changed it. */
  readonly lastSeq: number;
  readonly time: number;
  readonly turnId: string | null;
  readonly itemId: string | null;
}

export interface IUserBubble extends IBubbleBase {
  readonly kind: 'user';
  readonly text: string;
  readonly images: ReadonlyArray<{ [key: string]: any }>;
  readonly inputs: ReadonlyArray<{ [key: string]: any }>;
}

export interface IAssistantBubble extends IBubbleBase {
  readonly kind: 'assistant';
  readonly text: string;
  readonly phase: string | null;
  /** True once `assistant.message` gave the authoritative text. */
  readonly final: boolean;
}

export interface IReasoningBubble extends IBubbleBase {
  readonly kind: 'reasoning';
  /** One entry per summary section (or raw content part). */
  readonly sections: readonly string[];
  readonly done: boolean;
}

export interface ICommandBubble extends IBubbleBase {
  readonly kind: 'command';
  readonly command: string;
  readonly cwd: string | null;
  readonly output: string;
  readonly status: string;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly truncated: boolean;
  readonly actions: ReadonlyArray<{ [key: string]: any }>;
}

export interface IFileChangeBubble extends IBubbleBase {
  readonly kind: 'file_change';
  readonly changes: readonly Codex.IFileChange[];
  readonly status: string;
}

export interface IToolBubble extends IBubbleBase {
  readonly kind: 'tool';
  readonly toolKind: string;
  readonly server: string | null;
  readonly tool: string;
  readonly arguments: unknown;
  readonly result: unknown;
  readonly error: { message: string } | null;
  readonly status: string;
  readonly durationMs: number | null;
  readonly progress: readonly string[];
  /** A `notebook_*` edit: the cell it changed (`notebook.cell_changed`), else `null`. */
  readonly cellChange: ICellChange | null;
  /** A `notebook_run_cell`: the outputs streamed so far (`notebook.run_output`). */
  readonly runOutputs: readonly NotebookOutput[];
  /** The notebook of those events, else `null`. */
  readonly notebook: string | null;
}

export interface IItemBubble extends IBubbleBase {
  readonly kind: 'item';
  readonly itemType: string;
  readonly item: { [key: string]: any } | null;
  readonly done: boolean;
}

export interface IPlanBubble extends IBubbleBase {
  readonly kind: 'plan';
  readonly explanation: string | null;
  readonly steps: ReadonlyArray<{ step: string; status: string }>;
}

export interface IProposedPlanBubble extends IBubbleBase {
  readonly kind: 'proposed_plan';
  readonly text: string;
  readonly done: boolean;
}

export interface IApprovalBubble extends IBubbleBase {
  readonly kind: 'approval';
  readonly approval: Codex.IApproval;
  /** `null` while waiting for a decision. */
  readonly decision: string | null;
  readonly by: string | null;
}

export interface IErrorBubble extends IBubbleBase {
  readonly kind: 'error';
  readonly message: string;
  readonly code: string | null;
  readonly httpStatus: number | null;
  readonly willRetry: boolean;
  /** What the user can do about it. */
  readonly hint: string;
}

export interface IWarningBubble extends IBubbleBase {
  readonly kind: 'warning';
  readonly message: string;
  readonly source: string | null;
}

export interface ITokenCounts {
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
  readonly reasoningOutput: number;
  readonly total: number;
}

export interface ITurnBubble extends IBubbleBase {
  readonly kind: 'turn';
  readonly status: string;
  readonly durationMs: number | null;
  readonly error: { message: string; code: string | null } | null;
  /** Tokens of this turn (sum over its model responses), or `null`. */
  readonly usage: ITokenCounts | null;
  readonly contextWindow: number | null;
  readonly threadTotal: number | null;
}

export interface IStatusBubble extends IBubbleBase {
  readonly kind: 'status';
  readonly status: { [key: string]: any };
}

export interface INoticeBubble extends IBubbleBase {
  readonly kind: 'notice';
  readonly text: string;
  readonly sessionId?: string;
}

/** What a subagent (a thread the agent spawned) did, nested under the spawning call. */
export interface ISubagentBubble extends IBubbleBase {
  readonly kind: 'subagent';
  readonly threadId: string;
  readonly path: string | null;
  readonly parentItemId: string | null;
  /** One line per finished step: commands, file changes, messages. */
  readonly lines: readonly string[];
  readonly done: boolean;
}

export type Bubble =
  | ISubagentBubble
  | IUserBubble
  | IAssistantBubble
  | IReasoningBubble
  | ICommandBubble
  | IFileChangeBubble
  | IToolBubble
  | IItemBubble
  | IPlanBubble
  | IProposedPlanBubble
  | IApprovalBubble
  | IErrorBubble
  | IWarningBubble
  | ITurnBubble
  | IStatusBubble
  | INoticeBubble;

export interface ITimelineState {
  readonly bubbles: readonly Bubble[];
  /** Position of each bubble key in `bubbles`. */
  readonly index: ReadonlyMap<string, number>;
  /** Highest `seq` applied. */
  readonly lastSeq: number;
  /** How many events were applied (each `seq` once). */
  readonly eventCount: number;
  /** A turn is running (between `turn.started` and `turn.completed`). */
  readonly running: boolean;
  readonly turnId: string | null;
  /** Approvals requested and not resolved yet, oldest first. */
  readonly pending: readonly Codex.IApproval[];
  /** Latest session object seen in `session.created` / `session.updated`. */
  readonly session: Codex.ISession | null;
  /** Latest live rate-limit snapshot (sparse updates merged). */
  readonly rateLimits: { [key: string]: any } | null;
  /** The latest `diff.updated` of the current or last turn. */
  readonly turnDiff: string | null;
  /** The thread's absolute folder on the server (`thread.started`). */
  readonly threadCwd: string | null;
  /** Token usage of the running turn so far, by turn id. */
  readonly turnUsage: ReadonlyMap<string, ITurnUsage>;
}

interface ITurnUsage {
  readonly counts: ITokenCounts;
  readonly contextWindow: number | null;
  readonly threadTotal: number | null;
}

export const EMPTY_TIMELINE: ITimelineState = Object.freeze({
  bubbles: [],
  index: new Map(),
  lastSeq: 0,
  eventCount: 0,
  running: false,
  turnId: null,
  pending: [],
  session: null,
  rateLimits: null,
  turnDiff: null,
  threadCwd: null,
  turnUsage: new Map()
});

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

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
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

function capTail(text: string, cap: number): string {
  return text.length > cap ? text.slice(text.length - cap) : text;
}

/**
 * A mutable working copy of a state for one batch: the bubbles array and
 * index are copied once, and each bubble is cloned at most once.
 */
class Draft {
  bubbles: Bubble[];
  index: Map<string, number>;
  touched = new Set<string>();
  lastSeq: number;
  eventCount: number;
  running: boolean;
  turnId: string | null;
  pending: Codex.IApproval[];
  session: Codex.ISession | null;
  rateLimits: { [key: string]: any } | null;
  turnDiff: string | null;
  threadCwd: string | null;
  turnUsage: Map<string, ITurnUsage>;

  constructor(state: ITimelineState) {
    this.bubbles = state.bubbles.slice();
    this.index = new Map(state.index);
    this.lastSeq = state.lastSeq;
    this.eventCount = state.eventCount;
    this.running = state.running;
    this.turnId = state.turnId;
    this.pending = state.pending.slice();
    this.session = state.session;
    this.rateLimits = state.rateLimits;
    this.turnDiff = state.turnDiff;
    this.threadCwd = state.threadCwd;
    this.turnUsage = new Map(state.turnUsage);
  }

  freeze(): ITimelineState {
    return {
      bubbles: this.bubbles,
      index: this.index,
      lastSeq: this.lastSeq,
      eventCount: this.eventCount,
      running: this.running,
      turnId: this.turnId,
      pending: this.pending,
      session: this.session,
      rateLimits: this.rateLimits,
      turnDiff: this.turnDiff,
      threadCwd: this.threadCwd,
      turnUsage: this.turnUsage
    };
  }

  get<B extends Bubble>(key: string): B | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : (this.bubbles[at] as B);
  }

  add(bubble: Bubble): void {
    const at = this.index.get(bubble.key);
    if (at !== undefined) {
      this.bubbles[at] = bubble;
    } else {
      this.index.set(bubble.key, this.bubbles.length);
      this.bubbles.push(bubble);
    }
    this.touched.add(bubble.key);
  }

  /** Change a bubble; it is cloned the first time this batch touches it. */
  update<B extends Bubble>(
    key: string,
    seq: number,
    change: (bubble: { -readonly [K in keyof B]: B[K] }) => void
  ): boolean {
    const at = this.index.get(key);
    if (at === undefined) {
      return false;
    }
    let bubble = this.bubbles[at] as any;
    if (!this.touched.has(key)) {
      bubble = { ...bubble };
      this.bubbles[at] = bubble;
      this.touched.add(key);
    }
    bubble.lastSeq = seq;
    change(bubble);
    return true;
  }
}

function base(event: Codex.IEvent, key: string) {
  return {
    key,
    seq: event.seq,
    lastSeq: event.seq,
    time: event.time,
    turnId: event.turn_id,
    itemId: event.item_id
  };
}

/** The bubble key of an item-bound event, or of the event itself. */
function itemKey(kind: string, event: Codex.IEvent): string {
  return event.item_id ? `${kind}:${event.item_id}` : `${kind}:#${event.seq}`;
}

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

/** A subagent's event: one line in its nested bubble, never a bubble of the session's turn. */
function onSubagent(d: Draft, e: Codex.IEvent): void {
  const sub = e.data.subagent ?? {};
  const threadId = String(sub.thread_id ?? '');
  const key = `subagent:${threadId}`;
  if (!d.get(key)) {
    d.add({
      ...base(e, key),
      kind: 'subagent',
      threadId,
      path: str(sub.path),
      parentItemId: str(sub.parent_item_id),
      lines: [],
      done: false
    });
  }
  const data = e.data;
  let line: string | null = null;
  switch (e.type) {
    case 'command.completed':
      line = `$ ${str(data.command) ?? ''} → ${
        data.status === 'declined' ? 'declined' : `exit ${data.exit_code ?? '?'}`
      }`;
      break;
    case 'file_change.completed':
      line = `${str(data.status) ?? 'changed'}: ${((data.changes ?? []) as any[])
        .map(c => c.path)
        .join(', ')}`;
      break;
    case 'assistant.message':
      line = str(data.text);
      break;
    case 'tool_call.completed':
      line = `tool ${str(data.tool) ?? ''}`;
      break;
    case 'error':
      line = `error: ${str(data.message) ?? ''}`;
      break;
  }
  d.update<ISubagentBubble>(key, e.seq, b => {
    if (line) {
      b.lines = [...b.lines, line];
    }
    if (e.type === 'subagent.completed') {
      b.done = true;
    } else if (e.type === 'subagent.started') {
      b.done = false;
    }
  });
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
    case 'plan.proposed': {
      const key = itemKey('proposed_plan', e);
      const delta = str(data.delta) ?? '';
      const updated = d.update<IProposedPlanBubble>(key, e.seq, b => {
        if (e.type === 'plan.proposed') {
          b.text = str(data.text) ?? b.text;
          b.done = true;
        } else {
          b.text += delta;
        }
      });
      if (!updated) {
        d.add({
          ...base(e, key),
          kind: 'proposed_plan',
          text: e.type === 'plan.proposed' ? (str(data.text) ?? '') : delta,
          done: e.type === 'plan.proposed'
        });
      }
      return;
    }
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

function onTurnCompleted(d: Draft, e: Codex.IEvent): void {
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

function onAssistant(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('assistant', e);
  const updated = d.update<IAssistantBubble>(key, e.seq, b => {
    if (e.type === 'assistant.delta') {
      if (!b.final) {
        b.text += str(data.delta) ?? '';
      }
    } else if (e.type === 'assistant.message') {
      b.text = str(data.text) ?? b.text;
      b.phase = str(data.phase);
      b.final = true;
    }
  });
  if (!updated) {
    d.add({
      ...base(e, key),
      kind: 'assistant',
      text:
        e.type === 'assistant.delta'
          ? (str(data.delta) ?? '')
          : e.type === 'assistant.message'
            ? (str(data.text) ?? '')
            : '',
      phase: str(data.phase),
      final: e.type === 'assistant.message'
    });
  }
}

function onReasoning(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('reasoning', e);
  const apply = (b: { sections: readonly string[]; done: boolean }) => {
    if (e.type === 'reasoning.delta') {
      const index = num(data.index) ?? 0;
      const sections = b.sections.slice();
      while (sections.length <= index) {
        sections.push('');
      }
      sections[index] += str(data.delta) ?? '';
      b.sections = sections;
    } else if (e.type === 'reasoning.summary') {
      const summary: string[] = Array.isArray(data.summary) ? data.summary : [];
      const content: string[] = Array.isArray(data.content) ? data.content : [];
      const final = summary.length ? summary : content;
      if (final.length) {
        b.sections = final.map(String);
      }
      b.done = true;
    }
  };
  if (!d.update<IReasoningBubble>(key, e.seq, apply)) {
    const bubble = {
      ...base(e, key),
      kind: 'reasoning' as const,
      sections: [] as readonly string[],
      done: false
    };
    apply(bubble);
    d.add(bubble);
  }
}

function onPlan(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = `plan:${e.turn_id ?? `#${e.seq}`}`;
  const steps = Array.isArray(data.steps)
    ? data.steps.map((s: any) => ({
        step: String(s?.step ?? ''),
        status: String(s?.status ?? 'pending')
      }))
    : [];
  if (
    !d.update<IPlanBubble>(key, e.seq, b => {
      b.explanation = str(data.explanation);
      b.steps = steps;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'plan',
      explanation: str(data.explanation),
      steps
    });
  }
}

function onCommand(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('command', e);
  const updated = d.update<ICommandBubble>(key, e.seq, b => {
    if (e.type === 'command.output') {
      b.output = capTail(b.output + (str(data.delta) ?? ''), LIVE_OUTPUT_CAP);
      b.truncated = b.truncated || data.truncated === true;
    } else if (e.type === 'command.completed') {
      b.command = str(data.command) ?? b.command;
      b.cwd = str(data.cwd) ?? b.cwd;
      b.status = str(data.status) ?? 'completed';
      b.exitCode = num(data.exit_code);
      b.durationMs = num(data.duration_ms);
      if (typeof data.output === 'string' && data.output !== '') {
        b.output = data.output;
      }
      b.truncated = data.truncated === true;
    } else {
      b.command = str(data.command) ?? b.command;
      b.cwd = str(data.cwd) ?? b.cwd;
    }
  });
  if (!updated) {
    const completed = e.type === 'command.completed';
    d.add({
      ...base(e, key),
      kind: 'command',
      command: str(data.command) ?? '',
      cwd: str(data.cwd),
      output:
        e.type === 'command.output'
          ? (str(data.delta) ?? '')
          : completed
            ? (str(data.output) ?? '')
            : '',
      status: completed ? (str(data.status) ?? 'completed') : 'in_progress',
      exitCode: completed ? num(data.exit_code) : null,
      durationMs: completed ? num(data.duration_ms) : null,
      truncated: data.truncated === true,
      actions: Array.isArray(data.actions) ? data.actions : []
    });
  }
}

function onFileChange(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('file_change', e);
  const changes: Codex.IFileChange[] | null = Array.isArray(data.changes)
    ? data.changes
    : null;
  const status =
    e.type === 'file_change.completed'
      ? (str(data.status) ?? 'completed')
      : (str(data.status) ?? 'in_progress');
  if (
    !d.update<IFileChangeBubble>(key, e.seq, b => {
      if (changes && changes.length) {
        b.changes = changes;
      }
      b.status = status;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'file_change',
      changes: changes ?? [],
      status
    });
  }
}

function onTool(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('tool', e);
  const updated = d.update<IToolBubble>(key, e.seq, b => {
    if (e.type === 'tool_call.progress') {
      b.progress = [...b.progress, str(data.message) ?? ''];
      return;
    }
    b.toolKind = str(data.kind) ?? b.toolKind;
    b.server = str(data.server) ?? b.server;
    b.tool = str(data.tool) ?? b.tool;
    b.arguments = data.arguments ?? b.arguments;
    b.result = data.result ?? b.result;
    b.error = data.error ?? null;
    b.status = str(data.status) ?? b.status;
    b.durationMs = num(data.duration_ms);
  });
  if (!updated) {
    d.add({
      ...base(e, key),
      kind: 'tool',
      toolKind: str(data.kind) ?? 'mcp',
      server: str(data.server),
      tool: str(data.tool) ?? 'tool',
      arguments: data.arguments ?? null,
      result: data.result ?? null,
      error: data.error ?? null,
      status:
        str(data.status) ??
        (e.type === 'tool_call.completed' ? 'completed' : 'in_progress'),
      durationMs: num(data.duration_ms),
      progress: e.type === 'tool_call.progress' ? [str(data.message) ?? ''] : [],
      cellChange: null,
      runOutputs: [],
      notebook: null
    });
  }
}

/** A notebook tool call's cell change or run output, on the call's own bubble. */
function onNotebook(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('tool', e);
  const change = e.type === 'notebook.cell_changed' ? cellChangeOf(data) : null;
  const output = e.type === 'notebook.run_output' ? outputOf(data) : null;
  const apply = (b: {
    cellChange: ICellChange | null;
    runOutputs: readonly NotebookOutput[];
    notebook: string | null;
  }) => {
    b.notebook = str(data.notebook) ?? b.notebook;
    if (change) {
      b.cellChange = change;
    }
    if (output) {
      b.runOutputs = appendOutput(b.runOutputs, output, LIVE_OUTPUT_CAP);
    }
  };
  if (!d.update<IToolBubble>(key, e.seq, apply)) {
    // The call's own `tool_call.started` normally comes first; never lose the event.
    const bubble = {
      ...base(e, key),
      kind: 'tool' as const,
      toolKind: 'dynamic',
      server: null,
      tool: notebookToolOf(e.type, change),
      arguments: null,
      result: null,
      error: null,
      status: 'in_progress',
      durationMs: null,
      progress: [] as readonly string[],
      cellChange: null as ICellChange | null,
      runOutputs: [] as readonly NotebookOutput[],
      notebook: null as string | null
    };
    apply(bubble);
    d.add(bubble);
  }
}

function onItem(d: Draft, e: Codex.IEvent): void {
  const data = e.data ?? {};
  const key = itemKey('item', e);
  const done = e.type === 'item.completed';
  if (
    !d.update<IItemBubble>(key, e.seq, b => {
      b.item = data.item ?? b.item;
      b.itemType = str(data.item_type) ?? b.itemType;
      b.done = b.done || done;
    })
  ) {
    d.add({
      ...base(e, key),
      kind: 'item',
      itemType: str(data.item_type) ?? 'item',
      item: data.item ?? null,
      done
    });
  }
}

function onTokenUsage(d: Draft, e: Codex.IEvent): void {
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

function onApprovalRequested(d: Draft, e: Codex.IEvent): void {
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

function onApprovalResolved(d: Draft, e: Codex.IEvent): void {
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

/**
 * Split a unified diff into typed lines for display. Codex sends the plain
 * content for an added or deleted file: those lines show as added / removed.
 */
export function diffLines(
  diff: string,
  changeKind?: string
): Array<{ kind: 'add' | 'del' | 'hunk' | 'meta' | 'ctx'; text: string }> {
  if (!diff) {
    return [];
  }
  const lines = diff.replace(/\n$/, '').split('\n');
  const unified = lines.some(line => line.startsWith('@@'));
  if (!unified && (changeKind === 'add' || changeKind === 'delete')) {
    const add = changeKind === 'add';
    return lines.map(text => ({
      kind: add ? ('add' as const) : ('del' as const),
      text: `${add ? '+' : '-'}${text}`
    }));
  }
  return lines.map(text => {
    if (text.startsWith('@@')) {
      return { kind: 'hunk' as const, text };
    }
    if (
      text.startsWith('+++') ||
      text.startsWith('---') ||
      text.startsWith('diff ') ||
      text.startsWith('index ')
    ) {
      return { kind: 'meta' as const, text };
    }
    if (text.startsWith('+')) {
      return { kind: 'add' as const, text };
    }
    if (text.startsWith('-')) {
      return { kind: 'del' as const, text };
    }
    return { kind: 'ctx' as const, text };
  });
}
