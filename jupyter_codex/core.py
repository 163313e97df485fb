"""The managers that need no Jupyter server: store, accounts, router, usage polling.

Composed here once and used by the extension (``app.py``) and by the
``jupyter codex`` CLI, which must start fast and work with the server stopped,
so nothing here imports tornado or jupyter_server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from traitlets.config import LoggingConfigurable

from .accounts import AccountManager
from .accounts.router import AccountRouter
from .models import Account
from .store import Database
from .store.crypto import SecretBox
from .store.permissions import check_data_dir
from .store.usage import SystemLogRepository, TargetRepository, UsageRepository
from .usage import AlertNotifier, UsageCollector, UsageScheduler


class CodexCore:
    """The managers that need no server: store, accounts, router, usage polling.

    Built here for the extension and by ``jupyter codex`` (the CLI works with the
    server stopped, on the same store).
    """

    def __init__(
        self,
        *,
        data_dir: str,
        chatgpt_base_url: str,
        auth_base_url: str,
        ca_certificate: str,
        parent: LoggingConfigurable | None = None,
        log: Any = None,
    ) -> None:
        data = Path(data_dir)
        common: dict[str, Any] = {"parent": parent}
        if log is not None:
            common["log"] = log
        self.data_dir = data
        self.database = Database(data / "codex.db")
        self.secret_box = SecretBox(data)
        self.accounts = AccountManager(
            database=self.database,
            secret_box=self.secret_box,
            auth_base_url=auth_base_url,
            ca_certificate=ca_certificate,
            **common,
        )
        self.usage = UsageRepository(self.database)
        self.targets = TargetRepository(self.database)
        self.system_log = SystemLogRepository(self.database)
        self.router = AccountRouter(
            accounts=self.accounts,
            usage=self.usage,
            targets=self.targets,
            system_log=self.system_log,
            **common,
        )
        self.system_log.max_rows = self.router.system_log_max_rows
        self.collector = UsageCollector(chatgpt_base_url, ca_certificate=ca_certificate)
        self.scheduler = UsageScheduler(
            accounts=self.accounts,
            collector=self.collector,
            usage=self.usage,
            targets=self.targets,
            **common,
        )
        self.notifier = AlertNotifier(email_of=self._email_of, **common)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.accounts.add_listener(self._on_account_event)
        self.scheduler.add_listener(self.router.on_usage)
        self.router.add_switch_listener(self.notifier.on_switch)
        self.router.add_alert_listener(self.notifier.on_alert)

    def _on_account_event(self, kind: str, account_id: str) -> None:
        """Quarantines go to the system log (with the reason, never a token)."""
        if kind != "quarantined":
            return

        async def record() -> None:
            account = await self.accounts.get(account_id)
            await self.system_log.append(
                "error",
                "quarantine",
                f"{account.label} was quarantined: {account.status_reason}",
                from_account=account_id,
                reason=account.status_reason,
            )
            await self.router.on_usage("account quarantined")

        task = asyncio.ensure_future(record())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _email_of(self, account_id: str | None) -> str | None:
        account = self.router.account_cached(account_id)
        return account.email if account else None

    async def open(self) -> None:
        """Open the store (creating the data dir 0700)."""
        ensure_private_dir(self.data_dir, self.accounts.log)
        await self.database.open()

    async def warm_up(self) -> None:
        """Build the HTTP clients on a worker thread so the first poll or refresh
        does not stall the event loop for the httpx import and TLS set-up."""
        await asyncio.to_thread(self.collector.warm_up)
        await asyncio.to_thread(self.accounts.warm_up)

    async def close(self) -> None:
        """Stop background work and close clients and the store."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.scheduler.stop()
        await self.router.stop()
        await self.collector.aclose()
        await self.accounts.aclose()
        await self.database.close()

    async def list_accounts(self) -> list[Account]:
        """Every account with its usage snapshot and active targets."""
        return await self.router.accounts()


def ensure_private_dir(path: Path, log: Any) -> None:
    """Create the data dir 0700, and warn (naming the fix) about every folder or secret
    file in it that other users could read (see ``store/permissions.py``)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for problem in check_data_dir(path):
        log.warning("%s", problem.message())
