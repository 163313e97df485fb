"""Keep a widget current: reload it when the server announces a change.

The server pushes account switches, usage alerts, account changes and live
rate-limit snapshots to subscribers of ``"*"`` (``docs/websocket.md``). A
:class:`Follower` listens on the kernel's event loop and calls the widget's
``reload`` at most once per ``debounce`` seconds, plus every ``interval``
seconds as a fallback (usage also changes by polling on the server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ...client import AsyncCodexClient
from ...errors import CodexError
from ..render import event_field

#: Server events after which account and usage widgets reload.
ACCOUNT_EVENTS = frozenset(
    {"account.switched", "account.changed", "usage.alert", "rate_limits", "usage.updated"}
)


class Follower:
    """Owns the background tasks of one widget; ``close()`` stops them."""

    def __init__(
        self,
        client: AsyncCodexClient,
        reload: Callable[[], Awaitable[None]],
        *,
        types: frozenset[str] = ACCOUNT_EVENTS,
        debounce: float = 1.0,
        interval: float = 60.0,
        on_error: Callable[[BaseException], None] | None = None,
        load_now: bool = True,
    ) -> None:
        self.client = client
        self.reload = reload
        self.types = types
        self.debounce = debounce
        self.interval = interval
        self.on_error = on_error
        self.reloads = 0
        self._wake = asyncio.Event()
        if load_now:
            self._wake.set()
        self._tasks = [
            asyncio.ensure_future(self._listen()),
            asyncio.ensure_future(self._reloader()),
        ]

    async def _listen(self) -> None:
        async for event in self.client.events("*"):
            if event_field(event, "type") in self.types:
                self._wake.set()

    async def _reloader(self) -> None:
        while True:
            # Not asyncio.wait_for: before Python 3.12 it swallows a close() that
            # cancels as the wake-up comes, and this loop would reload forever.
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait([woken], timeout=self.interval)
            finally:
                woken.cancel()
            self._wake.clear()
            try:
                await self.reload()
                self.reloads += 1
            except CodexError as e:
                if self.on_error is not None:
                    self.on_error(e)
            await asyncio.sleep(self.debounce)

    def poke(self) -> None:
        """Reload soon (after a change this kernel made itself)."""
        self._wake.set()

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()


def spawn(coro: Awaitable[Any], on_error: Callable[[BaseException], None]) -> asyncio.Future[Any]:
    """Run a widget action on the kernel's loop and report its failure in the widget."""
    future = asyncio.ensure_future(coro)

    def done(f: asyncio.Future[Any]) -> None:
        if not f.cancelled() and f.exception() is not None:
            on_error(f.exception())  # type: ignore[arg-type]

    future.add_done_callback(done)
    return future


__all__ = ["ACCOUNT_EVENTS", "Follower", "spawn"]
