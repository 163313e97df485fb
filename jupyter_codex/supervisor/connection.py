"""JSON-RPC over the stdio of ``codex app-server``.

The app-server speaks one JSON object per line (JSONL) in both directions and
omits the ``"jsonrpc"`` key. Three kinds of message arrive on its stdout:

* responses ``{"id", "result"|"error"}`` to our requests, matched by id;
* notifications ``{"method", "params"}``, handed synchronously to one callback;
* server→client requests ``{"id", "method", "params"}`` (approvals, token
  refresh, user input), each answered from its own task by a registered
  handler. The server blocks a turn until it gets an answer, so every request
  gets one: the handler's result, an error, or a per-method fallback when the
  deadline passes.

Framing is done here rather than with ``StreamReader.readline`` so that a line
longer than ``max_line_bytes`` is skipped without buffering it and without
desynchronising the stream (``readline`` drops the buffer and then returns the
tail of the long line as if it were a new one).

Why this module is long: requests, notifications and server→client requests share
one reader and one id space; framing and redaction live in ``framing.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import AppServerDiedError, AppServerError, RpcError, RpcTimeoutError
from ..tasks import OwnedTask, TaskOwner, within
from .framing import LineSplitter, OversizedLine, format_error, redact

#: ``(method, params)``; called synchronously on the reader task, must not block.
NotificationListener = Callable[[str, dict[str, Any]], None]
#: ``params -> result`` for one server→client request method.
ServerRequestHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

#: Default cap on one incoming line: thread histories and base64 images make big lines.
DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024
#: Default time a server→client request may wait for its handler, in seconds.
DEFAULT_SERVER_REQUEST_TIMEOUT = 900.0

# JSON-RPC error codes we send.
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603

#: What to answer when a server→client request is not answered in time: the
#: safe "no" of each method, so the turn continues instead of failing. Methods
#: not listed get a JSON-RPC error.
SERVER_REQUEST_FALLBACKS: dict[str, dict[str, Any]] = {
    "item/commandExecution/requestApproval": {"decision": "decline"},
    "item/fileChange/requestApproval": {"decision": "decline"},
    "item/permissions/requestApproval": {"permissions": {}, "scope": "turn"},
    "item/tool/requestUserInput": {"answers": {}},
    "mcpServer/elicitation/request": {"action": "decline", "content": None, "_meta": None},
}

_READ_CHUNK = 1024 * 1024
_LOG_EXCERPT = 120


def _excerpt(data: bytes) -> str:
    text = data[:_LOG_EXCERPT].decode("utf-8", "replace")
    return redact(text) + ("…" if len(data) > _LOG_EXCERPT else "")


_HEAD_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*(-?\d+|"[^"\\]{0,64}")\s*,\s*"(?:result|error)"')


def _peek_response_id(head: bytes) -> int | str | None:
    """Best-effort id of a response from its first bytes (``{"id":N,"result":...``)."""
    m = _HEAD_ID.match(head)
    if not m:
        return None
    value: int | str = json.loads(m.group(1))
    return value


# ---- connection ----


class JsonRpcConnection:
    """JSONL JSON-RPC (no ``"jsonrpc"`` key) over a process's stdin/stdout.

    One connection lives exactly as long as one app-server process. It owns a
    reader task (started by :meth:`start`) and one task per server→client
    request; :meth:`aclose` cancels and awaits all of them. When the stream
    ends, every pending request fails with :class:`AppServerDiedError` and
    :attr:`closed` resolves.

    Parameters
    ----------
    reader, writer
        The process's stdout and stdin.
    max_line_bytes
        Lines longer than this are logged and skipped.
    log
        Logger; request params and results are never logged, only method names
        and ids, because some carry tokens.
    handlers
        Live mapping ``method -> handler`` for server→client requests; looked up
        when a request arrives, so the owner may change it at any time.
    on_notification
        Called with ``(method, params)`` for every notification.
    server_request_timeout
        Seconds a handler may take before the fallback answer is sent.

    Construct it inside the running event loop (it creates :attr:`closed`).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        log: logging.Logger | None = None,
        handlers: Mapping[str, ServerRequestHandler] | None = None,
        on_notification: NotificationListener | None = None,
        server_request_timeout: float = DEFAULT_SERVER_REQUEST_TIMEOUT,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._splitter = LineSplitter(max_line_bytes)
        self.log = log or logging.getLogger(__name__)
        self._handlers: Mapping[str, ServerRequestHandler] = (
            handlers if handlers is not None else {}
        )
        self._on_notification = on_notification
        self.server_request_timeout = server_request_timeout
        self._ids = itertools.count()
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._write_lock = asyncio.Lock()
        self._tasks = TaskOwner("codex-rpc", self.log)
        self._reader_task: OwnedTask | None = None
        self._server_tasks: dict[int | str, OwnedTask] = {}
        #: Resolves (never with an exception) once the stream has ended or :meth:`aclose` ran.
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Why the connection closed, for error messages.
        self.close_reason = ""

    # -- lifecycle --

    def start(self) -> None:
        """Start the reader task. Called once by the owner, after construction."""
        if self._reader_task is None:
            self._reader_task = self._tasks.start_soon(self._read_loop, name="codex-rpc-reader")

    @property
    def is_closed(self) -> bool:
        """Whether the stream has ended or the connection was closed."""
        return self.closed.done()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await asyncio.shield(self.closed)

    async def aclose(self, reason: str = "the connection to codex app-server was closed") -> None:
        """Fail pending requests, cancel and await owned tasks, close stdin. Idempotent."""
        self._mark_closed(reason)
        await self._tasks.aclose()
        await self.close_stdin()

    async def close_stdin(self) -> None:
        """Send EOF to the process: ``codex app-server`` exits on it."""
        if self._writer.is_closing():
            return
        self._writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await self._writer.wait_closed()

    def _mark_closed(self, reason: str) -> None:
        if self.closed.done():
            return
        self.close_reason = reason
        self.closed.set_result(None)
        pending, self._pending = self._pending, {}
        for method, fut in pending.values():
            if not fut.done():
                fut.set_exception(AppServerDiedError(f"{reason} before it answered {method}"))
                fut.exception()  # the waiter may be gone; do not warn about it
        # Nobody is left to read our answers.
        for task in self._server_tasks.values():
            task.cancel()

    # -- outgoing --

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a request and wait for its result.

        ``params=None`` is sent as ``{}``. Raises :class:`RpcError` on an error reply, :class:`RpcTimeoutError`
        after ``timeout`` seconds (``None``: wait forever) and
        :class:`AppServerDiedError` if the connection closes first.
        """
        if self.closed.done():
            raise AppServerDiedError(f"{self.close_reason}; cannot send {method}")
        request_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, fut)
        # Always send params: codex rejects a missing "params" ("missing field
        # `params`") for methods whose fields are all optional, and accepts {}
        # for methods that take none.
        message: dict[str, Any] = {
            "id": request_id,
            "method": method,
            "params": params if params is not None else {},
        }
        self.log.debug("app-server request %s id=%s", method, request_id)
        try:
            await self._send(message)
            if timeout is None:
                return await fut
            return await within(fut, timeout)
        except asyncio.TimeoutError:
            raise RpcTimeoutError(
                f"codex app-server did not answer {method} within {timeout:g} s",
                method=method,
                timeout=timeout,
            ) from None
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no answer expected)."""
        if self.closed.done():
            raise AppServerDiedError(f"{self.close_reason}; cannot send {method}")
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        # One lock: concurrent writers must not interleave partial lines, and
        # drain() makes a slow reader slow us down instead of filling memory.
        async with self._write_lock:
            if self._writer.is_closing():
                raise AppServerDiedError(f"{self.close_reason or 'stdin is closed'}")
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (ConnectionError, RuntimeError) as e:
                raise AppServerDiedError(
                    f"could not write to codex app-server (it probably exited): {e}"
                ) from e

    # -- incoming --

    async def _read_loop(self) -> None:
        reason = "codex app-server closed its output (the process probably exited)"
        try:
            while True:
                chunk = await self._reader.read(_READ_CHUNK)
                items = self._splitter.feed(chunk) if chunk else self._splitter.flush()
                for item in items:
                    self._handle_item(item)
                if not chunk:
                    break
        except asyncio.CancelledError:
            reason = "the connection to codex app-server was closed"
            raise
        except Exception as e:  # a bug here must not leave requests hanging forever
            self.log.exception("Reading from codex app-server failed")
            reason = f"reading from codex app-server failed: {redact(str(e))}"
        finally:
            self._mark_closed(reason)

    def _handle_item(self, item: bytes | OversizedLine) -> None:
        if isinstance(item, OversizedLine):
            self._handle_oversized(item)
            return
        if not item.strip():
            return
        try:
            message = json.loads(item)
        except ValueError:
            self.log.warning(
                "Skipping a malformed line from codex app-server (%d bytes): %s",
                len(item),
                _excerpt(item),
            )
            return
        if not isinstance(message, dict):
            self.log.warning("Skipping a non-object JSON line from codex app-server")
            return
        method = message.get("method")
        if isinstance(method, str):
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            if "id" in message:
                self._dispatch_server_request(message["id"], method, params)
            else:
                self._dispatch_notification(method, params)
        elif "id" in message:
            self._resolve(message)
        else:
            self.log.warning("Skipping an unrecognised message from codex app-server")

    def _handle_oversized(self, item: OversizedLine) -> None:
        request_id = _peek_response_id(item.head)
        self.log.warning(
            "Skipped a %d-byte line from codex app-server (max_line_bytes=%d)%s",
            item.size,
            self._splitter.max_line_bytes,
            f"; it answered request id={request_id}" if request_id is not None else "",
        )
        entry = self._pending.get(request_id) if isinstance(request_id, int) else None
        if entry is not None and not entry[1].done():
            entry[1].set_exception(
                AppServerError(
                    f"the answer to {entry[0]} was {item.size} bytes, over the "
                    f"{self._splitter.max_line_bytes}-byte line limit (max_line_bytes)"
                )
            )

    def _resolve(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        entry = self._pending.get(request_id) if isinstance(request_id, int) else None
        if entry is None:
            if "error" in message:
                self.log.warning(
                    "codex app-server reported an error for id=%r: %s",
                    request_id,
                    redact(str(message["error"])[:500]),
                )
            else:
                self.log.debug("Ignoring a late or unknown response id=%r", request_id)
            return
        method, fut = entry
        if fut.done():
            return
        error = message.get("error")
        if error is not None:
            error = error if isinstance(error, dict) else {"message": str(error)}
            code = error.get("code")
            text = redact(str(error.get("message") or "unknown error"))
            self.log.debug("app-server error reply to %s id=%s code=%s", method, request_id, code)
            fut.set_exception(
                RpcError(
                    f"codex app-server rejected {method}: {text}",
                    rpc_code=code if isinstance(code, int) else None,
                    method=method,
                )
            )
            return
        result = message.get("result")
        if result is None:
            result = {}
        elif not isinstance(result, dict):
            result = {"value": result}
        self.log.debug("app-server reply to %s id=%s", method, request_id)
        fut.set_result(result)

    def _dispatch_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "serverRequest/resolved":
            # The server stopped waiting (answered, or cleared by an interrupt):
            # a handler still waiting for a person would answer nobody.
            request_id = params.get("requestId")
            task = self._server_tasks.get(request_id) if request_id is not None else None
            if task is not None and not task.done():
                self.log.debug("Server request id=%r was resolved by the server", request_id)
                task.cancel()
        if self._on_notification is None:
            return
        try:
            self._on_notification(method, params)
        except Exception:
            self.log.exception("Notification listener failed on %s", method)

    def _dispatch_server_request(
        self, request_id: Any, method: str, params: dict[str, Any]
    ) -> None:
        if not isinstance(request_id, (int, str)) or isinstance(request_id, bool):
            self.log.warning("Ignoring server request %s with an invalid id", method)
            return
        if request_id in self._server_tasks:
            self.log.warning("Duplicate server request id=%r (%s); ignoring", request_id, method)
            return
        self._server_tasks[request_id] = self._tasks.start_soon(
            self._answer_once, request_id, method, params, name=f"codex-server-request-{method}"
        )

    async def _answer_once(
        self, request_id: int | str, method: str, params: dict[str, Any]
    ) -> None:
        try:
            await self._answer(request_id, method, params)
        finally:
            self._server_tasks.pop(request_id, None)

    async def _answer(self, request_id: int | str, method: str, params: dict[str, Any]) -> None:
        """Answer one server→client request; never lets it go unanswered."""
        self.log.debug("app-server asks %s id=%r", method, request_id)
        handler = self._handlers.get(method)
        reply: dict[str, Any]
        if handler is None:
            self.log.warning("No handler for server request %s; answering method-not-found", method)
            reply = {"code": METHOD_NOT_FOUND, "message": f"no handler for {method}"}
            await self._reply(request_id, error=reply)
            return
        try:
            result: Any = await within(handler(params), self.server_request_timeout)
        except asyncio.TimeoutError:
            fallback = SERVER_REQUEST_FALLBACKS.get(method)
            self.log.warning(
                "Server request %s id=%r got no answer in time (server_request_timeout=%g s); %s",
                method,
                request_id,
                self.server_request_timeout,
                "declining" if fallback is not None else "answering an error",
            )
            if fallback is not None:
                await self._reply(request_id, result=dict(fallback))
            else:
                await self._reply(
                    request_id,
                    error={"code": INTERNAL_ERROR, "message": f"no answer to {method} in time"},
                )
            return
        except Exception as e:  # noqa: BLE001 - any failure must still be answered
            # Not log.exception(): the token-refresh handler's exceptions are the
            # likeliest to quote a secret, so the traceback is redacted first.
            message = redact(str(e)) or type(e).__name__
            self.log.error("Handler for server request %s failed:\n%s", method, format_error(e))
            await self._reply(request_id, error={"code": INTERNAL_ERROR, "message": message})
            return
        if not isinstance(result, dict):
            self.log.error("Handler for %s returned %s, not a dict", method, type(result).__name__)
            await self._reply(
                request_id,
                error={"code": INTERNAL_ERROR, "message": f"invalid answer to {method}"},
            )
            return
        await self._reply(request_id, result=result)

    async def _reply(
        self,
        request_id: int | str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        message: dict[str, Any] = {"id": request_id}
        if error is not None:
            message["error"] = error
        else:
            message["result"] = result if result is not None else {}
        try:
            await self._send(message)
        except AppServerDiedError:
            self.log.debug("Could not answer server request id=%r: connection closed", request_id)


__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_SERVER_REQUEST_TIMEOUT",
    "SERVER_REQUEST_FALLBACKS",
    "JsonRpcConnection",
    "LineSplitter",
    "NotificationListener",
    "OversizedLine",
    "ServerRequestHandler",
    "format_error",
    "redact",
]
