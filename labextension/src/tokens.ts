/**
 * Shapes of the server's JSON (docs/rest-api.md, docs/websocket.md) and the
 * command ids of the extension. Keys stay snake_case as the server sends them.
 */

/** Command ids, all `jupyter-codex:<verb>`. */
export namespace CommandIDs {
  export const open = 'jupyter-codex:open';
  export const newSession = 'jupyter-codex:new-session';
  export const sendSelection = 'jupyter-codex:send-selection';
  export const workOnNotebook = 'jupyter-codex:work-on-notebook';
  export const inlineEdit = 'jupyter-codex:inline-edit';
  export const openAccounts = 'jupyter-codex:open-accounts';
  export const refreshUsage = 'jupyter-codex:refresh-usage';
}

export namespace Codex {
  export type SessionState = 'idle' | 'running' | 'waiting_approval';

  export interface ISession {
    id: string;
    thread_id: string | null;
    target: string;
    cwd: string;
    title: string;
    model: string | null;
    effort: string | null;
    approval_policy: string;
    sandbox: string;
    /** Whether sandboxed commands may use the network. */
    network_access?: boolean;
    archived: boolean;
    created_at: number;
    updated_at: number;
    last_seq: number;
    /** Client-side tools its thread was declared with (null: none). */
    tools?:
      { name: string; description: string; input_schema: object }[] | null;
    /** The notebook a notebook session works on (null: none). */
    notebook?: string | null;
    state: SessionState | string;
    active_turn_id: string | null;
  }

  /** The event envelope (docs/websocket.md). */
  export interface IEvent {
    seq: number;
    session_id: string | null;
    type: string;
    time: number;
    turn_id: string | null;
    item_id: string | null;
    data: { [key: string]: any };
  }

  export type ApprovalKind =
    | 'command'
    | 'file_change'
    | 'permissions'
    | 'user_input'
    | 'elicitation'
    | 'notebook_run';

  export type Decision = 'accept' | 'acceptForSession' | 'decline' | 'cancel';

  export interface IFileChange {
    path: string;
    kind: string;
    move_path: string | null;
    diff: string;
    truncated?: boolean;
  }

  /** Settings that decide what a session's commands may do. */
  export interface ISessionSettings {
    sandbox?: string;
    approval_policy?: string;
    network_access?: boolean;
  }

  /** What the administrator lets sessions be set to (`GET codex/api/limits`). */
  export interface ILimits {
    sandboxes: string[];
    approval_policies: string[];
    network_access: boolean;
  }

  /** One question of a `user_input` request. */
  export interface IQuestion {
    id: string;
    header: string;
    question: string;
    options: { label: string; description: string }[] | null;
    is_other: boolean;
    is_secret: boolean;
  }

  /** What an MCP server's elicitation asks (a JSON-schema form, or a URL). */
  export interface IElicitationForm {
    server: string | null;
    mode: string;
    message: string;
    schema: { [key: string]: any } | null;
    url: string | null;
  }

  /** The answer that accepts a question (`answers`) or a form (`content`). */
  export interface IAnswer {
    answers?: { [questionId: string]: string[] };
    content?: { [field: string]: unknown };
  }

  export interface IApproval {
    id: string;
    session_id: string;
    kind: ApprovalKind | string;
    method: string;
    turn_id: string | null;
    item_id: string | null;
    created_at: number;
    expires_at: number | null;
    command?: string | null;
    cwd?: string | null;
    reason?: string | null;
    changes?: IFileChange[] | null;
    questions?: IQuestion[] | null;
    form?: IElicitationForm | null;
    params?: { [key: string]: any } | null;
  }

  export interface IUsage {
    primary_used_percent: number | null;
    secondary_used_percent: number | null;
    primary_window_minutes?: number | null;
    secondary_window_minutes?: number | null;
    primary_resets_at?: number | null;
    secondary_resets_at?: number | null;
    allowed?: boolean | null;
    limit_reached?: boolean | null;
    plan_type?: string | null;
    fetched_at: number | null;
    source?: string | null;
    error_count?: number;
    last_error?: string | null;
  }

  export interface IAccount {
    id: string;
    label: string;
    email: string | null;
    kind: 'chatgpt' | 'api_key' | string;
    plan?: string | null;
    status: 'active' | 'disabled' | 'quarantined' | string;
    status_reason?: string | null;
    active_targets: string[];
    usage: IUsage | null;
  }

  export type TargetName = 'api' | 'cli';

  export interface ITarget {
    name: TargetName | string;
    account_id: string | null;
    strategy: string;
    threshold_percent: number;
    rotation_seconds: number;
    switched_at: number | null;
  }

  export interface IUsagePoint {
    time: number;
    primary: number | null;
    secondary: number | null;
  }

  export interface ILogEntry {
    id: number;
    time: number;
    level: string;
    kind: string;
    target: string | null;
    from_account: string | null;
    to_account: string | null;
    reason: string | null;
    message: string;
  }

  export interface ISkill {
    name: string;
    description: string;
    path?: string;
    scope?: string;
  }

  export interface IModelInfo {
    id: string;
    label: string;
    efforts: string[];
  }

  export interface ISignIn {
    id: string;
    status: 'pending' | 'completed' | 'failed' | 'cancelled' | string;
    verification_url?: string;
    user_code?: string;
    expires_at?: number;
    account?: IAccount;
    error?: string;
  }

  /** A queued turn (`codex/api/jobs`, docs/automation.md). */
  export interface IJob {
    id: string;
    session_id: string;
    text: string;
    state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
    attempts: number;
    max_attempts: number;
    dedupe_key: string | null;
    not_before: number | null;
    created_at: number;
    started_at: number | null;
    finished_at: number | null;
    result: {
      turn_id?: string | null;
      text?: string | null;
      usage?: any;
    } | null;
    error: { reason?: string; message?: string } | null;
    submitted_by: string | null;
    next_attempt_at?: number | null;
  }

  /** Visible state of the event WebSocket. */
  export type ConnectionState = 'connecting' | 'connected' | 'disconnected';
}
