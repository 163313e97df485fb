"""Liveness policy of one app-server (jupyter_client's ``KernelRestarter``).

The restarter owns one watcher task per manager. It waits for the running
process to go away *unexpectedly* (the manager cancels the watcher before any
exit it causes itself), and restarts with exponential backoff. After
``restart_limit`` consecutive quick deaths it gives up and the manager turns
``"dead"``; a later explicit ``ensure_started()`` resets it.

It drives the manager only through the public :class:`Supervised` surface and
never imports the manager, so ``AppServerManager.restarter_class`` can be any
class with this one's constructor and ``start``/``stop``/``reset`` methods.
"""

from __future__ import annotations

from typing import Protocol

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ..errors import AppServerStartError
from ..tasks import OwnedTask, TaskOwner
from .state import State


class Supervised(Protocol):
    """What a restarter may use of the app-server it watches (``AppServerManager``)."""

    @property
    def name(self) -> str:
        """The server's name, for log lines."""

    @property
    def state(self) -> State:
        """The lifecycle state."""

    @property
    def uptime(self) -> float:
        """Seconds the current process has run (frozen once it ended)."""

    def is_alive(self) -> bool:
        """Whether the server runs and its process lives."""

    async def wait_for_exit(self) -> int | None:
        """Wait for the running process to end on its own; report it; return its exit."""

    async def recover(self, *, attempt: int, delay: float) -> None:
        """Announce restart ``attempt``, wait ``delay`` s, start; raise AppServerStartError."""

    async def give_up(self, reason: str) -> None:
        """Turn ``"dead"`` until a user action starts it again."""


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

    def __init__(self, *, manager: Supervised, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        #: Consecutive quick deaths in the current episode.
        self.count = 0
        self._tasks = TaskOwner("codex-restarter", self.log)
        self._watcher: OwnedTask | None = None

    def backoff(self, attempt: int) -> float:
        """Delay in seconds before restart ``attempt`` (1-based)."""
        return float(min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0)))

    def reset(self) -> None:
        """Forget earlier deaths; called on an explicit (user) start or restart."""
        self.count = 0

    @property
    def watching(self) -> bool:
        """Whether the watcher task is running."""
        return self._watcher is not None and not self._watcher.done()

    def start(self) -> None:
        """Start watching the manager's current process. Idempotent.

        Called by the manager after each explicit successful start; after an
        automatic restart the watcher simply keeps going.
        """
        if not self.watching:
            self._watcher = self._tasks.start_soon(self._watch, name="codex-restarter")

    async def stop(self) -> None:
        """Cancel and await the watcher (and any restart it is attempting).

        Called by the manager *before* it stops or restarts the process itself,
        so that exit is never mistaken for a crash.
        """
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await watcher.stop()

    async def _watch(self) -> None:
        while True:
            await self.manager.wait_for_exit()
            if self.manager.uptime >= self.stable_start_time:
                # See jupyter_client#717: only a stable start proves the problem is gone.
                self.count = 0
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
                await self.manager.give_up(reason)
                return False
            delay = self.backoff(self.count)
            self.log.warning(
                "Restarting codex app-server (%s) in %.2g s, attempt %d of %d",
                self.manager.name,
                delay,
                self.count,
                self.restart_limit,
            )
            try:
                await self.manager.recover(attempt=self.count, delay=delay)
            except AppServerStartError as e:
                self.log.warning("Restart attempt %d failed: %s", self.count, e.message)
                continue
            return True


__all__ = ["AppServerRestarter", "Supervised"]
