"""Poll every account's usage on a jittered schedule and ingest live usage.

Accounts active on a target are polled often (``active_interval``), the rest
rarely (``idle_interval``); an account that hit a limit is polled again just
after its reset time, so it rejoins as soon as it can. Polls run concurrently
up to ``concurrency`` on the shared HTTP client; each account's failure is
recorded on its own snapshot (last good numbers kept) and never stops the
round. After each round and each live update, listeners run (the app wires the
router's ``on_usage``), so switching happens before limits bite.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from traitlets import Float, Integer, observe
from traitlets.config import LoggingConfigurable

from ..accounts.credentials import AccountSource
from ..accounts.router import wait_event
from ..errors import CodexError
from ..listeners import Listeners
from ..models import Account, UsageSnapshot
from ..store.usage import TargetRepository, UsageRepository
from ..tasks import OwnedTask, TaskOwner, within
from .collector import UsageCollector, parse_app_server_rate_limits, parse_rate_limit_headers

#: ``cb(reason)`` with reason ``poll``, ``headers`` or ``app_server``; sync or async.
UsageListener = Callable[[str], Awaitable[Any] | None]

#: Longest sleep of the loop, so new accounts and target changes are picked up.
MAX_SLEEP = 30.0
#: Poll this long after a window's reset time.
RESET_GRACE = 5.0


class UsageScheduler(LoggingConfigurable):
    """Keeps every ChatGPT account's usage snapshot fresh."""

    active_interval = Float(
        300.0,
        config=True,
        help="Seconds between usage polls of an account active on a target (default 300).",
    )
    idle_interval = Float(
        3600.0,
        config=True,
        help="Seconds between usage polls of the other accounts (default 3600).",
    )
    jitter = Float(
        0.1,
        config=True,
        help="""Random spread of each interval, as a fraction (0.1 = +-10%), so polls of
        many accounts do not line up.""",
    )
    concurrency = Integer(
        8, config=True, help="How many usage requests may be in flight at once (default 8)."
    )
    history_max_rows = Integer(
        2000,
        config=True,
        help="Usage history points kept per account (older ones are deleted).",
    )
    poll_timeout = Float(
        15.0,
        config=True,
        help="""Deadline (seconds) of one account's usage poll, its token refresh included
        (the HTTP client's own per-phase timeout is 10 s). A poll that misses it counts as a
        failed poll: the last good snapshot is kept.""",
    )
    round_deadline = Float(
        60.0,
        config=True,
        help="""Deadline (seconds) of one scheduler tick (polling every due account). Polls
        still running then are cancelled and retried on a later tick, so one slow account
        never stalls the others' schedule.""",
    )

    def __init__(
        self,
        *,
        accounts: AccountSource,
        collector: UsageCollector,
        usage: UsageRepository,
        targets: TargetRepository,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._source = accounts
        self._collector = collector
        self._usage = usage
        self._targets = targets
        self._usage.max_history_rows = self.history_max_rows
        self._listeners: Listeners[[str]] = Listeners("usage", self.log)
        self._last_poll: dict[str, float] = {}
        self._spread: dict[str, float] = {}
        self._seen: dict[str, tuple[object, ...]] = {}
        self._tasks = TaskOwner("codex-usage-scheduler", self.log)
        self._loop: OwnedTask | None = None
        self._wake = asyncio.Event()

    @observe("history_max_rows")
    def _history_changed(self, change: Mapping[str, Any]) -> None:
        self._usage.max_history_rows = change["new"]

    def add_listener(self, cb: UsageListener) -> None:
        """Call ``cb(reason)`` after each poll round and each live update."""
        self._listeners.add(cb)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the polling loop (idempotent)."""
        if self._loop is None or self._loop.done():
            self._loop = self._tasks.start_soon(self._run, name="codex-usage-scheduler")

    async def stop(self) -> None:
        """Cancel the loop and wait for it (in-flight polls are cancelled too)."""
        self._loop = None
        await self._tasks.aclose()

    def wake(self) -> None:
        """Re-plan now (e.g. accounts were added or a target switched)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._loop.done()

    # -- polling ---------------------------------------------------------------------

    async def poll_all(self) -> list[Account]:
        """Poll every pollable account now; the accounts with their stored usage."""
        accounts = await self._source.list_accounts()
        await self._poll_many([a for a in accounts if _pollable(a)])
        await self._notify("poll")
        stored = await self._usage.get_all()
        return [a.model_copy(update={"usage": stored.get(a.id, a.usage)}) for a in accounts]

    async def poll(self, account_id: str) -> UsageSnapshot | None:
        """Poll one account now; its stored snapshot (None for API keys)."""
        snapshot = await self._poll_one(account_id)
        await self._notify("poll")
        return snapshot

    async def ingest_headers(
        self, account_id: str, headers: Mapping[str, str]
    ) -> UsageSnapshot | None:
        """Merge ``x-codex-*`` headers of a model response (the proxy calls this)."""
        partial = parse_rate_limit_headers(headers)
        return await self._ingest(account_id, partial, "headers")

    async def ingest_app_server(self, account_id: str, payload: Any) -> UsageSnapshot | None:
        """Merge an app-server ``account/rateLimits/updated`` notification."""
        partial = parse_app_server_rate_limits(payload)
        return await self._ingest(account_id, partial, "app_server")

    async def _ingest(
        self, account_id: str, partial: UsageSnapshot | None, source: str
    ) -> UsageSnapshot | None:
        if partial is None:
            return None
        try:
            merged = await self._usage.merge(account_id, partial)
        except CodexError as e:
            self.log.warning("Cannot store live usage of account %s: %s", account_id, e.message)
            return None
        # Live usage arrives with every response: re-evaluate only when it moved.
        if self._seen.get(account_id) != _key(merged):
            self._seen[account_id] = _key(merged)
            await self._notify(source)
        return merged

    async def _poll_many(self, accounts: Iterable[Account]) -> dict[str, UsageSnapshot | None]:
        semaphore = asyncio.Semaphore(max(1, self.concurrency))

        async def one(account_id: str) -> tuple[str, UsageSnapshot | None]:
            async with semaphore:
                return account_id, await self._poll_one(account_id)

        pairs = await asyncio.gather(*(one(a.id) for a in accounts))
        return dict(pairs)

    async def _poll_one(self, account_id: str) -> UsageSnapshot | None:
        """Fetch and store; failures are recorded on the snapshot, never raised."""
        self._last_poll[account_id] = time.time()
        self._spread[account_id] = 1.0 + random.uniform(-self.jitter, self.jitter)
        try:
            snapshot = await within(self._fetch(account_id), self.poll_timeout)
            if snapshot is None:
                return None
            stored = await self._usage.put(account_id, snapshot)
            self._seen[account_id] = _key(stored)
            return stored
        except asyncio.CancelledError:
            raise
        except Exception as e:
            message = e.message if isinstance(e, CodexError) else type(e).__name__
            if isinstance(e, asyncio.TimeoutError):
                message = f"no answer within {self.poll_timeout:.0f} s (poll_timeout)"
            self.log.warning("Usage poll of account %s failed: %s", account_id, message)
            if not isinstance(e, CodexError):
                self.log.debug("Usage poll failure details", exc_info=True)
            try:
                return await self._usage.record_error(account_id, message)
            except Exception:
                self.log.exception("Cannot record the failed usage poll of %s", account_id)
                return None

    async def _fetch(self, account_id: str) -> UsageSnapshot | None:
        credentials = await self._source.credentials(account_id)
        return await self._collector.fetch(credentials)

    async def _notify(self, reason: str) -> None:
        await self._listeners.emit(reason)

    # -- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            delay = MAX_SLEEP
            try:
                due, delay = await self._plan()
                if due:
                    self.log.debug("Polling usage of %d account(s)", len(due))
                    try:
                        await within(self._poll_many(due), self.round_deadline)
                    except asyncio.TimeoutError:
                        self.log.warning(
                            "Usage polling round missed its %.0f s deadline; the rest is "
                            "retried later",
                            self.round_deadline,
                        )
                    await self._notify("poll")
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("Usage scheduler round failed")
            await wait_event(self._wake, delay)

    async def _plan(self) -> tuple[list[Account], float]:
        """Accounts due now, and seconds until the next one is."""
        now = time.time()
        accounts = [a for a in await self._source.list_accounts() if _pollable(a)]
        active = {s.account_id for s in await self._targets.list() if s.account_id}
        stored = await self._usage.get_all()
        due: list[Account] = []
        next_in = MAX_SLEEP
        for account in accounts:
            at = self.next_poll_at(account, stored.get(account.id), account.id in active)
            if at <= now:
                due.append(account)
            else:
                next_in = min(next_in, at - now)
        return due, max(next_in, 0.05)

    def next_poll_at(self, account: Account, usage: UsageSnapshot | None, active: bool) -> float:
        """When ``account`` should be polled next (unix time)."""
        interval = self.active_interval if active or account.active_targets else self.idle_interval
        last = self._last_poll.get(account.id)
        if last is None:  # after a restart, trust a recent stored poll
            last = usage.fetched_at if usage and usage.fetched_at else None
            if last is None:
                return 0.0
            self._last_poll[account.id] = last
        spread = self._spread.setdefault(
            account.id, 1.0 + random.uniform(-self.jitter, self.jitter)
        )
        at = last + interval * spread
        if usage is not None:
            for used, reset in (
                (usage.primary_used_percent, usage.primary_resets_at),
                (usage.secondary_used_percent, usage.secondary_resets_at),
            ):
                limited = usage.limit_reached or not usage.allowed or (used or 0.0) >= 100.0
                if limited and reset is not None and reset + RESET_GRACE > last:
                    at = min(at, reset + RESET_GRACE)
        return at


def _key(usage: UsageSnapshot) -> tuple[object, ...]:
    """What routing decisions depend on (reset times move on their own)."""
    return (
        usage.primary_used_percent,
        usage.secondary_used_percent,
        usage.allowed,
        usage.limit_reached,
    )


def _pollable(account: Account) -> bool:
    """ChatGPT accounts in use; API keys have no usage endpoint, and disabled or
    quarantined accounts would only fail."""
    return account.kind == "chatgpt" and account.status == "active"
