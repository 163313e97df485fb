"""Client-side tools: route codex's ``item/tool/call`` to the client that serves it.

A session created with ``tools`` declares them on its thread (``dynamicTools``).
A client (a script, a notebook kernel) then serves them over the events
WebSocket (``register_tools``). When the model calls one, codex asks us with
``item/tool/call``; we forward the call to that client as ``tool_call``, wait
for its ``tool_result``, and answer codex. A call that no connected client
serves is *pending*: a client may instead poll for it (``GET codex/api/tool-calls``)
and answer it (``POST codex/api/tool-calls/{id}/response``, :meth:`ToolRouter.answer`). No call may hang a turn: without a
client (none connected, or it went away mid-call and did not come back within
``client_timeout``) or without an answer in ``call_timeout``, codex gets a
failed result whose text tells the model what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..errors import InvalidRequestError, NotFoundError
from ..models import ToolProgress, ToolSpec
from ..tasks import first_completed, within

#: The app-server request this module answers.
TOOL_CALL_METHOD = "item/tool/call"
#: Content item types codex accepts in a dynamic tool result.
CONTENT_TYPES = frozenset({"inputText", "inputImage"})


class LocalTools(Protocol):
    """Tools the server can run itself when no client serves them (``notebooks.py``)."""

    async def call(
        self, session_id: str, tool: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The result of the call, or None when this does not serve it."""

    async def gate(
        self, session_id: str, tool: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Before a client runs the call: None to go ahead, else the refusal to answer
        (a run that a human did not approve)."""


@dataclass(frozen=True)
class ToolCallInfo:
    """A call in flight, as a progress reporter sees it."""

    call_id: str
    session_id: str
    tool: str
    turn_id: str | None
    arguments: Any


class ProgressReporter(Protocol):
    """Turns a client's progress of a call into events (``progress.py``)."""

    async def report(self, call: ToolCallInfo, progress: ToolProgress) -> None:
        """Append the progress's event; ``InvalidRequestError`` when it does not fit."""


class ToolClient(Protocol):
    """A connection that serves tools (the events WebSocket handler)."""

    def deliver(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the client (never raises)."""


@dataclass
class _Call:
    call_id: str
    session_id: str
    tool: str
    turn_id: str | None = None
    arguments: Any = None
    created_at: float = field(default_factory=time.time)
    client: ToolClient | None = None
    result: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    lost: asyncio.Event = field(default_factory=asyncio.Event)


def failure(text: str) -> dict[str, Any]:
    """A failed tool result the model can read."""
    return {"contentItems": [{"type": "inputText", "text": text}], "success": False}


def content_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The content items of a client's ``tool_result`` (``content_items`` or ``text``)."""
    items = message.get("content_items")
    if not isinstance(items, list):
        return [{"type": "inputText", "text": str(message.get("text") or "")}]
    checked: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "inputText":
            checked.append({"type": "inputText", "text": str(item.get("text") or "")})
        elif isinstance(item, dict) and item.get("type") == "inputImage":
            checked.append({"type": "inputImage", "imageUrl": str(item.get("imageUrl") or "")})
        else:
            checked.append({"type": "inputText", "text": str(item)})
    return checked


class ToolRouter(LoggingConfigurable):
    """Which client serves which session's tools, and the calls in flight."""

    client_timeout = Float(
        30.0,
        config=True,
        help="Seconds a tool call waits for a client that serves the tool: when none is "
        "connected (a polling client may answer it meanwhile: GET codex/api/tool-calls), or when the one running the call disconnects (a reconnect within "
        "this time still delivers the result). Then the call fails and the turn goes on.",
    )
    call_timeout = Float(
        600.0,
        config=True,
        help="Most seconds one client-side tool call may take before it fails.",
    )

    def __init__(self, *, session_of: Callable[[str], str | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_of = session_of
        #: session id -> names declared on its thread (this process only).
        self.declared: dict[str, list[str]] = {}
        self._serving: dict[str, dict[str, ToolClient]] = {}
        self._calls: dict[str, _Call] = {}
        self._changed = asyncio.Event()
        #: Served by the server itself while no client serves the tool.
        self.local: LocalTools | None = None
        #: Appends the events of a client's progress reports (``progress.py``).
        self.reporter: ProgressReporter | None = None

    # -- declaration and registration -------------------------------------------

    def dynamic_tools(self, session_id: str, tools: list[ToolSpec]) -> list[dict[str, Any]]:
        """The ``dynamicTools`` of ``thread/start`` for a new session's tools."""
        names = [t.name for t in tools]
        if len(set(names)) != len(names):
            raise InvalidRequestError("Tool names must be unique within a session.")
        self.declared[session_id] = names
        return [
            {
                "type": "function",
                "name": t.name,
                "description": t.description or t.name,
                "inputSchema": t.input_schema,
            }
            for t in tools
        ]

    def register(self, session_id: str, names: list[str], client: ToolClient) -> None:
        """``client`` serves these tools of the session from now on (the latest wins)."""
        serving = self._serving.setdefault(session_id, {})
        for name in names:
            serving[name] = client
        self._wake()

    def unregister(self, session_id: str, client: ToolClient) -> None:
        """``client`` stops serving the session's tools."""
        serving = self._serving.get(session_id, {})
        for name in [n for n, c in serving.items() if c is client]:
            del serving[name]
        if not serving:
            self._serving.pop(session_id, None)

    def drop(self, client: ToolClient) -> None:
        """The client's connection closed: forget its tools; its calls wait for a return."""
        for session_id in list(self._serving):
            self.unregister(session_id, client)
        for call in self._calls.values():
            if call.client is client:
                call.lost.set()

    def forget(self, session_id: str) -> None:
        """A session was deleted."""
        self.declared.pop(session_id, None)
        self._serving.pop(session_id, None)

    def resolve(self, message: dict[str, Any], client: ToolClient) -> None:
        """A client's ``tool_result``. Raises ``InvalidRequestError`` for an unknown call
        or one this client does not serve."""
        call = self._calls.get(str(message.get("call_id")))
        if call is None or call.result.done():
            raise InvalidRequestError("No tool call with this call_id is waiting for a result.")
        if (
            client is not call.client
            and self._serving.get(call.session_id, {}).get(call.tool) is not client
        ):
            raise InvalidRequestError("This connection does not serve that tool call.")
        success = message.get("success")
        call.result.set_result(
            {"contentItems": content_items(message), "success": success is not False}
        )

    async def progress(
        self, call_id: str, progress: ToolProgress, client: ToolClient | None
    ) -> None:
        """Progress of a call from the client running it (``client``), or from a polling
        client (``None``) for a call no connected client runs. ``NotFoundError`` when no
        such call is in flight, ``InvalidRequestError`` when another client runs it."""
        call = self._calls.get(call_id)
        if call is None or call.result.done():
            raise NotFoundError(f"No tool call {call_id!r} is running (it ended or never was).")
        if client is None and call.client is not None:
            raise NotFoundError(
                f"Tool call {call_id!r} is run by a connected client: it reports progress "
                "on its own socket."
            )
        if client is not None and call.client is not client:
            raise InvalidRequestError("This connection does not run that tool call.")
        if self.reporter is None:
            raise InvalidRequestError("This server takes no progress reports.")
        info = ToolCallInfo(call.call_id, call.session_id, call.tool, call.turn_id, call.arguments)
        await self.reporter.report(info, progress)

    # -- polling -------------------------------------------------------------------

    def pending(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Calls waiting for a client: no connected client serves their tool (oldest first)."""
        return [
            {
                "call_id": c.call_id,
                "session_id": c.session_id,
                "turn_id": c.turn_id,
                "tool": c.tool,
                "arguments": c.arguments,
                "created_at": c.created_at,
            }
            for c in sorted(self._calls.values(), key=lambda c: c.created_at)
            if c.client is None
            and not c.result.done()
            and (session_id is None or c.session_id == session_id)
        ]

    def answer(self, call_id: str, message: dict[str, Any]) -> None:
        """A polling client's result for a pending call (``success``, ``content_items`` or
        ``text``). Raises ``NotFoundError`` when no such call waits for one."""
        call = self._calls.get(call_id)
        if call is None or call.result.done() or call.client is not None:
            raise NotFoundError(
                f"No pending tool call {call_id!r}: it was answered, timed out, or is served "
                "by a connected client."
            )
        success = message.get("success")
        call.result.set_result(
            {"contentItems": content_items(message), "success": success is not False}
        )
        self._wake()

    @property
    def in_flight(self) -> int:
        """How many tool calls wait for a result now."""
        return sum(1 for c in self._calls.values() if not c.result.done())

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- calls --------------------------------------------------------------------

    async def call(self, params: dict[str, Any]) -> dict[str, Any]:
        """Answer one ``item/tool/call`` request (never raises, except on cancellation)."""
        tool = str(params.get("tool") or "")
        thread_id = params.get("threadId")
        session_id = self._session_of(thread_id) if isinstance(thread_id, str) else None
        if session_id is None:
            return failure(f"Tool {tool!r} is not available: no client serves this thread.")
        call_id = str(params.get("callId") or id(params))
        turn_id = params.get("turnId")
        call = _Call(
            call_id,
            session_id,
            tool,
            turn_id=str(turn_id) if turn_id else None,
            arguments=params.get("arguments"),
        )
        self._calls[call_id] = call
        try:
            return await within(
                self._run(call, params), self.call_timeout if self.call_timeout > 0 else None
            )
        except asyncio.TimeoutError:
            self.log.warning("Tool call %s (%s) got no result in time", call_id, tool)
            return failure(
                f"Tool {tool!r} did not return within {self.call_timeout:g} seconds; "
                "it was abandoned."
            )
        finally:
            self._calls.pop(call_id, None)
            if call.client is not None and not call.result.done():
                # Stopped, timed out or cut short: tell the client to give up.
                call.client.deliver({"type": "tool_call_cancelled", "call_id": call_id})

    async def _run(self, call: _Call, params: dict[str, Any]) -> dict[str, Any]:
        if self.local is not None and call.tool not in self._serving.get(call.session_id, {}):
            answer = await self.local.call(call.session_id, call.tool, params)
            if answer is not None:
                return answer
        if self.local is not None:  # before any client (WebSocket or polling) sees it
            refused = await self.local.gate(call.session_id, call.tool, params)
            if refused is not None:
                return refused
        client = await self._client_for(call)
        if call.result.done():  # a polling client answered it
            return call.result.result()
        if client is None:
            return failure(
                f"Tool {call.tool!r} is not available: the client that provides it is not "
                f"connected (waited {self.client_timeout:g} seconds)."
            )
        call.client = client
        client.deliver(
            {
                "type": "tool_call",
                "call_id": call.call_id,
                "session_id": call.session_id,
                "turn_id": params.get("turnId"),
                "tool": call.tool,
                "namespace": params.get("namespace"),
                "arguments": params.get("arguments"),
            }
        )
        await first_completed(call.result, call.lost.wait())
        if not call.result.done():
            self.log.info("The client running tool call %s disconnected; waiting", call.call_id)
            with contextlib.suppress(asyncio.TimeoutError):
                await within(asyncio.shield(call.result), self.client_timeout)
        if not call.result.done():
            return failure(
                f"Tool {call.tool!r} failed: the client running it disconnected and did not "
                f"come back within {self.client_timeout:g} seconds."
            )
        return call.result.result()

    async def _client_for(self, call: _Call) -> ToolClient | None:
        """The connected client serving the call's tool, waiting up to ``client_timeout``;
        returns early (``None``) when a polling client answered meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client_timeout
        while True:
            client = self._serving.get(call.session_id, {}).get(call.tool)
            remaining = deadline - loop.time()
            if client is not None or remaining <= 0 or call.result.done():
                return client
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self._changed.wait(), remaining)


__all__ = [
    "TOOL_CALL_METHOD",
    "LocalTools",
    "ProgressReporter",
    "ToolCallInfo",
    "ToolClient",
    "ToolRouter",
    "content_items",
    "failure",
]
