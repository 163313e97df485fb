"""Serve a client's tools over the events WebSocket.

The host keeps one socket open while any session has tools registered, tells
the server which sessions' tools it serves (``register_tools``), runs each
``tool_call`` the server forwards, and answers with ``tool_result``. After a
dropped connection it reconnects and registers again; the server holds a call
for a while so a quick reconnect still answers it.

While a tool runs, :func:`report_progress` (callable from the tool's own code, on
any thread) sends ``tool_progress`` messages that the session's timeline shows as
``tool_call.progress``; they all reach the server before the call's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection

from ..errors import CodexError, ServerUnreachableError
from ._http import HttpTransport
from ._progress import RunningCall, running_call
from ._stream import RETRYABLE, Backoff, open_socket, ws_error
from ._tools import Tool

log = logging.getLogger("jupyter_codex.kernel")


class ToolHost:
    """Runs the tools of one client's sessions when the model calls them."""

    def __init__(self, transport: HttpTransport, *, reconnect_timeout: float = 3600.0) -> None:
        self._transport = transport
        self._reconnect_timeout = reconnect_timeout
        self._tools: dict[str, dict[str, Tool]] = {}
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._calls: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._failure: BaseException | None = None
        self._progress_lock = asyncio.Lock()

    @property
    def sessions(self) -> dict[str, list[str]]:
        """Session id → names of the tools this host serves."""
        return {sid: sorted(tools) for sid, tools in self._tools.items()}

    async def register(self, session_id: str, tools: list[Tool], timeout: float = 30.0) -> None:
        """Serve ``tools`` for ``session_id`` (replacing earlier ones) and wait for the
        server's acknowledgement."""
        self._tools[session_id] = {t.name: t for t in tools}
        self._ensure_running()
        await self._wait_connected(timeout)
        await self._request(
            {
                "type": "register_tools",
                "session_id": session_id,
                "tools": sorted(self._tools[session_id]),
            },
            timeout,
        )

    async def _wait_connected(self, timeout: float) -> None:
        """Wait for the socket; raise at once if the runner gave up (e.g. a 403)."""
        connected = asyncio.ensure_future(self._connected.wait())
        runner = self._runner
        assert runner is not None
        try:
            await asyncio.wait(
                {connected, runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            connected.cancel()
        if self._connected.is_set():
            return
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        raise ServerUnreachableError(
            f"Could not open the tool connection to {self._transport.info.url} in {timeout:g} s."
        )

    async def unregister(self, session_id: str) -> None:
        """Stop serving a session's tools."""
        if self._tools.pop(session_id, None) is not None and self._ws is not None:
            with contextlib.suppress(*RETRYABLE):
                await self._ws.send(
                    json.dumps({"type": "unregister_tools", "session_id": session_id})
                )

    async def aclose(self) -> None:
        """Close the socket and cancel running tool calls."""
        self._tools.clear()
        tasks = [*self._calls.values()]
        if self._runner is not None:
            tasks.append(self._runner)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._runner = None

    # -- connection ------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="jupyter-codex-tools")

    async def _run(self) -> None:
        backoff = Backoff(self._reconnect_timeout)
        server = self._transport.info.url
        while self._tools:
            try:
                ws = await open_socket(self._transport)
            except RETRYABLE as e:
                await backoff.wait(e, server)
                continue
            except CodexError as e:
                self._fail_waiters(e)
                self._failure = e
                return
            self._ws = ws
            try:
                for session_id, tools in list(self._tools.items()):
                    message = {
                        "type": "register_tools",
                        "session_id": session_id,
                        "tools": sorted(tools),
                    }
                    await ws.send(json.dumps(message))
                self._connected.set()
                async for raw in ws:
                    backoff.reset()
                    self._dispatch(json.loads(raw))
            except RETRYABLE as e:
                log.debug("Tool connection lost: %s", e)
            finally:
                self._connected.clear()
                self._ws = None
                await ws.close()
            self._fail_waiters(ConnectionError("the connection to the server was lost"))
            await backoff.wait(ConnectionError("connection closed"), server)

    async def _request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        request_id = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[request_id] = future
        try:
            assert self._ws is not None
            await self._ws.send(json.dumps({**message, "id": request_id}))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.pop(request_id, None)

    def _fail_waiters(self, error: BaseException) -> None:
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(error)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "tool_call":
            call_id = str(message.get("call_id"))
            task = asyncio.create_task(
                self._run_call(message), name=f"jupyter-codex-tool-{call_id}"
            )
            self._calls[call_id] = task
            task.add_done_callback(lambda _t: self._calls.pop(call_id, None))
        elif kind == "tool_call_cancelled":
            running = self._calls.get(str(message.get("call_id")))
            if running is not None:
                running.cancel()
        elif kind in ("tools_registered", "tools_unregistered", "error"):
            request = message.get("request") if kind == "error" else message
            request_id = request.get("id") if isinstance(request, dict) else None
            future = self._waiters.get(str(request_id)) if request_id is not None else None
            if future is not None and not future.done():
                if kind == "error":
                    future.set_exception(ws_error(message, self._transport.info.url))
                else:
                    future.set_result(message)
            elif kind == "error":
                log.warning("jupyter-codex server: %s", (message.get("error") or {}).get("message"))

    async def send_progress(self, call_id: str, message: str) -> None:
        """Send one ``tool_progress`` message for a call this host runs (best effort)."""
        async with self._progress_lock:  # one at a time: they arrive in order
            ws = self._ws
            if ws is not None:
                report = {"type": "tool_progress", "call_id": call_id, "message": message}
                with contextlib.suppress(*RETRYABLE):
                    await ws.send(json.dumps(report))

    async def _run_call(self, message: dict[str, Any]) -> None:
        running = RunningCall(self, str(message.get("call_id")), asyncio.get_running_loop())
        running_call.set(running)  # this task's own context (create_task copied it)
        session_tools = self._tools.get(str(message.get("session_id")), {})
        tool = session_tools.get(str(message.get("tool")))
        if tool is None:
            success, items = (
                False,
                [
                    {
                        "type": "inputText",
                        "text": f"Tool {message.get('tool')!r} is not served here.",
                    }
                ],
            )
        else:
            success, items = await tool.invoke(message.get("arguments"))
        for sent in running.sent:  # every progress message goes out before the result
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(sent)
        reply = {
            "type": "tool_result",
            "call_id": message.get("call_id"),
            "success": success,
            "content_items": items,
        }
        # After a dropped connection the server still accepts the result for a while.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 60.0)
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(*RETRYABLE):
                await ws.send(json.dumps(reply))


__all__ = ["ToolHost"]
