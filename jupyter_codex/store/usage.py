"""Repositories for usage snapshots, target state and the system log (schema v2).

Usage writes keep the last good numbers: a failed poll only bumps the error
fields, and live (sparse) updates merge into the stored snapshot. Each
read-modify-write runs inside one ``Database.run`` call on the single database
thread, so concurrent updates of one account never lose each other's fields.
"""

from __future__ import annotations

import json
import sqlite3
import time as _time
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequestError, NotFoundError
from ..models import SystemLogEntry, TargetState, UsageSnapshot
from .database import Database, rollback

#: Fields that describe the usage itself (as opposed to poll bookkeeping).
USAGE_FIELDS = (
    "primary_used_percent",
    "secondary_used_percent",
    "primary_window_minutes",
    "secondary_window_minutes",
    "primary_resets_at",
    "secondary_resets_at",
    "allowed",
    "limit_reached",
    "plan_type",
)

_TARGET_COLUMNS = (
    "name",
    "account_id",
    "strategy",
    "threshold_percent",
    "rotation_seconds",
    "switched_at",
    "signed_out",
)
_TARGET_UPDATABLE = frozenset(_TARGET_COLUMNS) - {"name"}
_LOG_COLUMNS = (
    "id",
    "time",
    "level",
    "kind",
    "target",
    "from_account",
    "to_account",
    "reason",
    "message",
)

_Targets = list[TargetState]
_Entries = list[SystemLogEntry]


def merge_snapshot(old: UsageSnapshot | None, new: UsageSnapshot) -> UsageSnapshot:
    """Overlay the usage fields that ``new`` explicitly carries onto ``old``.

    Live sources are sparse (a header set may hold only the primary window), so
    only fields in ``new.model_fields_set`` win; error bookkeeping stays with ``old``.
    """
    if old is None:
        return new
    update = {k: getattr(new, k) for k in new.model_fields_set if k in USAGE_FIELDS}
    update["fetched_at"] = new.fetched_at or old.fetched_at
    update["source"] = new.source
    return old.model_copy(update=update)


def _read(conn: sqlite3.Connection, account_id: str) -> UsageSnapshot | None:
    row = conn.execute(
        "SELECT body FROM usage_snapshots WHERE account_id = ?", (account_id,)
    ).fetchone()
    return UsageSnapshot.model_validate_json(row[0]) if row else None


def _write(conn: sqlite3.Connection, account_id: str, snapshot: UsageSnapshot) -> None:
    conn.execute(
        "INSERT INTO usage_snapshots (account_id, body) VALUES (?, ?) "
        "ON CONFLICT(account_id) DO UPDATE SET body = excluded.body",
        (account_id, snapshot.model_dump_json()),
    )


def _transaction(conn: sqlite3.Connection, fn: Any) -> Any:
    conn.execute("BEGIN")
    try:
        result = fn()
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return result


class UsageRepository:
    """Last known usage per account plus a bounded history of its two windows."""

    def __init__(self, db: Database, *, max_history_rows: int = 2000) -> None:
        self._db = db
        #: History points kept per account; older ones are deleted on write.
        self.max_history_rows = max_history_rows

    async def get(self, account_id: str) -> UsageSnapshot | None:
        """The stored snapshot of one account, or None if never fetched."""
        return await self._db.run(lambda conn: _read(conn, account_id))

    async def get_all(self) -> dict[str, UsageSnapshot]:
        """Every stored snapshot by account id."""

        def select(conn: sqlite3.Connection) -> dict[str, UsageSnapshot]:
            rows = conn.execute("SELECT account_id, body FROM usage_snapshots").fetchall()
            return {r[0]: UsageSnapshot.model_validate_json(r[1]) for r in rows}

        return await self._db.run(select)

    async def put(
        self, account_id: str, snapshot: UsageSnapshot, *, history: bool = True
    ) -> UsageSnapshot:
        """Store a complete, successful poll: numbers replaced, error count reset."""
        stored = snapshot.model_copy(update={"error_count": 0, "last_error": None})
        return await self._store(account_id, lambda old: stored, history)

    async def merge(
        self, account_id: str, partial: UsageSnapshot, *, history: bool = False
    ) -> UsageSnapshot:
        """Merge a sparse live update (headers, app-server notification)."""
        return await self._store(account_id, lambda old: merge_snapshot(old, partial), history)

    async def record_error(
        self, account_id: str, message: str, *, at: float | None = None
    ) -> UsageSnapshot:
        """Note a failed poll; the last good numbers stay untouched (never zeros)."""
        when = _time.time() if at is None else at

        def bump(old: UsageSnapshot | None) -> UsageSnapshot:
            base = old or UsageSnapshot(fetched_at=None)
            return base.model_copy(
                update={
                    "error_count": base.error_count + 1,
                    "last_error": message[:500],
                    "last_error_at": when,
                }
            )

        return await self._store(account_id, bump, history=False)

    async def _store(self, account_id: str, make: Any, history: bool) -> UsageSnapshot:
        keep = self.max_history_rows

        def store(conn: sqlite3.Connection) -> UsageSnapshot:
            def body() -> UsageSnapshot:
                snapshot: UsageSnapshot = make(_read(conn, account_id))
                _write(conn, account_id, snapshot)
                if history:
                    conn.execute(
                        "INSERT INTO usage_history (account_id, time, primary_used, "
                        "secondary_used) VALUES (?, ?, ?, ?)",
                        (
                            account_id,
                            snapshot.fetched_at or _time.time(),
                            snapshot.primary_used_percent,
                            snapshot.secondary_used_percent,
                        ),
                    )
                    conn.execute(
                        "DELETE FROM usage_history WHERE rowid IN (SELECT rowid FROM "
                        "usage_history WHERE account_id = ? ORDER BY time DESC, rowid DESC "
                        "LIMIT -1 OFFSET ?)",
                        (account_id, max(keep, 0)),
                    )
                return snapshot

            result: UsageSnapshot = _transaction(conn, body)
            return result

        return await self._db.run(store)

    async def history(
        self, account_id: str, *, since: float | None = None, limit: int = 1000
    ) -> list[tuple[float, float | None, float | None]]:
        """``(time, primary_used, secondary_used)`` points, oldest first."""

        def select(conn: sqlite3.Connection) -> list[tuple[float, float | None, float | None]]:
            rows = conn.execute(
                "SELECT time, primary_used, secondary_used FROM usage_history "
                "WHERE account_id = ? AND time >= ? ORDER BY time DESC, rowid DESC LIMIT ?",
                (account_id, since if since is not None else float("-inf"), limit),
            ).fetchall()
            return [(r[0], r[1], r[2]) for r in reversed(rows)]

        return await self._db.run(select)


def _target_from_row(row: Sequence[Any]) -> TargetState:
    values = dict(zip(_TARGET_COLUMNS, row, strict=True))
    values["signed_out"] = json.loads(values["signed_out"] or "[]")
    return TargetState(**values)


class TargetRepository:
    """The two rows of ``targets`` (``api``, ``cli``): active account and strategy."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, name: str) -> TargetState:
        """One target, or :class:`NotFoundError`."""

        def select(conn: sqlite3.Connection) -> Sequence[Any] | None:
            return conn.execute(  # type: ignore[no-any-return]
                f"SELECT {', '.join(_TARGET_COLUMNS)} FROM targets WHERE name = ?", (name,)
            ).fetchone()

        row = await self._db.run(select)
        if row is None:
            raise NotFoundError(f"No target named {name!r} (use 'api' or 'cli').")
        return _target_from_row(row)

    async def list(self) -> _Targets:
        """Every target, by name."""

        def select(conn: sqlite3.Connection) -> list[Sequence[Any]]:
            return conn.execute(
                f"SELECT {', '.join(_TARGET_COLUMNS)} FROM targets ORDER BY name"
            ).fetchall()

        return [_target_from_row(r) for r in await self._db.run(select)]

    async def update(self, name: str, /, **fields: Any) -> TargetState:
        """Set the named columns of one target and return the new state."""
        unknown = set(fields) - _TARGET_UPDATABLE
        if unknown:
            raise InvalidRequestError(f"Target fields not updatable: {sorted(unknown)}")
        if "signed_out" in fields:
            fields["signed_out"] = json.dumps(sorted(set(fields["signed_out"])))
        if fields:
            assignments = ", ".join(f"{k} = :{k}" for k in fields)

            def update(conn: sqlite3.Connection) -> int:
                cur = conn.execute(
                    f"UPDATE targets SET {assignments} WHERE name = :name", {**fields, "name": name}
                )
                return cur.rowcount

            if not await self._db.run(update):
                raise NotFoundError(f"No target named {name!r} (use 'api' or 'cli').")
        return await self.get(name)


class SystemLogRepository:
    """Append-only operational log (switches, alerts, errors), rotated to ``max_rows``."""

    def __init__(self, db: Database, *, max_rows: int = 10_000) -> None:
        self._db = db
        self.max_rows = max_rows

    async def append(
        self,
        level: str,
        kind: str,
        message: str,
        *,
        target: str | None = None,
        from_account: str | None = None,
        to_account: str | None = None,
        reason: str | None = None,
        time: float | None = None,
    ) -> SystemLogEntry:
        """Add one entry (never put secrets in ``message``) and drop the oldest beyond the cap."""
        values = {
            "time": _time.time() if time is None else time,
            "level": level,
            "kind": kind,
            "target": target,
            "from_account": from_account,
            "to_account": to_account,
            "reason": reason,
            "message": message,
        }
        keep = max(self.max_rows, 1)

        def insert(conn: sqlite3.Connection) -> int:
            def body() -> int:
                cur = conn.execute(
                    f"INSERT INTO system_log ({', '.join(values)}) "
                    f"VALUES ({', '.join(':' + k for k in values)})",
                    values,
                )
                new_id = int(cur.lastrowid or 0)
                # ids only grow (AUTOINCREMENT), so this is an indexed range delete.
                conn.execute("DELETE FROM system_log WHERE id <= ?", (new_id - keep,))
                return new_id

            result: int = _transaction(conn, body)
            return result

        new_id = await self._db.run(insert)
        return SystemLogEntry(id=new_id, **values)  # type: ignore[arg-type]

    async def list(
        self, limit: int = 100, before_id: int | None = None, *, kind: str | None = None
    ) -> _Entries:
        """Newest first; page with ``before_id`` (the smallest id already seen)."""
        where, params = ["1 = 1"], []  # type: list[str], list[Any]
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        params.append(max(0, min(limit, 10_000)))

        def select(conn: sqlite3.Connection) -> list[Sequence[Any]]:
            return conn.execute(
                f"SELECT {', '.join(_LOG_COLUMNS)} FROM system_log WHERE {' AND '.join(where)} "
                "ORDER BY id DESC LIMIT ?",
                params,
            ).fetchall()

        rows = await self._db.run(select)
        return [SystemLogEntry(**dict(zip(_LOG_COLUMNS, r, strict=True))) for r in rows]

    async def count(self) -> int:
        """How many entries are kept."""
        return await self._db.run(
            lambda conn: int(conn.execute("SELECT COUNT(*) FROM system_log").fetchone()[0])
        )
