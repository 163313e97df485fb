"""The SQLite store: migrations, permissions, sessions and the event log."""

from __future__ import annotations

import sqlite3
import stat
import time
from pathlib import Path

import pytest

from jupyter_codex.errors import NotFoundError, StoreError
from jupyter_codex.models import Session
from jupyter_codex.store import Database, EventRepository, SessionRepository


def make_session(sid: str = "s1") -> Session:
    now = time.time()
    return Session(
        id=sid,
        cwd="proj",
        title="t",
        approval_policy="on-request",
        sandbox="workspace-write",
        created_at=now,
        updated_at=now,
    )


async def test_database_is_private_migrated_and_wal(tmp_path: Path) -> None:
    db = Database(tmp_path / "data" / "codex.db")
    await db.open()
    try:
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "data" / "codex.db").stat().st_mode) == 0o600
        mode = await db.run(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        assert mode == "wal"
        version = await db.run(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        assert version >= 1
    finally:
        await db.close()


async def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "codex.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=999")
    conn.close()
    with pytest.raises(StoreError, match="Upgrade jupyter-codex"):
        await Database(path).open()


async def test_sessions_and_events_round_trip(tmp_path: Path) -> None:
    db = Database(tmp_path / "codex.db")
    await db.open()
    sessions, events = SessionRepository(db), EventRepository(db)
    await sessions.insert(make_session())
    await events.append([("s1", i, "x", 100.0 + i, f'{{"seq":{i}}}') for i in range(1, 6)])
    # Appending the same seq again is ignored, never renumbered.
    await events.append([("s1", 3, "x", 200.0, '{"seq":3,"dup":true}')])
    assert await events.bodies_after("s1", 2, 10) == ['{"seq":3}', '{"seq":4}', '{"seq":5}']
    stored = await sessions.get("s1")
    assert stored.last_seq == 5 and stored.updated_at >= 105.0
    await sessions.update("s1", title="renamed", archived=True)
    assert [s.id for s in await sessions.list()] == []
    assert (await sessions.list(include_archived=True))[0].title == "renamed"
    await sessions.delete("s1")
    assert await events.count("s1") == 0
    with pytest.raises(NotFoundError):
        await sessions.get("s1")
    with pytest.raises(NotFoundError):
        await sessions.update("s1", title="x")
    await db.close()
    with pytest.raises(StoreError, match="closed"):
        await db.run(lambda c: None)


async def test_a_session_keeps_its_declared_tools_and_older_stores_migrate(
    tmp_path: Path,
) -> None:
    from jupyter_codex.models import ToolSpec
    from jupyter_codex.store.migrations import MIGRATIONS

    # A store written before migration 5 (no tools column) with one session in it.
    path = tmp_path / "codex.db"
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:4]:
        for sql in statements:
            conn.execute(sql)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO sessions (id, target, cwd, title, approval_policy, sandbox, created_at,"
        " updated_at) VALUES ('old', 'cli', '', 'old', 'on-request', 'workspace-write', 1, 1)"
    )
    conn.commit()
    conn.close()

    db = Database(path)
    await db.open()
    sessions = SessionRepository(db)
    assert (await sessions.get("old")).tools is None
    spec = ToolSpec(
        name="lookup",
        description="Find a customer.",
        input_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
    )
    await sessions.insert(make_session("new").model_copy(update={"tools": [spec]}))
    assert (await sessions.get("new")).tools == [spec]
    assert [s.tools for s in await sessions.list()] == [[spec], None]
    with pytest.raises(ValueError, match="not updatable"):  # fixed for the thread's life
        await sessions.update("new", tools="[]")
    await db.close()
