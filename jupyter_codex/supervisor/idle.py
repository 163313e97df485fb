"""Stop an idle ``codex app-server``; the next request starts it again.

An idle app-server still holds ~150 MB (two per user under JupyterHub). An
:class:`IdleShutdown` watches one :class:`~.manager.AppServerManager` through its
public surface only: notifications and lifecycle events count as activity, a
``busy()`` probe (turns running, approvals or tool calls waiting) keeps it alive,
and once nothing happened for ``timeout`` seconds it calls ``stop()``. The
manager starts lazily on its next ``request()``; the workspace resumes each
session's thread into the new process (``thread/resume``), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..tasks import TaskOwner


class IdleWatched(Protocol):
    """The part of ``AppServerManager`` this component uses."""

    name: str

    @property
    def state(self) -> str: ...

    async def stop(self) -> None: ...


class IdleShutdown(LoggingConfigurable):
    """Stops one app-server after ``timeout`` seconds without activity."""

    timeout = Float(
        1800.0,
        config=True,
        help="Seconds without a turn, a request or a waiting approval or tool call after "
        "which a target's codex app-server is stopped (it starts again on the next use, "
        "with every session resumable). 0 never stops it. Default 1800 (30 minutes).",
    )
    check_interval = Float(
        30.0,
        config=True,
        help="Seconds between two idleness checks (at most timeout/2 is used).",
    )

    def __init__(self, server: IdleWatched, busy: Callable[[], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server
        self._busy = busy
        self.last_activity = time.monotonic()
        #: Wall-clock time of the last idle stop (``None``: never, or started since).
        self.stopped_at: float | None = None
        self._tasks = TaskOwner(f"codex-idle-{server.name}", self.log)

    def touch(self) -> None:
        """Record activity now."""
        self.last_activity = time.monotonic()

    def on_notification(self, _method: str, _params: dict[str, Any]) -> None:
        """A notification of the watched app-server is activity
        (``wiring.wire_idle`` registers it)."""
        self.touch()

    def on_lifecycle(self, event: str, _data: dict[str, Any]) -> None:
        """A (re)start of the watched app-server is activity and ends an idle stop."""
        if event == "started":
            self.stopped_at = None
            self.touch()

    def start(self) -> None:
        """Start watching (no-op when ``timeout`` is 0)."""
        if not self._tasks and self.timeout > 0:
            self._tasks.start_soon(self._run, name=f"codex-idle-{self.server.name}")

    async def stop(self) -> None:
        """Stop watching (server shutdown)."""
        await self._tasks.aclose()

    def info(self) -> dict[str, Any]:
        """For ``status``: the timeout, idle seconds, and when it last stopped for idleness."""
        return {
            "timeout": self.timeout,
            "idle_seconds": round(time.monotonic() - self.last_activity, 1),
            "stopped_idle_at": self.stopped_at,
        }

    async def check(self) -> bool:
        """Stop the app-server now if it is running and idle; ``True`` if stopped."""
        if self.timeout <= 0 or self.server.state != "running":
            return False
        try:
            busy = self._busy()
        except Exception:
            self.log.exception("Idle check of codex app-server (%s) failed", self.server.name)
            return False
        if busy:
            self.touch()
            return False
        if time.monotonic() - self.last_activity < self.timeout:
            return False
        self.log.info(
            "Stopping idle codex app-server (%s) after %g s; it starts again on next use",
            self.server.name,
            self.timeout,
        )
        await self.server.stop()
        self.stopped_at = time.time()
        return True

    async def _run(self) -> None:
        interval = max(min(self.check_interval, self.timeout / 2), 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                self.log.exception(
                    "Idle shutdown of codex app-server (%s) failed", self.server.name
                )


__all__ = ["IdleShutdown"]
