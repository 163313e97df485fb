"""The extension host on its own (real store, real workspace and queue objects, no
codex process): extensions stop with the host, bad ones are refused at load."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jupyter_codex.extensions import ExtensionHost
from jupyter_codex.store import Database
from jupyter_codex.supervisor import AppServerManager
from jupyter_codex.wiring import wire_workspace
from jupyter_codex.workspace import WorkspaceManager
from jupyter_codex.workspace.jobs import JobQueue

MODULE = """
import asyncio, os, pathlib

class Stopper:
    capabilities = ("read_events",)

    async def run(self, ext):
        marker = pathlib.Path(os.environ["JC_HOST_MARKER"])
        marker.write_text("running")
        try:
            async for _ in ext.events():
                pass
        finally:
            marker.write_text("stopped")


class Greedy:
    capabilities = ("read_events", "run_shell")

    async def run(self, ext):
        raise AssertionError("never started")
"""


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    info = site / "jc_hostext-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "jc_hostext.py").write_text(MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jc-hostext\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[jupyter_codex.extensions]\nstopper = jc_hostext:Stopper\ngreedy = jc_hostext:Greedy\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("JC_HOST_MARKER", str(tmp_path / "marker"))
    importlib.invalidate_caches()
    yield tmp_path
    sys.modules.pop("jc_hostext", None)


@contextlib.asynccontextmanager
async def host_parts(tmp_path: Path) -> AsyncIterator[tuple[WorkspaceManager, JobQueue]]:
    db = Database(tmp_path / "codex.db")
    await db.open()
    server = AppServerManager(name="cli", codex_home=str(tmp_path / "home"))
    workspace = WorkspaceManager(database=db, app_server=server, root_dir=str(tmp_path))
    await workspace.start()
    wire_workspace(workspace)
    jobs = JobQueue(workspace=workspace, database=db)
    await jobs.start()
    yield workspace, jobs
    await jobs.stop()
    await workspace.stop()
    await db.close()


async def test_extensions_stop_with_the_host_and_bad_ones_never_run(distribution: Path) -> None:
    async with host_parts(distribution) as (workspace, jobs):
        await _stop_with_the_host(distribution, workspace, jobs)


async def _stop_with_the_host(
    distribution: Path, workspace: WorkspaceManager, jobs: JobQueue
) -> None:
    host = ExtensionHost(
        workspace=workspace, jobs=jobs, enabled=["stopper", "greedy", "not_installed"]
    )
    host.start()
    marker = distribution / "marker"
    for _ in range(100):
        if marker.exists():
            break
        await asyncio.sleep(0.02)
    assert marker.read_text() == "running"
    states = {name: s.public() for name, s in host.states.items()}
    assert states["stopper"]["state"] == "running"
    assert states["greedy"]["state"] == "failed_to_load"
    assert "run_shell" in states["greedy"]["last_error"]
    assert states["not_installed"]["state"] == "failed_to_load"
    assert "no entry point 'not_installed'" in states["not_installed"]["last_error"]

    await host.stop()
    assert marker.read_text() == "stopped"  # its task was cancelled and finished
    assert host.states["stopper"].state == "stopped"
