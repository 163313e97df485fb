"""The workspace: persistent Codex sessions, their event log, approvals and commands."""

from .eventlog import ALL_SESSIONS, EventBroker, EventLog
from .manager import WorkspaceManager

__all__ = ["ALL_SESSIONS", "EventBroker", "EventLog", "WorkspaceManager"]
