"""Typed workspace events (the envelope and payloads of ``docs/websocket.md``).

Every event parses into an :class:`Event`; the common types get their own
subclass with a typed ``data`` (``isinstance(ev, AssistantDelta)`` then
``ev.data.delta``). Unknown types and unknown keys are kept, never rejected:
a newer server must not break an older client.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Data(BaseModel):
    """Base of payloads: missing keys are ``None``, unknown keys are kept."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class Event(BaseModel):
    """One event of a session's log (``seq`` grows by one per event, from 1).

    Subclasses narrow ``data`` to a typed payload; other types keep the raw dict.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    seq: int
    session_id: str | None = None
    type: str
    time: float = 0.0
    turn_id: str | None = None
    item_id: str | None = None
    data: Any = Field(default_factory=dict)


class GenericEvent(Event):
    """An event type without a typed payload (``data`` is the raw dict)."""

    data: dict[str, Any] = Field(default_factory=dict)


# -- payloads ------------------------------------------------------------------


class ErrorInfo(_Data):
    message: str = ""
    code: str | None = None
    http_status: int | None = None
    details: Any = None


class TurnStartedData(_Data):
    started_at: float | None = None


class TurnCompletedData(_Data):
    status: str = "completed"
    error: ErrorInfo | None = None
    duration_ms: int | None = None
    completed_at: float | None = None


class TextData(_Data):
    text: str = ""
    phase: str | None = None


class DeltaData(_Data):
    delta: str = ""


class UserMessageData(_Data):
    text: str = ""
    images: list[dict[str, Any]] = Field(default_factory=list)
    inputs: list[dict[str, Any]] = Field(default_factory=list)


class ReasoningDeltaData(_Data):
    delta: str = ""
    raw: bool = False
    index: int | None = None


class ReasoningSummaryData(_Data):
    summary: list[str] = Field(default_factory=list)
    content: list[str] = Field(default_factory=list)


class CommandData(_Data):
    command: str = ""
    cwd: str | None = None
    status: str | None = None
    exit_code: int | None = None
    output: str | None = None
    truncated: bool = False
    duration_ms: int | None = None


class CommandOutputData(_Data):
    delta: str = ""
    truncated: bool = False


class FileChangeData(_Data):
    changes: list[dict[str, Any]] = Field(default_factory=list)
    status: str | None = None


class ToolCallData(_Data):
    kind: str = "dynamic"
    server: str | None = None
    namespace: str | None = None
    tool: str = ""
    arguments: Any = None
    result: Any = None
    error: ErrorInfo | None = None
    status: str | None = None
    duration_ms: int | None = None
    success: bool | None = None


class TokenCounts(_Data):
    input: int | None = None
    cached_input: int | None = None
    cache_write_input: int | None = None
    output: int | None = None
    reasoning_output: int | None = None
    total: int | None = None


class TokenUsageData(_Data):
    """Token counts after a model response: ``last`` response and thread ``total``."""

    last: TokenCounts | None = None
    total: TokenCounts | None = None
    context_window: int | None = None


class QuestionOption(_Data):
    """One choice of a :class:`Question`."""

    label: str = ""
    description: str = ""


class Question(_Data):
    """One question of a ``user_input`` request: pick an option's ``label``, or (when
    ``is_other`` or there are no options) answer with free text. ``is_secret``: a
    password-like answer, to be typed masked and never echoed."""

    id: str
    header: str = ""
    question: str = ""
    options: list[QuestionOption] | None = None
    is_other: bool = False
    is_secret: bool = False


class ElicitationForm(_Data):
    """What an MCP server's ``elicitation`` asks: a ``message`` and a JSON-schema form
    (``json_schema``; the wire name is ``schema``) to fill in, or a ``url`` to visit."""

    model_config = ConfigDict(extra="allow", defer_build=True, populate_by_name=True)

    server: str | None = None
    mode: str = "form"
    message: str = ""
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    url: str | None = None


class ApprovalData(_Data):
    """A pending approval (also what ``approvals()`` lists).

    ``kind`` is ``command``, ``file_change``, ``permissions``, ``user_input`` (answer the
    ``questions``) or ``elicitation`` (fill the ``form``)."""

    id: str
    session_id: str | None = None
    kind: str = "command"
    method: str | None = None
    turn_id: str | None = None
    item_id: str | None = None
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    changes: list[dict[str, Any]] | None = None
    questions: list[Question] | None = None
    form: ElicitationForm | None = None
    thread_id: str | None = None
    created_at: float | None = None
    expires_at: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class ApprovalResolvedData(_Data):
    id: str = ""
    decision: str = ""
    by: str | None = None


class ErrorData(ErrorInfo):
    will_retry: bool = False


class PlanData(_Data):
    explanation: str | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)


class ThreadStatusData(_Data):
    status: str | None = None
    active_flags: list[str] = Field(default_factory=list)


# -- typed events ----------------------------------------------------------------


class TurnStarted(Event):
    """``turn.started``."""

    data: TurnStartedData


class TurnCompleted(Event):
    """``turn.completed``: status ``completed``, ``interrupted`` or ``failed``."""

    data: TurnCompletedData


class UserMessage(Event):
    """``user.message``."""

    data: UserMessageData


class AssistantDelta(Event):
    """``assistant.delta``: a piece of the reply."""

    data: DeltaData


class AssistantMessage(Event):
    """``assistant.message``: the final text of an agent message."""

    data: TextData


class ReasoningDelta(Event):
    """``reasoning.delta``."""

    data: ReasoningDeltaData


class ReasoningSummary(Event):
    """``reasoning.summary``."""

    data: ReasoningSummaryData


class CommandStarted(Event):
    """``command.started``."""

    data: CommandData


class CommandOutput(Event):
    """``command.output``."""

    data: CommandOutputData


class CommandCompleted(Event):
    """``command.completed``."""

    data: CommandData


class FileChange(Event):
    """``file_change.started`` / ``.updated`` / ``.completed``."""

    data: FileChangeData


class ToolCallStarted(Event):
    """``tool_call.started``."""

    data: ToolCallData


class ToolCallCompleted(Event):
    """``tool_call.completed``."""

    data: ToolCallData


class TokenUsage(Event):
    """``token_usage``."""

    data: TokenUsageData


class ApprovalRequested(Event):
    """``approval.requested``: answer it with ``decide()`` (or ``on_approval``)."""

    data: ApprovalData


class ApprovalResolved(Event):
    """``approval.resolved``."""

    data: ApprovalResolvedData


class ErrorEvent(Event):
    """``error``: ``will_retry`` tells whether codex is retrying."""

    data: ErrorData


class PlanUpdated(Event):
    """``plan.updated``."""

    data: PlanData


class ThreadStatus(Event):
    """``thread.status``."""

    data: ThreadStatusData


EVENT_CLASSES: dict[str, type[Event]] = {
    "turn.started": TurnStarted,
    "turn.completed": TurnCompleted,
    "user.message": UserMessage,
    "assistant.delta": AssistantDelta,
    "assistant.message": AssistantMessage,
    "reasoning.delta": ReasoningDelta,
    "reasoning.summary": ReasoningSummary,
    "command.started": CommandStarted,
    "command.output": CommandOutput,
    "command.completed": CommandCompleted,
    "file_change.started": FileChange,
    "file_change.updated": FileChange,
    "file_change.completed": FileChange,
    "tool_call.started": ToolCallStarted,
    "tool_call.completed": ToolCallCompleted,
    "token_usage": TokenUsage,
    "approval.requested": ApprovalRequested,
    "approval.resolved": ApprovalResolved,
    "error": ErrorEvent,
    "plan.updated": PlanUpdated,
    "thread.status": ThreadStatus,
}


def parse_event(raw: dict[str, Any]) -> Event:
    """The typed event for one envelope (a :class:`GenericEvent` for other types)."""
    cls = EVENT_CLASSES.get(str(raw.get("type")), GenericEvent)
    return cls.model_validate(raw)


__all__ = [
    "EVENT_CLASSES",
    "ApprovalData",
    "ApprovalRequested",
    "ApprovalResolved",
    "AssistantDelta",
    "AssistantMessage",
    "CommandCompleted",
    "CommandOutput",
    "CommandStarted",
    "ElicitationForm",
    "ErrorEvent",
    "ErrorInfo",
    "Event",
    "FileChange",
    "GenericEvent",
    "PlanUpdated",
    "Question",
    "QuestionOption",
    "ReasoningDelta",
    "ReasoningSummary",
    "ThreadStatus",
    "TokenCounts",
    "TokenUsage",
    "TokenUsageData",
    "ToolCallCompleted",
    "ToolCallData",
    "ToolCallStarted",
    "TurnCompleted",
    "TurnStarted",
    "UserMessage",
    "parse_event",
]
