"""A private event loop on a daemon thread, for the synchronous client.

In a Jupyter kernel the main thread already runs an event loop, so the sync
client cannot ``asyncio.run`` anything there. It hands every coroutine to this
loop instead and blocks on the result (anyio calls this a *portal*). One loop
serves every sync client of the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_portal: Portal | None = None


class Portal:
    """Runs coroutines on a loop owned by a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="jupyter-codex-client", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the portal's loop and wait for its result.

        Interrupting the wait (Ctrl-C, "interrupt kernel") cancels the coroutine.
        """
        if self.in_loop_thread:
            coro.close()
            raise RuntimeError(
                "A synchronous CodexClient method was called from one of its own callbacks; "
                "use AsyncCodexClient inside async callbacks instead."
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the coroutine's own TimeoutError (e.g. TurnTimeoutError)
            future.cancel()
            raise TimeoutError("the operation timed out") from None
        except BaseException:
            future.cancel()
            raise

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Iterate an async iterator from this thread; closing the iterator closes it."""
        try:
            while True:
                try:
                    yield self.call(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.loop.is_closed():
                # Best effort: after an interrupt the generator may still be unwinding.
                with contextlib.suppress(Exception):
                    self.call(aclose(), timeout=10)


def get_portal() -> Portal:
    """The process-wide portal (started on first use)."""
    global _portal
    with _lock:
        if _portal is None or _portal.loop.is_closed():
            _portal = Portal()
        return _portal


__all__ = ["Portal", "get_portal"]
