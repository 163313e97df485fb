"""The events WebSocket from the client side: connect, subscribe, reconnect, replay.

A stream remembers the highest ``seq`` it yielded and resubscribes with it
after a dropped connection, so the consumer sees every event exactly once and
in order (the server replays what was missed from SQLite).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncGenerator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ..errors import CodexError, ServerUnreachableError
from ._events import Event, parse_event
from ._http import HttpTransport, error_from_payload

#: Exceptions after which a stream reconnects (anything else propagates).
RETRYABLE: tuple[type[BaseException], ...] = (ConnectionClosed, OSError, asyncio.TimeoutError)


def _ssl_for(transport: HttpTransport) -> ssl.SSLContext | None:
    if not transport.ws_url.startswith("wss"):
        return None
    if isinstance(transport.verify, ssl.SSLContext):
        return transport.verify
    context = ssl.create_default_context()
    if transport.verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(transport.verify, str):
        context.load_verify_locations(transport.verify)
    return context


async def open_socket(transport: HttpTransport, open_timeout: float = 30.0) -> ClientConnection:
    """Connect to ``codex/api/events`` with the client's credentials.

    A refused handshake (403, 404) raises the matching :class:`CodexError` at
    once; network failures raise a retryable ``OSError``.
    """
    try:
        return await connect(
            transport.ws_url,
            additional_headers=transport.headers,
            ssl=_ssl_for(transport),
            open_timeout=open_timeout,
            max_size=None,
            ping_interval=20,
            ping_timeout=60,
        )
    except InvalidStatus as e:
        status = e.response.status_code
        try:
            payload: Any = json.loads(e.response.body or b"null")
        except ValueError:
            payload = None
        raise error_from_payload(status, payload, transport.info.url) from e
    except InvalidHandshake as e:
        raise OSError(f"WebSocket handshake failed: {e}") from e


def ws_error(message: dict[str, Any], server: str) -> CodexError:
    """The exception for a ``{"type": "error"}`` frame."""
    error = message.get("error") or {}
    status = {"not_found": 404, "invalid_message": 400}.get(str(error.get("code")), 400)
    return error_from_payload(status, {"error": error}, server)


class Backoff:
    """Reconnect delays (0.1 s doubling to 5 s) and the give-up deadline."""

    def __init__(self, give_up_after: float) -> None:
        self.give_up_after = give_up_after
        self.delay = 0.1
        self.down_since: float | None = None

    def reset(self) -> None:
        self.delay, self.down_since = 0.1, None

    async def wait(self, error: BaseException, server: str) -> None:
        now = time.monotonic()
        self.down_since = self.down_since or now
        if now - self.down_since > self.give_up_after:
            raise ServerUnreachableError(
                f"Lost the connection to the Jupyter server at {server} and could not "
                f"reconnect for {self.give_up_after:g} s: {error}"
            ) from error
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, 5.0)


async def stream_events(
    transport: HttpTransport,
    session_id: str,
    after: int = 0,
    *,
    reconnect_timeout: float = 60.0,
) -> AsyncGenerator[Event, None]:
    """Events of ``session_id`` with ``seq > after``, replayed then live, forever.

    ``session_id="*"`` gives every session's (and the server's) new events, live
    only. Reconnects after a dropped connection without gaps or duplicates; gives
    up with :class:`ServerUnreachableError` after ``reconnect_timeout`` seconds down.
    """
    last = after
    backoff = Backoff(reconnect_timeout)
    server = transport.info.url
    while True:
        try:
            ws = await open_socket(transport)
            try:
                subscribe = {"type": "subscribe", "session_id": session_id, "after": last}
                await ws.send(json.dumps(subscribe))
                async for raw in ws:
                    backoff.reset()
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "event":
                        bodies = [message.get("event") or {}]
                    elif kind == "events":
                        bodies = message.get("events") or []
                    elif kind == "error":
                        raise ws_error(message, server)
                    else:
                        continue
                    for body in bodies:
                        seq = body.get("seq")
                        if session_id != "*":
                            if not isinstance(seq, int) or seq <= last:
                                continue  # already yielded before a reconnect
                            last = seq
                        yield parse_event(body)
            finally:
                await ws.close()
            error: BaseException = ConnectionError("the server closed the connection")
        except RETRYABLE as e:
            error = e
        await backoff.wait(error, server)


__all__ = ["Backoff", "open_socket", "stream_events", "ws_error"]
