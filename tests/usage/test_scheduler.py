"""usage/scheduler.py against the fake upstream: keep-last-good, live merges, the loop, scale."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fakes import FakeUpstream, Usage
from usage.doubles import max_loop_lag, open_stack

from jupyter_codex.models import UsageSnapshot
from jupyter_codex.usage import UsageScheduler


def running(scheduler: UsageScheduler) -> bool:
    return scheduler.running


async def test_failed_poll_keeps_the_last_snapshot(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add("a")
        await s.set_usage(fake_upstream, "a", primary_used=42, secondary_used=7)
        good = await s.usage.get("a")
        assert good is not None and good.primary_used_percent == 42
        fake_upstream.fail_usage("a", 500)
        await s.scheduler.poll("a")
        fake_upstream.fail_usage("a", 401)
        after = await s.scheduler.poll("a")
        assert after is not None and after == await s.usage.get("a")
        assert (after.primary_used_percent, after.secondary_used_percent) == (42, 7)
        assert after.fetched_at == good.fetched_at
        assert after.error_count == 2 and "HTTP 401" in (after.last_error or "")
        (listed,) = await s.scheduler.poll_all()
        assert listed.usage is not None and listed.usage.error_count == 3
        # Credentials failures (e.g. a dead refresh token) are recorded the same way.
        s.accounts.set_status("a", "quarantined")
        snap = await s.scheduler.poll("a")
        assert snap is not None and snap.error_count == 4 and snap.primary_used_percent == 42
    finally:
        await s.close()


async def test_live_usage_merges_and_re_evaluates(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    reasons: list[str] = []
    s.scheduler.add_listener(reasons.append)
    try:
        await s.accounts.add_many(["a", "b"])
        await s.set_usage(fake_upstream, "a", primary_used=10, secondary_used=20)
        await s.set_usage(fake_upstream, "b", primary_used=50, secondary_used=20)
        assert (await s.router.active("api")).id == "a"  # type: ignore[union-attr]
        # Only the primary window in the headers: the secondary stays as polled.
        merged = await s.scheduler.ingest_headers(
            "a", {"X-Codex-Primary-Used-Percent": "90.0", "x-codex-primary-window-minutes": "300"}
        )
        assert merged is not None and merged.source == "headers"
        assert (merged.primary_used_percent, merged.secondary_used_percent) == (90.0, 20.0)
        assert merged.secondary_window_minutes == 10080
        assert (await s.router.active("api")).id == "b"  # type: ignore[union-attr]
        assert await s.scheduler.ingest_headers("a", {"content-type": "x"}) is None
        # The app-server notification (cli target): same merge.
        note = {"rateLimits": {"limitId": "codex", "primary": {"usedPercent": 95}}}
        merged = await s.scheduler.ingest_app_server("b", note)
        assert merged is not None and merged.secondary_used_percent == 20
        assert merged.primary_used_percent == 95
        # Both accounts are now below the threshold: cli stays on b and says so once.
        assert (await s.router.active("cli")).id == "b"  # type: ignore[union-attr]
        assert [k for t, _, k, _ in s.alerts if t == "cli"].count("no_candidate") == 1
        assert reasons[-2:] == ["headers", "app_server"]
        # Unknown accounts are logged, not raised.
        assert await s.scheduler.ingest_headers("ghost", Usage(5, 5).headers()) is None
    finally:
        await s.close()


async def test_loop_polls_active_accounts_more_often(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(
        tmp_path,
        fake_upstream,
        scheduler={"active_interval": 0.2, "idle_interval": 60, "jitter": 0},
    )
    try:
        await s.accounts.add_many(["active", "idle", "off"])
        await s.accounts.add("key", kind="api_key")
        s.accounts.set_status("off", "disabled")
        for i in ("active", "idle", "off"):
            fake_upstream.set_usage(i, primary_used=10)
        await s.router.set_active("api", "active")
        await s.router.set_active("cli", "active")
        s.scheduler.start()
        s.scheduler.start()  # idempotent
        await asyncio.sleep(1.1)
        assert running(s.scheduler)
        polled = [r.account_id for r in fake_upstream.requests_to("/backend-api/wham/usage")]
        assert polled.count("active") >= 4
        assert polled.count("idle") == 1  # polled once at start, next due in a minute
        assert "off" not in polled  # disabled accounts are not polled; API keys cannot be
        await s.scheduler.stop()
        assert not running(s.scheduler)
        count = len(fake_upstream.requests_to("/backend-api/wham/usage"))
        await asyncio.sleep(0.3)
        assert len(fake_upstream.requests_to("/backend-api/wham/usage")) == count
    finally:
        await s.close()


async def test_next_poll_after_a_reset_and_after_restart(tmp_path: Path) -> None:
    s = await open_stack(tmp_path, scheduler={"jitter": 0})
    try:
        account = await s.accounts.add("a")
        now = time.time()
        assert s.scheduler.next_poll_at(account, None, active=False) == 0.0  # never polled
        fresh = UsageSnapshot(primary_used_percent=10, fetched_at=now - 100)
        assert s.scheduler.next_poll_at(account, fresh, active=False) == now - 100 + 3600
        other = await s.accounts.add("b")
        limited = UsageSnapshot(
            primary_used_percent=100,
            primary_resets_at=now + 60,
            limit_reached=True,
            fetched_at=now - 10,
        )
        assert s.scheduler.next_poll_at(other, limited, active=True) == now + 65
    finally:
        await s.close()


async def test_poll_all_200_accounts_keeps_the_loop_responsive(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        ids = [f"acct-{i:03d}" for i in range(200)]
        await s.accounts.add_many(ids)
        for n, i in enumerate(ids):
            fake_upstream.set_usage(i, primary_used=n % 100, secondary_used=(3 * n) % 100)
        stop = asyncio.Event()
        ticker = asyncio.create_task(max_loop_lag(stop))
        started = time.perf_counter()
        accounts = await s.scheduler.poll_all()
        elapsed = time.perf_counter() - started
        stop.set()
        lag = await ticker
        assert len(accounts) == 200 and all(a.usage is not None for a in accounts)
        assert accounts[57].usage.primary_used_percent == 57  # type: ignore[union-attr]
        assert len(fake_upstream.requests_to("/backend-api/wham/usage")) == 200
        assert elapsed < 30, elapsed  # an interval is 300 s; this takes ~1-3 s
        # Not a speed target (benchmarks/usage_poll.py measures that): a poller that
        # blocked the loop would stall it for most of the round, not for a slice of it.
        assert lag < max(0.25, elapsed / 2), f"max event-loop lag {lag * 1000:.1f} ms"
    finally:
        await s.close()
