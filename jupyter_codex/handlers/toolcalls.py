"""Dynamic-tool calls by polling: list the pending ones, answer one (``workspace/tools.py``)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import ToolCallResponse, ToolProgress
from .base import CodexAPIHandler


class ToolCallsHandler(CodexAPIHandler):
    """``GET codex/api/tool-calls[?session_id=]``: calls no connected client serves."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        session_id = self.get_argument("session_id", None)
        self.write_json({"tool_calls": self.workspace.tools.pending(session_id)})


class ToolCallResponseHandler(CodexAPIHandler):
    """``POST codex/api/tool-calls/{id}/response``: the result of one pending call."""

    @web.authenticated
    @authorized
    async def post(self, call_id: str) -> None:
        body = self.parse_body(ToolCallResponse)
        self.workspace.tools.answer(call_id, body.model_dump(exclude_none=True))
        self.write_json({"call_id": call_id, "accepted": True})


class ToolCallProgressHandler(CodexAPIHandler):
    """``POST codex/api/tool-calls/{id}/progress``: progress of a pending call (a polling
    client's ``tool_progress``: a message, a run's output or a notebook cell change)."""

    @web.authenticated
    @authorized
    async def post(self, call_id: str) -> None:
        body = self.parse_body(ToolProgress)
        await self.workspace.tools.progress(call_id, body, None)
        self.write_json({"call_id": call_id, "accepted": True})


def tool_call_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the polling tool-call routes."""
    return [
        (r"codex/api/tool-calls", ToolCallsHandler),
        (
            r"codex/api/tool-calls/(?P<call_id>[A-Za-z0-9_.:-]{1,200})/response",
            ToolCallResponseHandler,
        ),
        (
            r"codex/api/tool-calls/(?P<call_id>[A-Za-z0-9_.:-]{1,200})/progress",
            ToolCallProgressHandler,
        ),
    ]


__all__ = ["tool_call_handlers"]
