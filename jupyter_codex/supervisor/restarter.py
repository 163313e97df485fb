"""Liveness policy of one app-server (jupyter_client's ``KernelRestarter``).

The restarter owns one watcher task per manager. It waits for the running
process to go away *unexpectedly* (the manager cancels the watcher before any
exit it causes itself), tells the manager, and restarts with exponential
backoff. After ``restart_limit`` consecutive quick deaths it gives up and the
manager turns ``"dead"``; a later explicit ``ensure_started()`` resets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ..errors import AppServerStartError

if TYPE_CHECKING:
    from .manager import AppServerManager


class AppServerRestarter(LoggingConfigurable):
    """Restart a crashed app-server, with backoff, until it looks hopeless."""

    restart_limit = Integer(
        5,
        config=True,
        help="""Number of consecutive automatic restarts after quick deaths before the
        app-server is declared dead (default 5). A failed restart attempt counts as a
        quick death. 0 disables automatic restarts.""",
    )

    stable_start_time = Float(
        10.0,
        config=True,
        help="""Seconds a process must have lived to count as a stable start (default 10).
        A death after a stable start resets the consecutive-restart count, so a server
        that crashes once a day is restarted forever.""",
    )

    backoff_base = Float(
        0.5,
        config=True,
        help="""Delay in seconds before the first automatic restart (default 0.5); it
        doubles with each consecutive quick death, up to backoff_max.""",
    )

    backoff_max = Float(
        10.0,
        config=True,
        help="Longest delay in seconds between automatic restarts (default 10).",
    )

    def __init__(self, *, manager: AppServerManager, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        #: Consecutive quick deaths in the current episode.
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    def backoff(self, attempt: int) -> float:
        """Delay in seconds before restart ``attempt`` (1-based)."""
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0)))

    def reset(self) -> None:
        """Forget earlier deaths; called on an explicit (user) start or restart."""
        self.count = 0

    @property
    def watching(self) -> bool:
        """Whether the watcher task is running."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start watching the manager's current process. Idempotent.

        Called by the manager after each explicit successful start; after an
        automatic restart the watcher simply keeps going.
        """
        if not self.watching:
            self._task = asyncio.create_task(self._watch(), name="codex-restarter")

    async def stop(self) -> None:
        """Cancel and await the watcher (and any restart it is attempting).

        Called by the manager *before* it stops or restarts the process itself,
        so that exit is never mistaken for a crash.
        """
        task, self._task = self._task, None
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _watch(self) -> None:
        while True:
            returncode = await self.manager._wait_for_exit()
            lifetime = time.monotonic() - self.manager._started_monotonic
            if lifetime >= self.stable_start_time:
                # See jupyter_client#717: only a stable start proves the problem is gone.
                self.count = 0
            await self.manager._handle_unexpected_exit(returncode)
            if not await self._restart_with_backoff():
                return

    async def _restart_with_backoff(self) -> bool:
        """Attempt restarts until one succeeds (True) or the limit is hit (False)."""
        while True:
            self.count += 1
            if self.count > self.restart_limit:
                reason = (
                    f"codex app-server died {self.count} times in a row"
                    if self.restart_limit
                    else "codex app-server died and automatic restarts are disabled"
                )
                self.log.error("%s (%s); giving up", reason, self.manager.name)
                await self.manager._mark_dead(reason)
                return False
            delay = self.backoff(self.count)
            self.log.warning(
                "Restarting codex app-server (%s) in %.2g s, attempt %d of %d",
                self.manager.name,
                delay,
                self.count,
                self.restart_limit,
            )
            self.manager._fire("restarting", {"attempt": self.count, "delay": delay})
            await asyncio.sleep(delay)
            try:
                await self.manager._restart_attempt()
            except AppServerStartError as e:
                self.log.warning("Restart attempt %d failed: %s", self.count, e.message)
                continue
            return True


__all__ = ["AppServerRestarter"]
