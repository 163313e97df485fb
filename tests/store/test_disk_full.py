"""A full data dir on a real tmpfs: nothing lost, nothing blocks, one warning per
episode with SQLite's own cause, one line on recovery, status degraded. A read-only
data dir takes the same path (SQLite's "readonly database" is the same 503 class);
remounting the tmpfs read-only under an open database is refused by the kernel
(EBUSY), so that case is checked on a read-only SQLite connection instead.

Real SQLite, the real WorkspaceManager and event log (its app-server is never
started: no turn is needed to produce events)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jupyter_codex.errors import StoreUnavailableError
from jupyter_codex.models import Session
from jupyter_codex.store import Database
from jupyter_codex.store.database import store_error
from jupyter_codex.supervisor import AppServerManager
from jupyter_codex.wiring import wire_workspace
from jupyter_codex.workspace import WorkspaceManager

LOG = "jupyter_codex.test_disk_full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            "mounting a small tmpfs needs root (or CAP_SYS_ADMIN), which this machine does "
            f"not give the tests: {done.stderr.strip() or done.returncode}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextlib.asynccontextmanager
async def workspace_on(folder: Path) -> AsyncIterator[WorkspaceManager]:
    db = Database(folder / "codex.db")
    await db.open()
    server = AppServerManager(name="cli", codex_home=str(folder / "home"))
    manager = WorkspaceManager(
        database=db, app_server=server, root_dir=str(folder), log=logging.getLogger(LOG)
    )
    manager.events.RETRY_SECONDS = 0.2
    await manager.start()
    wire_workspace(manager)
    try:
        yield manager
    finally:
        await manager.stop()
        await db.close()


async def stored_seqs(disk: Path) -> list[int]:
    """What is on disk, read through a second connection of its own."""
    db = Database(disk / "codex.db")
    await db.open()
    try:
        rows = await db.run(
            lambda c: c.execute(
                "SELECT seq FROM events WHERE session_id='s1' ORDER BY seq"
            ).fetchall()
        )
    finally:
        await db.close()
    return [r[0] for r in rows]


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:  # the last few bytes
                f.write(b"\0" * 512)
    return filler


async def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG and r.levelno >= level]


def test_read_only_and_full_are_unavailable_not_broken(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).executescript("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("INSERT INTO t VALUES (2)")
    error = store_error(info.value, str(path))
    assert isinstance(error, StoreUnavailableError) and error.status_code == 503
    assert "readonly" in error.message and "writable" in error.message
    full = store_error(sqlite3.OperationalError("database or disk is full"), str(path))
    assert isinstance(full, StoreUnavailableError)
    other = store_error(sqlite3.OperationalError("no such table: x"), str(path))
    assert not isinstance(other, StoreUnavailableError) and other.status_code == 500


async def test_full_data_dir_degrades_and_recovers(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOG)
    async with workspace_on(small_disk) as workspace:
        now = time.time()
        await workspace.sessions.insert(
            Session(
                id="s1",
                target="cli",
                cwd="",
                title="full disk",
                approval_policy="never",
                sandbox="read-only",
                created_at=now,
                updated_at=now,
            )
        )
        events = workspace.events
        for i in range(20):
            events.append("s1", "assistant.delta", {"delta": f"before {i}"})
        await events.flush()

        # -- the disk fills up ---------------------------------------------------------
        filler = fill(small_disk)
        for i in range(300):
            events.append("s1", "assistant.delta", {"delta": f"during {i} " + "x" * 2000})
        await wait_for(lambda: events.health()["state"] == "degraded")
        health = events.health()
        assert "database or disk is full" in health["reason"], health
        assert health["unsaved_events"] > 0

        started = time.monotonic()
        replayed = await workspace.replay("s1", 0)
        assert time.monotonic() - started < 1.0  # answers at once from disk + memory
        assert [int(b.split(",", 1)[0][7:]) for b in replayed] == list(range(1, 321))
        with pytest.raises(StoreUnavailableError):
            await events.flush()
        await asyncio.sleep(1.0)  # several retries later …
        warnings = messages(caplog, logging.WARNING)
        assert len(warnings) == 1, warnings  # … still one warning, with the real cause
        assert "database or disk is full" in warnings[0]
        assert not any("cannot rollback" in m for m in messages(caplog, logging.DEBUG))
        assert not any(r.exc_info for r in caplog.records if r.name == LOG)

        # -- space comes back ----------------------------------------------------------
        filler.unlink()
        await wait_for(lambda: events.health()["state"] == "ok")
        await events.flush()
        assert await stored_seqs(small_disk) == list(range(1, 321))
        warnings = messages(caplog, logging.WARNING)
        assert len(warnings) == 2 and "saved again" in warnings[1], warnings
