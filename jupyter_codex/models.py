"""Pydantic models shared across layers: HTTP bodies, stored rows, event envelopes.

Request bodies ignore unknown fields (clients evolve faster than servers) but
validate every field they know. Response models are plain data: ``model_dump``
of one is what the REST API returns.

Why this module is long: the pydantic models of every edge (REST bodies, sessions,
events, approvals, accounts, jobs) in one module that every layer may import.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

ApprovalPolicy = Literal["on-request", "never", "untrusted"]
SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
Decision = Literal["accept", "acceptForSession", "decline", "cancel"]
Target = Literal["api", "cli"]
#: Every target, in the type's order: iterate this, never spell the names out.
TARGETS: tuple[Target, ...] = get_args(Target)


class _Model(BaseModel):
    """Base of every model: schemas are built on first use, not at import, which
    keeps Jupyter's start-up fast (the extension is imported when the server starts)."""

    model_config = ConfigDict(defer_build=True)


class _Body(_Model):
    """Base of request bodies: unknown fields are ignored, known ones validated."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)


class ToolSpec(_Body):
    """A client-side tool declared on a new session's thread (a codex dynamic tool)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = Field(default="", max_length=20_000)
    #: JSON Schema of the arguments object.
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


class SessionCreate(_Body):
    """``POST codex/api/sessions``."""

    cwd: str = ""
    model: str | None = None
    effort: ReasoningEffort | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox: SandboxMode | None = None
    #: Whether sandboxed commands may use the network (default: the server's default, off).
    network_access: bool | None = None
    title: str | None = Field(default=None, max_length=200)
    #: Tools a client serves over the events WebSocket (``register_tools``).
    tools: list[ToolSpec] | None = Field(default=None, max_length=128)
    #: A notebook (path under the root) the session works on with ``notebook_*`` tools.
    notebook: str | None = Field(default=None, min_length=1, max_length=4096)


class InlineEditRequest(_Body):
    """``POST codex/api/inline/edit``: Codex rewrites a cell or a selection."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, defer_build=True)

    #: The notebook or file (path under the root) the code is in.
    path: str = Field(min_length=1, max_length=4096)
    #: The cell's (or file's) whole text.
    source: str = Field(max_length=200_000)
    #: The selected range of ``source`` to rewrite (character offsets); none: all of it.
    selection_start: int | None = Field(default=None, ge=0)
    selection_end: int | None = Field(default=None, ge=0)
    instruction: str = Field(min_length=1, max_length=10_000)
    language: str = Field(default="", max_length=64)
    #: Refine: continue the session of an earlier proposal.
    session_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class InlineCompletionRequest(_Body):
    """``POST codex/api/inline/complete``: the text at the cursor (ghost text)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, defer_build=True)

    prefix: str = Field(max_length=100_000)
    suffix: str = Field(default="", max_length=100_000)
    language: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=4096)
    #: The fast model and effort of the settings; empty: the catalog's first model.
    model: str = Field(default="", max_length=200)
    effort: ReasoningEffort | None = None


class SessionUpdate(_Body):
    """``PATCH codex/api/sessions/{id}``: rename, archive, change defaults."""

    title: str | None = Field(default=None, max_length=200)
    archived: bool | None = None
    model: str | None = None
    effort: ReasoningEffort | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox: SandboxMode | None = None
    network_access: bool | None = None


class MessageCreate(_Body):
    """``POST codex/api/sessions/{id}/messages``."""

    text: str = Field(min_length=1, max_length=1_000_000)
    #: ``"queue"``: while a turn runs, queue the message as a job (202 ``{"job_id"}``)
    #: instead of the 409.
    when_busy: Literal["reject", "queue"] = "reject"

    #: Ids of images uploaded with ``POST …/images``, sent with the text.
    images: list[str] | None = Field(default=None, max_length=16)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class JobCreate(_Body):
    """``POST codex/api/jobs``: run ``text`` as a turn, later or again (docs/automation.md)."""

    text: str = Field(min_length=1, max_length=1_000_000)
    session_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    #: Folder of a new session when no ``session_id`` is given.
    cwd: str | None = None
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=200)
    max_attempts: int = 1
    #: Unix time before which the job does not start (past: now).
    not_before: float | None = None
    #: Ids of images uploaded to ``session_id`` (``POST sessions/{id}/images``), sent
    #: with the turn.
    images: list[str] | None = Field(default=None, max_length=16)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Job(_Model):
    """A queued turn (``codex/api/jobs``), stored in SQLite."""

    id: str
    session_id: str
    text: str
    state: JobState
    attempts: int = 0
    max_attempts: int = 1
    dedupe_key: str | None = None
    not_before: float | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    #: ``{"turn_id", "text", "usage"}`` of the successful turn.
    result: dict[str, Any] | None = None
    #: ``{"reason", "message", ...}`` of the last failure.
    error: dict[str, Any] | None = None
    #: Who submitted it: ``None`` (a person) or ``"extension:<name>"``.
    submitted_by: str | None = None
    #: When a queued job may start next (``not_before`` or a retry's backoff).
    next_attempt_at: float | None = None
    #: Ids of the session's uploaded images sent with the turn.
    images: list[str] | None = None


class ForkRequest(_Body):
    """``POST codex/api/sessions/{id}/fork``."""

    #: Fork through this turn (inclusive); default: the whole conversation.
    turn_id: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=200)


class ImageUpload(_Body):
    """``POST codex/api/sessions/{id}/images``: one image, base64 (a data: URL is fine)."""

    data: str = Field(min_length=1)


class StopRequest(_Body):
    """``POST codex/api/sessions/{id}/stop``."""

    force: bool = False


class ReviewStart(_Body):
    """``POST codex/api/sessions/{id}/review``: what codex reviews (``review/start``)."""

    #: Review the changes against this branch or ref (``baseBranch``).
    base: str | None = Field(default=None, min_length=1, max_length=200)
    #: Review one commit (``commit``).
    commit: str | None = Field(default=None, pattern=r"^[0-9A-Za-z._/-]{4,100}$")
    #: Free instructions (``custom``); with ``base``, they say what to look at.
    instructions: str | None = Field(default=None, min_length=1, max_length=20_000)

    def target(self) -> dict[str, Any]:
        """The app-server's review target (the uncommitted changes when nothing is set)."""
        if self.base and self.instructions:
            return {
                "type": "custom",
                "instructions": f"Review the changes of this branch against {self.base} "
                f"(`git diff {self.base}...HEAD` plus any uncommitted changes). "
                f"{self.instructions}",
            }
        if self.base:
            return {"type": "baseBranch", "branch": self.base}
        if self.commit:
            return {"type": "commit", "sha": self.commit}
        if self.instructions:
            return {"type": "custom", "instructions": self.instructions}
        return {"type": "uncommittedChanges"}


class ToolCallResponse(_Body):
    """``POST codex/api/tool-calls/{id}/response``: a polling client's tool result."""

    success: bool = True
    #: ``[{"type": "inputText", "text"}, {"type": "inputImage", "imageUrl"}]``; or ``text``.
    content_items: list[dict[str, Any]] | None = Field(default=None, max_length=1000)
    text: str | None = None


class CellChange(_Model):
    """A cell a client-served ``notebook_*`` edit changed (``notebook.cell_changed``)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    action: Literal["inserted", "edited", "deleted", "moved"]
    cell_id: str = Field(min_length=1, max_length=200)
    index: int = Field(ge=0)
    source_before: str | None = None
    source_after: str | None = None


class ToolProgress(_Model):
    """Progress of a tool call a client runs (``tool_progress`` on the events socket, or
    ``POST codex/api/tool-calls/{id}/progress``): exactly one of ``message`` (any tool),
    ``output`` (one nbformat output of a ``notebook_run_cell``) or ``cell_change`` (what a
    ``notebook_*`` edit did). Sources are kept as sent (no whitespace stripping)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    message: str | None = Field(default=None, max_length=10_000)
    output: dict[str, Any] | None = None
    cell_change: CellChange | None = None


class ApprovalDecision(_Body):
    """``POST codex/api/approvals/{id}``."""

    decision: Decision
    #: For user-input requests: question id → chosen answers (one string or a list).
    answers: dict[str, list[str] | str] | None = None
    #: For MCP elicitations: the form content.
    content: dict[str, Any] | None = None


class Session(_Model):
    """A persistent workspace session (one Codex thread)."""

    id: str
    thread_id: str | None = None
    target: Target = "cli"
    cwd: str
    title: str
    model: str | None = None
    effort: str | None = None
    approval_policy: str
    sandbox: str
    network_access: bool = False
    archived: bool = False
    created_at: float
    updated_at: float
    last_seq: int = 0
    #: Client-side tools its thread was declared with (``dynamicTools``); None: none.
    tools: list[ToolSpec] | None = None
    #: The notebook a notebook session works on (relative to the root), or None.
    notebook: str | None = None
    #: ``"extension:<name>"`` for a system-owned session (hidden from the default list).
    owner: str | None = None
    #: Live state, not stored: ``idle``, ``running`` or ``waiting_approval``.
    state: str = "idle"
    active_turn_id: str | None = None


class Event(_Model):
    """The event envelope every client sees (REST replay and WebSocket).

    ``seq`` is per session, starts at 1 and never repeats or changes, also
    across server restarts. ``data`` holds the type-specific payload
    (documented in ``docs/websocket.md``).
    """

    seq: int
    session_id: str
    type: str
    time: float
    turn_id: str | None = None
    item_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Approval(_Model):
    """A pending request from the agent that waits for a human decision."""

    id: str
    session_id: str
    kind: Literal[
        "command", "file_change", "permissions", "user_input", "elicitation", "notebook_run"
    ]
    method: str
    turn_id: str | None = None
    item_id: str | None = None
    created_at: float
    expires_at: float
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    changes: list[dict[str, Any]] | None = None
    #: ``user_input``: the questions, each ``{"id", "header", "question", "options":
    #: [{"label", "description"}] | None, "is_other", "is_secret"}``.
    questions: list[dict[str, Any]] | None = None
    #: ``elicitation``: ``{"server", "mode", "message", "schema", "url"}`` (``schema``: the
    #: JSON-schema of the form an ``accept`` answers with ``content``).
    form: dict[str, Any] | None = None
    #: The Codex thread that asked: a subagent's own thread when it is not the session's.
    thread_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


# -- accounts and usage -------------------------------------------------------

AccountKind = Literal["chatgpt", "api_key"]
AccountStatus = Literal["active", "disabled", "quarantined"]
StrategyName = Literal["manual", "round_robin", "per_request"]


class UsageSnapshot(_Model):
    """Last known usage of one account (both windows), from a poll or live headers.

    ``*_used_percent`` is 0-100; remaining = 100 - used. Integers or floats are
    accepted from upstream; a failed poll never overwrites these with zeros.
    """

    primary_used_percent: float | None = None
    secondary_used_percent: float | None = None
    primary_window_minutes: int | None = None
    secondary_window_minutes: int | None = None
    primary_resets_at: float | None = None
    secondary_resets_at: float | None = None
    allowed: bool = True
    limit_reached: bool = False
    plan_type: str | None = None
    fetched_at: float | None = None
    source: Literal["poll", "headers", "app_server"] = "poll"
    error_count: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


class Account(_Model):
    """A ChatGPT account or an API key, as every client sees it (never any secret)."""

    id: str
    label: str
    email: str | None = None
    kind: AccountKind
    chatgpt_account_id: str | None = None
    plan: str | None = None
    status: AccountStatus = "active"
    status_reason: str | None = None
    created_at: float
    updated_at: float
    last_refresh: float | None = None
    access_expires_at: float | None = None
    active_targets: list[Target] = Field(default_factory=list)
    usage: UsageSnapshot | None = None


class TargetState(_Model):
    """Which account a target uses and how it picks the next one."""

    name: Target
    account_id: str | None = None
    strategy: StrategyName = "manual"
    threshold_percent: float = 15.0
    rotation_seconds: float = 300.0
    switched_at: float | None = None
    #: Accounts signed out of this target (``accounts logout``): never picked for it
    #: until chosen again by hand.
    signed_out: list[str] = Field(default_factory=list)


class SystemLogEntry(_Model):
    """One line of the system log: switches, alerts, refresh errors, quarantines."""

    id: int
    time: float
    level: Literal["info", "warning", "error"]
    kind: str
    target: str | None = None
    from_account: str | None = None
    to_account: str | None = None
    reason: str | None = None
    message: str


# -- account request bodies ---------------------------------------------------


class AccountImport(_Body):
    """``POST codex/api/accounts/import``: an uploaded auth.json, a path under the
    server's root, or neither (the server user's ``~/.codex/auth.json``)."""

    auth_json: dict[str, Any] | None = None
    path: str | None = None
    label: str | None = Field(default=None, max_length=100)


class ApiKeyCreate(_Body):
    """``POST codex/api/accounts/api-key``."""

    api_key: str = Field(min_length=1, max_length=500)
    label: str | None = Field(default=None, max_length=100)


class AccountUpdate(_Body):
    """``PATCH codex/api/accounts/{id}``."""

    label: str | None = Field(default=None, max_length=100)
    enabled: bool | None = None


class DeviceLoginStart(_Body):
    """``POST codex/api/accounts/login``: ``device`` (default; works remotely) or
    ``browser`` (the browser must run on the server's machine)."""

    flow: Literal["device", "browser"] = "device"
    label: str | None = Field(default=None, max_length=100)


class TargetUpdate(_Body):
    """``PATCH codex/api/targets/{name}``: switch the account and/or the strategy."""

    account_id: str | None = None
    strategy: StrategyName | None = None
    threshold_percent: float | None = Field(default=None, ge=0, le=100)
    rotation_seconds: float | None = Field(default=None, ge=10)
