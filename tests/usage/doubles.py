"""A small, real AccountSource for usage and routing tests, and the wiring around it.

``StaticAccounts`` stands in for the account manager (another team's code): it
writes real rows into the ``accounts`` table (so usage and target foreign keys
hold) and hands out Credentials whose ChatGPT account id is the account id, which
is how the fake upstream keys ``/wham/usage``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes import FakeUpstream

from jupyter_codex.accounts.credentials import Credentials
from jupyter_codex.accounts.router import AccountRouter
from jupyter_codex.errors import AccountQuarantinedError, NotFoundError
from jupyter_codex.models import Account, AccountKind, AccountStatus
from jupyter_codex.store import Database
from jupyter_codex.store.usage import SystemLogRepository, TargetRepository, UsageRepository
from jupyter_codex.usage import UsageCollector, UsageScheduler


class StaticAccounts:
    """Accounts the test inserts; ``credentials`` never refreshes anything."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._accounts: dict[str, Account] = {}
        self.credential_calls = 0

    async def add(
        self,
        account_id: str,
        *,
        kind: AccountKind = "chatgpt",
        status: AccountStatus = "active",
        email: str | None = None,
    ) -> Account:
        now = time.time() + len(self._accounts) * 1e-3  # stable creation order
        account = Account(
            id=account_id,
            label=email or account_id,
            email=email or f"{account_id}@example.com",
            kind=kind,
            chatgpt_account_id=account_id if kind == "chatgpt" else None,
            status=status,
            created_at=now,
            updated_at=now,
        )

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO accounts (id, label, email, kind, chatgpt_account_id, status, "
                "secrets, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    account.label,
                    account.email,
                    kind,
                    account.chatgpt_account_id,
                    status,
                    b"not-a-secret",
                    now,
                    now,
                ),
            )

        await self._db.run(insert)
        self._accounts[account_id] = account
        return account

    async def add_many(self, ids: list[str], **kwargs: Any) -> list[Account]:
        return [await self.add(i, **kwargs) for i in ids]

    def set_status(self, account_id: str, status: AccountStatus) -> None:
        self._accounts[account_id] = self._accounts[account_id].model_copy(
            update={"status": status}
        )

    async def list_accounts(self) -> list[Account]:
        return sorted(self._accounts.values(), key=lambda a: a.created_at)

    async def credentials(self, account_id: str, *, min_validity: float = 300.0) -> Credentials:
        self.credential_calls += 1
        account = self._accounts.get(account_id)
        if account is None:
            raise NotFoundError(f"No account with id {account_id!r}.")
        if account.status == "quarantined":
            raise AccountQuarantinedError("quarantined")
        if account.kind == "api_key":
            return Credentials(account_id, "api_key", api_key=f"sk-test-{account_id}")
        return Credentials(
            account_id,
            "chatgpt",
            access_token=f"at-{account_id}",
            chatgpt_account_id=account_id,
            plan="pro",
        )


@dataclass
class Stack:
    """Database, repositories, collector, scheduler and router wired as app.py will."""

    db: Database
    accounts: StaticAccounts
    usage: UsageRepository
    targets: TargetRepository
    system_log: SystemLogRepository
    collector: UsageCollector
    scheduler: UsageScheduler
    router: AccountRouter
    switches: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)
    alerts: list[tuple[str, str | None, str, str]] = field(default_factory=list)

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.router.stop()
        await self.collector.aclose()
        await self.db.close()

    async def set_usage(self, fake: FakeUpstream, account_id: str, **usage: Any) -> None:
        """Set the fake's usage for one account and poll it (listeners run)."""
        fake.set_usage(account_id, **usage)
        await self.scheduler.poll(account_id)


async def open_stack(
    tmp_path: Path,
    fake: FakeUpstream | None = None,
    *,
    scheduler: dict[str, Any] | None = None,
    log_rows: int = 10_000,
) -> Stack:
    db = Database(tmp_path / "codex.db")
    await db.open()
    accounts = StaticAccounts(db)
    usage = UsageRepository(db)
    targets = TargetRepository(db)
    system_log = SystemLogRepository(db, max_rows=log_rows)
    collector = UsageCollector(
        fake.chatgpt_base_url if fake else "https://127.0.0.1:9/backend-api",
        ca_certificate=fake.ca_path if fake else "",
    )
    sched = UsageScheduler(
        accounts=accounts, collector=collector, usage=usage, targets=targets, **(scheduler or {})
    )
    router = AccountRouter(accounts=accounts, usage=usage, targets=targets, system_log=system_log)
    stack = Stack(db, accounts, usage, targets, system_log, collector, sched, router)
    router.add_switch_listener(lambda *args: stack.switches.append(args))
    router.add_alert_listener(lambda *args: stack.alerts.append(args))
    sched.add_listener(router.on_usage)
    await router.start()
    return stack


async def max_loop_lag(stop: asyncio.Event, period: float = 0.005) -> float:
    """Largest delay (seconds) past ``period`` seen by a ticker until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(period)
        worst = max(worst, loop.time() - start - period)
    return worst
