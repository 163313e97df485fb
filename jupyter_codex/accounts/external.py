"""Notice account changes made by another process on the same database.

``jupyter codex accounts import`` (and the other ``accounts`` commands) open the
store directly, so the running server hears nothing about them. SQLite's
``PRAGMA data_version`` changes exactly when *another* connection commits, so a
cheap check every ``interval`` seconds tells when to look; the accounts are then
compared with the last list seen and each difference is reported as
``added`` / ``removed`` / ``updated``, the kinds the account manager's own
listeners get for changes made in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..store.database import Database
from ..tasks import OwnedTask, TaskOwner

#: ``(kind, account_id)`` for each change found.
ChangeListener = Callable[[str, str], Awaitable[None]]

log = logging.getLogger(__name__)


class ExternalAccountChanges:
    """Poll ``data_version``; on a change, diff the accounts and report each change.

    ``list_accounts`` is the account manager's (any awaitable returning objects with
    ``id``, ``label``, ``status`` and ``enabled``-like fields via ``model_dump``).
    """

    def __init__(
        self,
        database: Database,
        list_accounts: Callable[[], Awaitable[list[Any]]],
        on_change: ChangeListener,
        interval: float = 1.0,
    ) -> None:
        self._database = database
        self._list_accounts = list_accounts
        self._on_change = on_change
        self.interval = interval
        self._version: int | None = None
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._tasks = TaskOwner("codex-external-accounts", log)
        self._task: OwnedTask | None = None

    async def start(self) -> None:
        """Take the current state as the baseline and start watching."""
        self._version = await self._data_version()
        self._seen = await self._snapshot()
        if self._task is None:
            self._task = self._tasks.start_soon(self._run, name="codex-external-accounts")

    async def stop(self) -> None:
        self._task = None
        await self._tasks.aclose()

    async def check(self) -> list[tuple[str, str]]:
        """Look once; returns (and reports) the changes found."""
        version = await self._data_version()
        if version == self._version:
            return []
        self._version = version
        now = await self._snapshot()
        changes = [("added", i) for i in now if i not in self._seen]
        changes += [("removed", i) for i in self._seen if i not in now]
        changes += [("updated", i) for i in now if i in self._seen and now[i] != self._seen[i]]
        self._seen = now
        for kind, account_id in changes:
            await self._on_change(kind, account_id)
        return changes

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next check tries again; never kill the watcher
                log.exception("Checking for account changes made by other processes failed")

    async def _data_version(self) -> int:
        row = await self._database.run(lambda c: c.execute("PRAGMA data_version").fetchone())
        return int(row[0])

    async def _snapshot(self) -> dict[str, tuple[Any, ...]]:
        accounts = await self._list_accounts()
        return {a.id: (a.label, a.status, a.email) for a in accounts}
