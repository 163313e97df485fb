"""The live event WebSocket (``codex/api/events``); protocol in ``docs/websocket.md``.

One socket carries any number of session subscriptions. The replay-then-follow
protocol and once-per-socket delivery live in :mod:`jupyter_codex.workspace.feed`;
this handler keeps the HTTP/WebSocket concerns: authentication, frame parsing and
limits, ping, client-side tools, and error frames.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from pydantic import ValidationError
from tornado import web, websocket

from .. import __version__
from ..errors import CodexError, InvalidRequestError
from ..models import ToolProgress
from ..tasks import TaskOwner
from ..workspace.feed import EventFeed
from .base import AUTH_RESOURCE, CodexServices
from .bodies import loads_json
from .redaction import RedactedLogMixin


class EventsWebSocketHandler(
    CodexServices, RedactedLogMixin, JupyterHandler, websocket.WebSocketHandler
):
    """Live workspace events with per-session subscribe/unsubscribe and replay."""

    auth_resource = AUTH_RESOURCE

    async def pre_get(self) -> None:
        authorized = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not authorized:
            raise web.HTTPError(403)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self.pre_get()
        await self.started()
        res = super().get(*args, **kwargs)
        if res is not None:
            await res

    def get_compression_options(self) -> dict[str, Any] | None:
        # Per-message deflate: event logs compress very well; level 1 keeps the
        # per-message CPU low on the live path.
        return {"compression_level": 1}

    # -- socket lifecycle ----------------------------------------------------

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._feed = EventFeed(self.workspace, self._write)
        # One owner per socket: subscriptions and tool messages; on_close cancels them.
        self._tasks = TaskOwner("codex-events-socket", self.log)
        self._send({"type": "hello", "version": __version__, "server_time": time.time()})

    def on_close(self) -> None:
        self.workspace.tools.drop(self)
        self._feed.close()
        self._tasks.cancel()

    @property
    def max_message_size(self) -> int:
        """Largest accepted client frame (subscriptions, tool results); larger ones close
        the socket with 1009 before they are buffered."""
        return int(self.settings.get("codex_max_body_bytes", 4 * 1024 * 1024))

    def on_message(self, message: str | bytes) -> None:
        try:
            request = loads_json(message, what="The message")
            if not isinstance(request, dict):
                raise InvalidRequestError("A message must be a JSON object.")
        except InvalidRequestError as e:
            self._error("invalid_message", e.message, None)
            return
        kind = request.get("type")
        if kind == "ping":
            self._send({"type": "pong", "id": request.get("id"), "server_time": time.time()})
        elif kind == "subscribe":
            self._tasks.start_soon(self._subscribe, request)
        elif kind == "unsubscribe":
            self._unsubscribe(str(request.get("session_id")))
        elif kind in ("register_tools", "unregister_tools", "tool_result", "tool_progress"):
            self._tasks.start_soon(self._tools, kind, request)
        else:
            self._error("invalid_message", f"Unknown message type {kind!r}.", request)

    # -- subscriptions -------------------------------------------------------

    async def _subscribe(self, request: dict[str, Any]) -> None:
        session_id = request.get("session_id")
        after = request.get("after", 0)
        if (
            not isinstance(session_id, str)
            or isinstance(after, bool)
            or not isinstance(after, int)
            or after < 0
        ):
            self._error(
                "invalid_message",
                "subscribe needs 'session_id' and an integer 'after' >= 0.",
                request,
            )
            return
        try:
            last = await self._feed.subscribe(session_id, after)
        except CodexError as e:
            self._error(e.code, e.message, request)
            return
        self._send({"type": "subscribed", "session_id": session_id, "last_seq": last})

    # -- client-side tools (workspace/tools.py) -----------------------------

    async def _tools(self, kind: str, request: dict[str, Any]) -> None:
        """Serve a session's tools from this connection, or return a call's result."""
        tools = self.workspace.tools
        try:
            # Tool results steer the agent: that needs write access, not just read.
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, "write", AUTH_RESOURCE)
            )
            if not allowed:
                raise InvalidRequestError("Serving tools needs write access to codex.")
            if kind == "tool_result":
                tools.resolve(request, self)
                return
            if kind == "tool_progress":
                try:
                    progress = ToolProgress.model_validate(request)
                except ValidationError as e:
                    problems = "; ".join(
                        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                        for err in e.errors(include_input=False, include_url=False)
                    )
                    raise InvalidRequestError(f"Invalid tool_progress: {problems}") from e
                await tools.progress(str(request.get("call_id")), progress, self)
                return
            session_id = request.get("session_id")
            names = request.get("tools", [])
            if not isinstance(session_id, str) or not (
                isinstance(names, list) and all(isinstance(n, str) for n in names)
            ):
                raise InvalidRequestError(
                    f"{kind} needs 'session_id' and a list of tool names in 'tools'."
                )
            await self.workspace.get_session(session_id)
            if kind == "register_tools":
                tools.register(session_id, names, self)
                done = {"type": "tools_registered", "tools": sorted(names)}
            else:
                tools.unregister(session_id, self)
                done = {"type": "tools_unregistered"}
            self._send({**done, "session_id": session_id, "id": request.get("id")})
        except CodexError as e:
            self._error(
                e.code,
                e.message,
                {k: v for k, v in request.items() if k not in ("content_items", "output")},
            )

    def deliver(self, message: dict[str, Any]) -> None:
        """Send a tool message to this client (the router's ``ToolClient``)."""
        self._send(message)

    def _unsubscribe(self, session_id: str) -> None:
        self._feed.unsubscribe(session_id)
        self._send({"type": "unsubscribed", "session_id": session_id})

    # -- writing -------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        self._write(json.dumps(message))

    def _error(self, code: str, message: str, request: dict[str, Any] | None) -> None:
        self._send(
            {"type": "error", "error": {"code": code, "message": message}, "request": request}
        )

    def _write(self, text: str) -> None:
        try:
            self.write_message(text)
        except websocket.WebSocketClosedError:
            self.on_close()


def websocket_handlers() -> list[tuple[str, type]]:
    """URL patterns of the WebSocket endpoints."""
    return [(r"codex/api/events", EventsWebSocketHandler)]
