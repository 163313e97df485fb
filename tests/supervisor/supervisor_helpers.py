"""Helpers shared by the supervisor tests (a uniquely named module: tests/ has no packages)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any

from traitlets.config import Config

from jupyter_codex.supervisor import AppServerManager


class ManagerPool:
    """Builds managers for one test; ``async with pool:`` stops them all on exit.

    An async context manager rather than an async fixture, so the cleanup runs
    on the test's own event loop whichever plugin runs async tests. Exit also
    checks that stop() left no task behind.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.managers: list[AppServerManager] = []
        self._before: set[asyncio.Task[Any]] = set()
        self.closed = True

    def make(
        self,
        name: str = "cli",
        *,
        config: Config | None = None,
        env: dict[str, str] | None = None,
        **traits: Any,
    ) -> AppServerManager:
        manager = AppServerManager(
            name=name, codex_home=str(self.tmp_path / f"home-{name}"), config=config or Config()
        )
        for key, value in traits.items():
            setattr(manager, key, value)
        if env:
            manager.env = env
        self.managers.append(manager)
        return manager

    async def __aenter__(self) -> None:
        self._before = asyncio.all_tasks()
        self.closed = False

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.closed = True
        for manager in self.managers:
            await manager.stop()
            assert manager.pid is None
        if exc_type is None:
            current = asyncio.current_task()
            leftover = [t for t in asyncio.all_tasks() - self._before if t is not current]
            assert not leftover, leftover

    def kill_all(self) -> None:
        """Synchronous last resort for a test that forgot ``async with``."""
        for manager in self.managers:
            manager.launcher.kill()


class Events:
    """Records lifecycle events; lets a test wait for one."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        self.items.append((event, data))
        self._changed.set()

    def names(self) -> list[str]:
        return [name for name, _ in self.items]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                found = [data for event, data in self.items if event == name]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)
