"""``AppServerManager.restarter_class`` is really swappable: a policy written only
against the public supervision surface (``Supervised``) drives the manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from supervisor_helpers import Events, ManagerPool
from test_supervisor_fake import fake_env
from traitlets.config import Config

from jupyter_codex.supervisor import AppServerRestarter, Supervised
from jupyter_codex.tasks import OwnedTask, TaskOwner


class OneChance(AppServerRestarter):
    """Restart after the first crash at once; give up at the second. Public API only."""

    def __init__(self, *, manager: Supervised, **kwargs: Any) -> None:
        super().__init__(manager=manager, **kwargs)
        self.supervised = manager
        self.owner = TaskOwner("one-chance")
        self.watcher: OwnedTask | None = None
        self.uptimes: list[float] = []

    def start(self) -> None:
        if self.watcher is None or self.watcher.done():
            self.watcher = self.owner.start_soon(self.watch)

    async def stop(self) -> None:
        await self.owner.aclose()

    async def watch(self) -> None:
        await self.supervised.wait_for_exit()
        self.uptimes.append(self.supervised.uptime)
        await self.supervised.recover(attempt=1, delay=0.0)
        assert self.supervised.is_alive() and self.supervised.state == "running"
        await self.supervised.wait_for_exit()
        await self.supervised.give_up("one chance used")


async def test_a_custom_restarter_drives_the_manager_through_its_public_surface(
    managers: ManagerPool, fake_bin: str, tmp_path: Path, events: Events
) -> None:
    config = Config()
    config.AppServerManager.restarter_class = OneChance
    async with managers:
        manager = managers.make(codex_bin=fake_bin, config=config, env=fake_env(tmp_path))
        assert isinstance(manager.restarter, OneChance)
        manager.add_lifecycle_listener(events)
        await manager.ensure_started()
        manager.launcher.kill()
        await events.wait_for("started", count=2)
        assert events.names()[:4] == ["started", "died", "restarting", "started"]
        assert manager.restarter.uptimes and manager.restarter.uptimes[0] > 0
        manager.launcher.kill()
        dead = await events.wait_for("dead")
        assert dead["reason"] == "one chance used"
        assert manager.state == "dead" and not manager.is_alive()
        assert manager.info()["last_error"] == "one chance used"
        await manager.restarter.stop()
