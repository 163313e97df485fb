/**
 * The timeline's state: one interface per bubble kind, the `Bubble` union,
 * and the immutable state `applyEvents` (./timeline) produces from events.
 */
import type { Codex } from '../tokens';

/** One nbformat output. */
export type NotebookOutput = { output_type: string; [key: string]: unknown };

/** What an edit did to a cell (`notebook.cell_changed`). */
export interface ICellChange {
  readonly action: 'inserted' | 'edited' | 'deleted' | 'moved';
  readonly cellId: string;
  readonly index: number | null;
  readonly before: string | null;
  readonly after: string | null;
}

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

export interface ITurnUsage {
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
