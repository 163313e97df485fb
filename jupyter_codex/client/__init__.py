"""The Python client of jupyter-codex, for notebooks, scripts and CI.

::

    from jupyter_codex.client import CodexClient, tool

    with CodexClient.from_env() as codex:        # or CodexClient(url, token)
        session = codex.create_session("proj")
        print(codex.send_and_wait(session.id, "Run the tests").text)

The library imports only the standard library, httpx, websockets, pydantic
and ``jupyter_codex.errors``/``models``: never the server, IPython or
ipywidgets (those live in ``jupyter_codex.kernel``, which re-exports every
name here). See ``docs/python-client.md``.
"""

from __future__ import annotations

from ..errors import (
    ClientError,
    CodexError,
    ConflictError,
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
    ServerNotFoundError,
    ServerUnreachableError,
    TurnTimeoutError,
)
from ..models import Account, Approval, Session, TargetState, UsageSnapshot
from ._client import ApprovalCallback, AsyncCodexClient, EventCallback
from ._discovery import ServerInfo, discover_server
from ._events import (
    ApprovalData,
    ApprovalRequested,
    ApprovalResolved,
    AssistantDelta,
    AssistantMessage,
    CommandCompleted,
    CommandOutput,
    CommandStarted,
    ErrorEvent,
    ErrorInfo,
    Event,
    FileChange,
    GenericEvent,
    PlanUpdated,
    ReasoningDelta,
    ReasoningSummary,
    ThreadStatus,
    TokenCounts,
    TokenUsage,
    TokenUsageData,
    ToolCallCompleted,
    ToolCallData,
    ToolCallStarted,
    TurnCompleted,
    TurnStarted,
    UserMessage,
    parse_event,
)
from ._progress import report_progress
from ._results import AccountUsage, ServerStatus, TurnResult
from ._sync import CodexClient
from ._tools import Tool, tool

__all__ = [
    "Account",
    "AccountUsage",
    "Approval",
    "ApprovalCallback",
    "ApprovalData",
    "ApprovalRequested",
    "ApprovalResolved",
    "AssistantDelta",
    "AssistantMessage",
    "AsyncCodexClient",
    "ClientError",
    "CodexClient",
    "CodexError",
    "CommandCompleted",
    "CommandOutput",
    "CommandStarted",
    "ConflictError",
    "ErrorEvent",
    "ErrorInfo",
    "Event",
    "EventCallback",
    "FileChange",
    "GenericEvent",
    "InvalidRequestError",
    "NotAuthorizedError",
    "NotFoundError",
    "PlanUpdated",
    "ReasoningDelta",
    "ReasoningSummary",
    "ServerInfo",
    "ServerNotFoundError",
    "ServerStatus",
    "ServerUnreachableError",
    "Session",
    "TargetState",
    "ThreadStatus",
    "TokenCounts",
    "TokenUsage",
    "TokenUsageData",
    "Tool",
    "ToolCallCompleted",
    "ToolCallData",
    "ToolCallStarted",
    "TurnCompleted",
    "TurnResult",
    "TurnStarted",
    "TurnTimeoutError",
    "UsageSnapshot",
    "UserMessage",
    "discover_server",
    "parse_event",
    "report_progress",
    "tool",
]
