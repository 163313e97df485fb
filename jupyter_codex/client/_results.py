"""Plain result models of the client: a finished turn, the server status, usage rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..models import UsageSnapshot
from ._events import (
    AssistantDelta,
    AssistantMessage,
    ErrorInfo,
    Event,
    TokenUsage,
    TokenUsageData,
    TurnCompleted,
)

#: Event types that finish an item of a turn (what ``TurnResult.items`` holds).
ITEM_TYPES = frozenset(
    {
        "user.message",
        "assistant.message",
        "reasoning.summary",
        "command.completed",
        "file_change.completed",
        "tool_call.completed",
        "plan.updated",
        "plan.proposed",
        "item.completed",
    }
)


@dataclass
class TurnResult:
    """What ``send_and_wait`` returns once the turn has ended.

    ``text`` is the final assistant reply; ``status`` is ``completed``,
    ``interrupted`` or ``failed`` (then ``error`` says why). ``items`` are the
    events that finished an item (messages, commands, file changes, tool calls),
    ``events`` every event of the turn, typed.
    """

    session_id: str
    turn_id: str | None = None
    status: str = "completed"
    text: str = ""
    items: list[Event] = field(default_factory=list)
    usage: TokenUsageData | None = None
    error: ErrorInfo | None = None
    events: list[Event] = field(default_factory=list)
    #: The server's answer to the message (slash commands answer here, without a turn).
    response: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_events(
        cls, session_id: str, turn_id: str | None, events: list[Event], response: Any
    ) -> TurnResult:
        """Fold one turn's events into a result."""
        deltas: list[str] = []
        messages: list[AssistantMessage] = []
        result = cls(session_id, turn_id, events=list(events), response=dict(response or {}))
        for event in events:
            if isinstance(event, AssistantDelta):
                deltas.append(event.data.delta)
            elif isinstance(event, AssistantMessage):
                messages.append(event)
                deltas.clear()
            elif isinstance(event, TokenUsage):
                result.usage = event.data
            elif isinstance(event, TurnCompleted):
                result.status, result.error = event.data.status, event.data.error
                result.turn_id = result.turn_id or event.turn_id
            if event.type in ITEM_TYPES:
                result.items.append(event)
        finals = [m for m in messages if m.data.phase == "final_answer"]
        if finals or messages:
            result.text = (finals or messages)[-1].data.text
        else:
            result.text = "".join(deltas)
        return result


class ServerStatus(BaseModel):
    """``GET codex/api/status``: versions, each target's app-server, counts."""

    model_config = ConfigDict(extra="allow")

    version: str = ""
    data_dir: str | None = None
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sessions: dict[str, int] = Field(default_factory=dict)
    pending_approvals: int = 0


class AccountUsage(BaseModel):
    """One account's last known usage (``usage()``)."""

    model_config = ConfigDict(extra="allow")

    id: str
    label: str = ""
    usage: UsageSnapshot | None = None


__all__ = ["ITEM_TYPES", "AccountUsage", "ServerStatus", "TurnResult"]
