"""Serve a client's tools by polling, as an alternative to the WebSocket tool host.

For clients that cannot keep a socket open (a CI job behind a proxy that cuts
long connections, a cron script): the server holds each dynamic-tool call that
no connected client serves (for ``ToolRouter.client_timeout``); this host lists
those calls (``GET codex/api/tool-calls``), runs the ones whose tool it serves,
and answers each (``POST codex/api/tool-calls/{id}/response``). A tool's
:func:`~jupyter_codex.client.report_progress` goes to
``POST codex/api/tool-calls/{id}/progress``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import CodexError, NotFoundError
from ._http import HttpTransport
from ._progress import RunningCall, running_call
from ._tools import Tool

log = logging.getLogger("jupyter_codex.kernel")


class PollingToolHost:
    """Runs the tools of one client's sessions, found by polling every ``interval`` s."""

    def __init__(self, transport: HttpTransport, *, interval: float = 0.5) -> None:
        self._transport = transport
        self.interval = interval
        self._tools: dict[str, dict[str, Tool]] = {}
        self._running: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._progress_lock = asyncio.Lock()

    @property
    def sessions(self) -> dict[str, list[str]]:
        """Session id → names of the tools this host serves."""
        return {sid: sorted(tools) for sid, tools in self._tools.items()}

    def register(self, session_id: str, tools: list[Tool]) -> None:
        """Serve ``tools`` for ``session_id`` (replacing earlier ones) from now on."""
        self._tools[session_id] = {t.name: t for t in tools}
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="jupyter-codex-tool-poll")

    def unregister(self, session_id: str) -> None:
        """Stop serving a session's tools."""
        self._tools.pop(session_id, None)

    async def aclose(self) -> None:
        """Stop polling."""
        self._tools.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(
        self,
        tools: Mapping[str, Mapping[str, Tool]] | None = None,
        session_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Answer every pending call whose tool is served (``tools``: session id → name →
        tool, ``"*"`` for any session; default: the registered ones). Returns the calls
        answered, each with its ``success``."""
        served = self._tools if tools is None else tools
        params = {"session_id": session_id} if session_id else None
        answer = await self._transport.request("GET", "tool-calls", params=params)
        calls = [c for c in (answer or {}).get("tool_calls", []) if isinstance(c, dict)]
        todo: list[tuple[dict[str, Any], Tool]] = []
        for call in calls:
            by_name = served.get(str(call.get("session_id"))) or served.get("*") or {}
            tool = by_name.get(str(call.get("tool")))
            if tool is not None and str(call.get("call_id")) not in self._running:
                todo.append((call, tool))
        done = await asyncio.gather(*(self._answer(call, tool) for call, tool in todo))
        return [c for c in done if c is not None]

    async def _answer(self, call: dict[str, Any], tool: Tool) -> dict[str, Any] | None:
        call_id = str(call.get("call_id"))
        self._running.add(call_id)
        running = RunningCall(self, call_id, asyncio.get_running_loop())
        running_call.set(running)  # this task's own context (gather made the task)
        try:
            success, items = await tool.invoke(call.get("arguments"))
            for sent in running.sent:  # every progress report goes before the result
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(sent)
            body = {"success": success, "content_items": items}
            try:
                await self._transport.request("POST", f"tool-calls/{call_id}/response", body=body)
            except NotFoundError:  # answered elsewhere, or it timed out meanwhile
                return None
            return {**call, "success": success}
        finally:
            self._running.discard(call_id)

    async def send_progress(self, call_id: str, message: str) -> None:
        """Post one progress message of a call this host runs (best effort)."""
        async with self._progress_lock:  # one at a time: they arrive in order
            try:
                await self._transport.request(
                    "POST", f"tool-calls/{call_id}/progress", body={"message": message}
                )
            except CodexError as e:
                log.debug("A tool's progress report was not taken: %s", e)

    async def _run(self) -> None:
        while self._tools:
            try:
                await self.drain()
            except CodexError as e:
                log.warning("Polling for tool calls failed: %s", e)
            await asyncio.sleep(self.interval)


__all__ = ["PollingToolHost"]
