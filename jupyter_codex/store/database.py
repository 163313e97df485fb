"""SQLite access off the event loop.

One connection, used by one dedicated worker thread: SQLite connections are not
safe to share between threads, and a single writer is what WAL wants anyway.
Every call from the event loop goes through :meth:`Database.run`, so the loop
never blocks on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..errors import StoreError, StoreUnavailableError
from .migrations import MIGRATIONS

T = TypeVar("T")

log = logging.getLogger(__name__)


class Database:
    """A SQLite database file with schema migrations, used from asyncio.

    Parameters
    ----------
    path:
        The database file, or ``":memory:"``. Its directory is created 0700.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifecycle -----------------------------------------------------------

    def open_sync(self) -> None:
        """Open and migrate on the calling thread (CLI, start-up before the loop runs)."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codex-sqlite")
        self._executor.submit(self._open).result()

    async def open(self) -> None:
        """Open and migrate the database without blocking the loop."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codex-sqlite")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            _migrate(conn)
        except sqlite3.Error as e:
            raise StoreError(f"Cannot open the jupyter-codex database at {self.path}: {e}") from e
        if self.path != ":memory:":
            os.chmod(self.path, 0o600)
        self._conn = conn

    async def close(self) -> None:
        """Finish pending work and close the connection."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        await asyncio.get_running_loop().run_in_executor(executor, self._close)
        executor.shutdown(wait=True)

    def close_sync(self) -> None:
        """Close from a thread without a running loop (CLI)."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        executor.submit(self._close).result()
        executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- running work --------------------------------------------------------

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread and return its result."""
        if self._executor is None:
            raise StoreError("The jupyter-codex database is closed.")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread from synchronous code (CLI)."""
        if self._executor is None:
            raise StoreError("The jupyter-codex database is closed.")
        return self._executor.submit(self._call, fn).result()

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._conn is not None
        try:
            return fn(self._conn)
        except sqlite3.Error as e:
            raise store_error(e, self.path) from e


#: SQLite messages that mean "cannot write here now", not "something is broken".
_UNAVAILABLE = ("database or disk is full", "readonly database", "disk i/o error")


def store_error(error: sqlite3.Error, path: str) -> StoreError:
    """The error tree's reading of a SQLite error: a full or read-only data dir is a
    503 that says what to do; anything else is a 500."""
    message = str(error)
    if any(m in message.lower() for m in _UNAVAILABLE):
        return StoreUnavailableError(
            f"The jupyter-codex database cannot be written ({message}) at {path}: free "
            "disk space or make the data dir writable. Reads keep working meanwhile."
        )
    return StoreError(f"Database error: {message}")


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so itself (it does
    on a full disk, and a second ROLLBACK would hide the real error behind 'cannot
    rollback - no transaction is active')."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations newer than ``PRAGMA user_version``, each in a transaction."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StoreError(
            f"The database schema (version {version}) is newer than this jupyter-codex "
            f"understands ({len(MIGRATIONS)}). Upgrade jupyter-codex."
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        log.info("jupyter-codex database migrated to schema version %d", number)
