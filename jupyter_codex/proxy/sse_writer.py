"""Writing a Server-Sent Events answer: keep-alives, prompt flushes, back-pressure.

Framework-free (the proxy handler gives it a :class:`Sink` over Tornado), so it can
be tested without a server:

* :meth:`SSEWriter.wait` awaits the work of a request (run for that call only) and sends the dialect's keep-alive frame
  whenever nothing was written for ``keepalive_seconds`` (stream requests only), and
  gives up with :class:`ClientGone` when the client closed the connection;
* :meth:`SSEWriter.send` writes (headers first) and flushes at once;
* :meth:`SSEWriter.write_frames` writes and schedules one flush for everything written
  in the same loop iteration; a client that lags a whole flush behind slows the relay
  down (back-pressure) instead of growing the buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from ..errors import Signal
from ..tasks import scoped

T = TypeVar("T")


class ClientGone(Signal):
    """The client closed the connection (a signal, not an error: see ``errors.py``)."""


class Sink(Protocol):
    """Where the bytes go (the proxy handler, over Tornado)."""

    #: exceptions a flush raises once the client has gone
    closed_errors: tuple[type[BaseException], ...]

    def start(self) -> None:
        """Send the SSE status and headers (called once, before the first write)."""

    def write(self, data: bytes) -> None: ...

    def flush(self) -> asyncio.Future[None]:
        """Send what was written; the future (Tornado's flush) is done once the
        socket took it, so the next write can wait for a lagging client."""

    @property
    def finished(self) -> bool: ...


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark a background flush's failure as seen (the close is handled elsewhere)."""
    if not future.cancelled():
        future.exception()


class SSEWriter:
    """One SSE answer's writing side (see the module docstring)."""

    def __init__(self, sink: Sink, keepalive_seconds: float) -> None:
        self.sink = sink
        self.keepalive_seconds = keepalive_seconds
        self.stream_mode = False  # keep-alives only for stream requests
        self.started = False  # SSE headers are out: errors go in-stream from now on
        self.last_write = time.monotonic()
        self._flush_handle: asyncio.Handle | None = None
        self._flush_future: asyncio.Future[None] | None = None

    async def wait(self, work: Awaitable[T], keepalive: bytes, closer: Awaitable[Any]) -> T:
        """Await ``work``; ``keepalive`` whenever nothing was written for a while.

        ``work`` and ``closer`` (done when the client closed the connection) are
        coroutines run for this call only (:func:`~jupyter_codex.tasks.scoped`: both
        are cancelled and awaited before it returns) or futures owned by the caller.
        A gone client cancels ``work`` and raises :class:`ClientGone`.
        """
        async with scoped(work) as fut, scoped(closer) as gone:
            while True:
                timeout = None
                if self.stream_mode:
                    timeout = max(self.last_write + self.keepalive_seconds - time.monotonic(), 0)
                done, _ = await asyncio.wait(
                    {fut, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if fut in done:
                    return fut.result()
                if gone in done:
                    fut.cancel()
                    raise ClientGone
                if time.monotonic() - self.last_write >= self.keepalive_seconds:
                    await self.send(keepalive)

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.sink.start()

    async def send(self, data: bytes) -> None:
        """Write ``data`` (SSE headers first) and flush it now."""
        self.start()
        if data:
            self.sink.write(data)
        self.last_write = time.monotonic()
        try:
            await self.sink.flush()
        except self.sink.closed_errors:
            raise ClientGone from None

    async def write_frames(self, frames: bytes) -> None:
        """Write ``frames`` and flush them soon (one socket write per loop iteration)."""
        pending = self._flush_future
        if pending is not None and not pending.done():
            try:
                await pending
            except self.sink.closed_errors:
                raise ClientGone from None
        self.sink.write(frames)
        self.last_write = time.monotonic()
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_handle = None
        if self.sink.finished:
            return
        future = self.sink.flush()
        future.add_done_callback(_retrieved)  # a closed client shows up as ClientGone
        self._flush_future = future

    def cancel_flush(self) -> None:
        """Drop a scheduled flush (the answer's end flushes everything anyway)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None


__all__ = ["ClientGone", "SSEWriter", "Sink"]
