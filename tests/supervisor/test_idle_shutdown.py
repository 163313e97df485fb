"""IdleShutdown on a real ``codex app-server``: stops it after the idle time, never while
busy or with timeout 0, and the next request starts it again."""

from __future__ import annotations

import asyncio
import os

from supervisor_helpers import ManagerPool

from jupyter_codex.supervisor import IdleShutdown
from jupyter_codex.wiring import wire_idle


async def test_idle_stop_busy_and_lazy_restart(managers: ManagerPool) -> None:
    async with managers:
        manager = managers.make()
        busy = [True]
        idle = IdleShutdown(manager, lambda: busy[0], timeout=0.3, check_interval=0.05)
        wire_idle(idle, manager)
        await manager.ensure_started()
        pid = manager.pid
        assert pid is not None
        await asyncio.sleep(0.4)
        assert not await idle.check(), "busy: a running turn keeps codex up"
        busy[0] = False
        assert not await idle.check(), "busy just now counts as activity"
        await asyncio.sleep(0.4)
        assert await idle.check()
        assert manager.state == "stopped" and manager.pid is None
        assert idle.info()["stopped_idle_at"] is not None
        try:
            os.kill(pid, 0)
            gone = False
        except ProcessLookupError:
            gone = True
        assert gone, "the process was reaped"

        await manager.request("thread/loaded/list", {})  # next use: lazy start
        assert manager.state == "running" and manager.pid not in (None, pid)
        assert idle.info()["stopped_idle_at"] is None and idle.info()["idle_seconds"] < 1

        idle.start()  # the watcher does the same by itself
        for _ in range(100):
            if manager.state == "stopped":
                break
            await asyncio.sleep(0.05)
        assert manager.state == "stopped"
        await idle.stop()


async def test_timeout_zero_never_stops(managers: ManagerPool) -> None:
    async with managers:
        manager = managers.make()
        idle = IdleShutdown(manager, lambda: False, timeout=0)
        wire_idle(idle, manager)
        await manager.ensure_started()
        idle.last_activity -= 10_000
        assert not await idle.check() and manager.state == "running"
        idle.start()  # no watcher task for 0
        await idle.stop()
