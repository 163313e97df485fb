"""Repositories of the proxy (schema v3): client keys and the request log.

A client key is stored only as its keyed hash (HMAC-SHA256, computed by
``proxy/keys.py``) plus a short display prefix; nothing here can give the key
back. The request log holds metadata only (never bodies, headers or keys) and
is trimmed to its newest ``max_rows`` rows on every insert.
"""

from __future__ import annotations

import sqlite3
import time as _time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import NotFoundError
from .database import Database, rollback

_KEY_COLUMNS = (
    "id",
    "name",
    "prefix",
    "created_at",
    "last_used_at",
    "requests",
    "input_tokens",
    "output_tokens",
    "rate_limit_per_minute",
    "revoked_at",
)
_LOG_COLUMNS = (
    "id",
    "time",
    "key_id",
    "method",
    "path",
    "model",
    "account_id",
    "status",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "error",
)


@dataclass(frozen=True)
class ProxyKey:
    """A client key as listed: never the key itself, nor its hash."""

    id: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    requests: int
    input_tokens: int
    output_tokens: int
    rate_limit_per_minute: int | None
    revoked_at: float | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "revoked": self.revoked}


@dataclass(frozen=True)
class RequestLogEntry:
    """One proxied request: who, what, which account, how it went. No bodies."""

    id: int
    time: float
    key_id: str
    method: str
    path: str
    model: str | None
    account_id: str | None
    status: int
    latency_ms: float
    input_tokens: int | None
    output_tokens: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _key(row: Sequence[Any]) -> ProxyKey:
    return ProxyKey(**dict(zip(_KEY_COLUMNS, row, strict=True)))


class ProxyKeyRepository:
    """Client keys by id and by keyed hash."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self, key_id: str, name: str, prefix: str, key_hash: str, rate_limit: int | None
    ) -> ProxyKey:
        now = _time.time()

        def insert(conn: sqlite3.Connection) -> ProxyKey:
            conn.execute(
                "INSERT INTO proxy_keys (id, name, prefix, key_hash, created_at, "
                "rate_limit_per_minute) VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, name, prefix, key_hash, now, rate_limit),
            )
            return _get(conn, key_id)

        return await self._db.run(insert)

    async def list(self, *, include_revoked: bool = True) -> list[ProxyKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        sql = f"SELECT {', '.join(_KEY_COLUMNS)} FROM proxy_keys{where} ORDER BY created_at"
        return await self._db.run(lambda conn: [_key(r) for r in conn.execute(sql)])

    async def get(self, key_id: str) -> ProxyKey:
        return await self._db.run(lambda conn: _get(conn, key_id))

    async def by_hash(self, key_hash: str) -> ProxyKey | None:
        sql = f"SELECT {', '.join(_KEY_COLUMNS)} FROM proxy_keys WHERE key_hash = ?"

        def select(conn: sqlite3.Connection) -> ProxyKey | None:
            row = conn.execute(sql, (key_hash,)).fetchone()
            return _key(row) if row else None

        return await self._db.run(select)

    async def revoke(self, key_id: str) -> ProxyKey:
        """Mark the key revoked (idempotent); the row stays for the log and counters."""
        now = _time.time()

        def revoke(conn: sqlite3.Connection) -> ProxyKey:
            conn.execute(
                "UPDATE proxy_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (now, key_id),
            )
            return _get(conn, key_id)

        return await self._db.run(revoke)


def _get(conn: sqlite3.Connection, key_id: str) -> ProxyKey:
    row = conn.execute(
        f"SELECT {', '.join(_KEY_COLUMNS)} FROM proxy_keys WHERE id = ?", (key_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"No proxy client key with id {key_id!r}.")
    return _key(row)


class RequestLogRepository:
    """The request log, trimmed to the newest ``max_rows`` rows."""

    def __init__(self, db: Database, *, max_rows: int = 10_000) -> None:
        self._db = db
        self.max_rows = max_rows

    async def append(
        self,
        *,
        key_id: str,
        method: str,
        path: str,
        model: str | None,
        account_id: str | None,
        status: int,
        latency_ms: float,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        error: str | None = None,
        at: float | None = None,
    ) -> None:
        """Log one request and, for a client key, bump its counters (one transaction)."""
        when = _time.time() if at is None else at
        keep = max(self.max_rows, 1)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            try:
                cursor = conn.execute(
                    "INSERT INTO proxy_requests (time, key_id, method, path, model, account_id, "
                    "status, latency_ms, input_tokens, output_tokens, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        when,
                        key_id,
                        method,
                        path,
                        model,
                        account_id,
                        status,
                        latency_ms,
                        input_tokens,
                        output_tokens,
                        error,
                    ),
                )
                conn.execute(
                    "DELETE FROM proxy_requests WHERE id <= ?", ((cursor.lastrowid or 0) - keep,)
                )
                conn.execute(
                    "UPDATE proxy_keys SET last_used_at = ?, requests = requests + 1, "
                    "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? "
                    "WHERE id = ?",
                    (when, input_tokens or 0, output_tokens or 0, key_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise

        await self._db.run(write)

    async def list(self, *, limit: int = 100, key_id: str | None = None) -> list[RequestLogEntry]:
        """Newest first."""
        sql = f"SELECT {', '.join(_LOG_COLUMNS)} FROM proxy_requests"
        args: tuple[Any, ...] = ()
        if key_id is not None:
            sql += " WHERE key_id = ?"
            args = (key_id,)
        sql += " ORDER BY id DESC LIMIT ?"

        def select(conn: sqlite3.Connection) -> list[RequestLogEntry]:
            rows = conn.execute(sql, (*args, max(limit, 0))).fetchall()
            return [RequestLogEntry(**dict(zip(_LOG_COLUMNS, r, strict=True))) for r in rows]

        return await self._db.run(select)


class AgentSessionRepository:
    """Agent mode (schema v4): a client's conversation key -> its workspace session.

    Keys are digests of the client id and the conversation id the client sent,
    so the table never holds a client's own identifiers. Deleting a session
    drops its key (foreign key cascade).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        """The session id bound to ``key`` (and note its use), or None."""

        def select(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT session_id FROM agent_sessions WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE agent_sessions SET last_used_at = ? WHERE key = ?", (_time.time(), key)
                )
            return None if row is None else str(row[0])

        return await self._db.run(select)

    async def bind(self, key: str, session_id: str) -> None:
        """Bind ``key`` to ``session_id`` (replacing an older binding)."""
        now = _time.time()

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO agent_sessions (key, session_id, created_at, last_used_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "session_id = excluded.session_id, last_used_at = excluded.last_used_at",
                (key, session_id, now, now),
            )

        await self._db.run(upsert)


__all__ = [
    "AgentSessionRepository",
    "ProxyKey",
    "ProxyKeyRepository",
    "RequestLogEntry",
    "RequestLogRepository",
]
