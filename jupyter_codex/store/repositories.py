"""Typed repositories over :class:`~jupyter_codex.store.database.Database`.

They speak models, not rows, and every method is a coroutine that runs its SQL
on the database thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..errors import NotFoundError
from ..models import Session
from .database import Database, rollback

_SESSION_COLUMNS = (
    "id",
    "thread_id",
    "target",
    "cwd",
    "title",
    "model",
    "effort",
    "approval_policy",
    "sandbox",
    "archived",
    "created_at",
    "updated_at",
    "last_seq",
    "tools",
    "notebook",
    "network_access",
    "owner",
)
#: A thread's tools (and its notebook) are fixed when it starts: never updated.
_UPDATABLE = frozenset(_SESSION_COLUMNS) - {"id", "created_at", "tools", "owner", "notebook"}


def _session_from_row(row: Sequence[Any]) -> Session:
    values = dict(zip(_SESSION_COLUMNS, row, strict=True))
    values["archived"] = bool(values["archived"])
    values["network_access"] = bool(values["network_access"])
    values["tools"] = json.loads(values["tools"]) if values["tools"] else None
    return Session(**values)


class SessionRepository:
    """Workspace sessions (one row per Codex thread we manage)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, session: Session) -> None:
        """Store a new session."""
        data = session.model_dump(include=set(_SESSION_COLUMNS))
        data["archived"] = int(data["archived"])
        data["network_access"] = int(data["network_access"])
        data["tools"] = json.dumps(data["tools"]) if data["tools"] else None
        columns = ", ".join(_SESSION_COLUMNS)
        marks = ", ".join(f":{c}" for c in _SESSION_COLUMNS)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT INTO sessions ({columns}) VALUES ({marks})", data)

        await self._db.run(insert)

    async def update(self, session_id: str, **fields: Any) -> None:
        """Update the named columns of one session."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if "archived" in fields:
            fields["archived"] = int(fields["archived"])
        assignments = ", ".join(f"{k} = :{k}" for k in fields)

        def update(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                f"UPDATE sessions SET {assignments} WHERE id = :id", {**fields, "id": session_id}
            )
            return cur.rowcount

        if not await self._db.run(update):
            raise NotFoundError(f"No session with id {session_id!r}.")

    async def get(self, session_id: str) -> Session:
        """Return one session or raise :class:`NotFoundError`."""

        def get(conn: sqlite3.Connection) -> Sequence[Any] | None:
            return conn.execute(  # type: ignore[no-any-return]
                f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()

        row = await self._db.run(get)
        if row is None:
            raise NotFoundError(f"No session with id {session_id!r}.")
        return _session_from_row(row)

    async def list(self, *, include_archived: bool = False) -> list[Session]:
        """All sessions, most recently updated first."""
        where = "" if include_archived else "WHERE archived = 0"

        def select(conn: sqlite3.Connection) -> list[Sequence[Any]]:
            return conn.execute(
                f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions {where} "
                "ORDER BY updated_at DESC"
            ).fetchall()

        return [_session_from_row(r) for r in await self._db.run(select)]

    async def count(self) -> int:
        """How many sessions exist (archived included)."""

        def count(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

        return await self._db.run(count)

    async def delete(self, session_id: str) -> None:
        """Delete a session and its whole event log."""

        def delete(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
            cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            conn.execute("COMMIT")
            return cur.rowcount

        if not await self._db.run(delete):
            raise NotFoundError(f"No session with id {session_id!r}.")


class EventRepository:
    """The per-session event log. Bodies are stored as the client-facing JSON."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, rows: Sequence[tuple[str, int, str, float, str]]) -> None:
        """Append ``(session_id, seq, type, time, body_json)`` rows in one transaction.

        The sessions' ``last_seq`` and ``updated_at`` move forward in the same
        transaction, so a crash never leaves them disagreeing with the log.
        """
        if not rows:
            return
        last: dict[str, tuple[int, float]] = {}
        for session_id, seq, _type, time, _body in rows:
            prev = last.get(session_id)
            if prev is None or seq > prev[0]:
                last[session_id] = (seq, time)

        def append(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            try:
                conn.executemany(
                    "INSERT OR IGNORE INTO events (session_id, seq, type, time, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "UPDATE sessions SET last_seq = MAX(last_seq, ?), updated_at = MAX(updated_at, ?) "
                    "WHERE id = ?",
                    [(seq, time, sid) for sid, (seq, time) in last.items()],
                )
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise

        await self._db.run(append)

    async def bodies_after(self, session_id: str, after: int, limit: int) -> list[str]:
        """JSON bodies of the events with ``seq > after``, in sequence order."""

        def select(conn: sqlite3.Connection) -> list[str]:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (session_id, after, limit),
                )
            ]

        return await self._db.run(select)

    async def prune(self, session_id: str, up_to_seq: int) -> int:
        """Delete one session's events with ``seq <= up_to_seq``; return how many."""

        def delete(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM events WHERE session_id = ? AND seq <= ?", (session_id, up_to_seq)
            )
            return int(cur.rowcount)

        return await self._db.run(delete)

    async def lifecycle(self) -> list[tuple[str, int, str, str]]:
        """``(session_id, seq, type, body)`` of every turn and approval start and end,
        in log order (what crash recovery needs; read through a partial index)."""

        def select(conn: sqlite3.Connection) -> list[tuple[str, int, str, str]]:
            return conn.execute(
                "SELECT session_id, seq, type, body FROM events "
                "WHERE type IN ('turn.started', 'turn.completed', "
                "'approval.requested', 'approval.resolved') ORDER BY session_id, seq"
            ).fetchall()

        return await self._db.run(select)

    async def count(self, session_id: str) -> int:
        """How many events one session has."""

        def count(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (session_id,))
            return int(row.fetchone()[0])

        return await self._db.run(count)
