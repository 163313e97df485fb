"""accounts/router.py against the fake upstream and a real SQLite store.

Usage reaches the router the way it will in production: the fake's /wham/usage is
polled by the scheduler, whose listener re-evaluates both targets.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from fakes import FakeUpstream
from usage.doubles import open_stack

from jupyter_codex.errors import (
    AccountError,
    AccountQuarantinedError,
    InvalidRequestError,
    NoAccountAvailableError,
    NotFoundError,
)


async def test_threshold_switch_on_both_targets(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b", "c"])
        for i, used in (("a", 10), ("b", 40), ("c", 20)):
            fake_upstream.set_usage(i, primary_used=used, secondary_used=5)
        await s.scheduler.poll_all()
        # No active account yet: each target takes the best candidate.
        assert [(await s.router.active(t)).id for t in ("api", "cli")] == ["a", "a"]  # type: ignore[union-attr]
        await s.router.set_active("cli", "b")
        s.switches.clear()
        await s.set_usage(fake_upstream, "a", primary_used=86, secondary_used=5)
        assert (await s.router.active("api")).id == "c"  # type: ignore[union-attr]
        assert (await s.router.active("cli")).id == "b"  # type: ignore[union-attr]
        await s.set_usage(fake_upstream, "b", primary_used=50, secondary_used=90)
        assert (await s.router.active("cli")).id == "c"  # type: ignore[union-attr]
        assert s.switches == [("api", "a", "c", "threshold"), ("cli", "b", "c", "threshold")]
        logged = [
            (e.target, e.from_account, e.to_account, e.reason)
            for e in await s.system_log.list(kind="switch")
        ]
        assert logged[:2] == [("cli", "b", "c", "threshold"), ("api", "a", "c", "threshold")]
        accounts = {a.id: a for a in await s.router.accounts()}
        assert accounts["c"].active_targets == ["api", "cli"]
        assert accounts["a"].usage is not None and accounts["a"].usage.primary_used_percent == 86
    finally:
        await s.close()


async def test_alert_fires_once_per_crossing(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b"])
        await s.set_usage(fake_upstream, "b", primary_used=0, secondary_used=100)  # weekly out
        await s.set_usage(fake_upstream, "a", primary_used=10)
        await s.router.set_active("api", None)
        await s.router.set_active("api", "a")
        for _ in range(3):
            await s.set_usage(fake_upstream, "a", primary_used=90)
        kinds = [(t, kind) for t, _, kind, _ in s.alerts]
        assert kinds.count(("api", "threshold")) == 1
        assert kinds.count(("api", "no_candidate")) == 1
        assert (await s.router.active("api")).id == "a"  # type: ignore[union-attr]
        await s.set_usage(fake_upstream, "a", primary_used=20)  # recovered
        await s.set_usage(fake_upstream, "a", primary_used=95)  # crosses again
        kinds = [(t, kind) for t, _, kind, _ in s.alerts]
        assert kinds.count(("api", "threshold")) == 2
        assert all(a == "a" for t, a, k, _ in s.alerts if k == "threshold")
        assert len(await s.system_log.list(kind="alert")) == len(s.alerts)
        # The weekly-exhausted account was never activated anywhere.
        assert all("b" not in (f, to) for _, f, to, _ in s.switches)
    finally:
        await s.close()


async def test_set_active_refuses_unusable_accounts(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add("ok")
        await s.accounts.add("off", status="disabled")
        await s.accounts.add("dead", status="quarantined")
        await s.accounts.add("weekly")
        await s.set_usage(fake_upstream, "weekly", primary_used=3, secondary_used=100)
        with pytest.raises(AccountError, match="disabled"):
            await s.router.set_active("cli", "off")
        with pytest.raises(AccountQuarantinedError):
            await s.router.set_active("cli", "dead")
        with pytest.raises(AccountError, match="weekly limit"):
            await s.router.set_active("api", "weekly")
        with pytest.raises(NotFoundError):
            await s.router.set_active("api", "ghost")
        with pytest.raises(InvalidRequestError):
            await s.router.set_active("nope", "ok")  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="only applies to the api"):
            await s.router.set_strategy("cli", "per_request")
        with pytest.raises(InvalidRequestError):
            await s.router.set_strategy("api", "manual", threshold_percent=120)
        assert (await s.router.active("cli")).id == "ok"  # type: ignore[union-attr]
        await s.router.set_active("cli", None)
        state = await s.router.set_active("cli", "ok", actor="tester")
        assert state.account_id == "ok" and state.switched_at is not None
        (entry,) = await s.system_log.list(kind="switch", limit=1)
        assert entry.reason == "manual" and "by tester" in entry.message
    finally:
        await s.close()


async def test_round_robin_rotation_order_and_exclusions(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "weekly", "off", "limited", "dead", "f", "g"])
        s.accounts.set_status("off", "disabled")
        s.accounts.set_status("dead", "quarantined")
        for i in ("a", "f", "g", "off", "dead"):
            fake_upstream.set_usage(i, primary_used=10, secondary_used=10)
        fake_upstream.set_usage("weekly", primary_used=0, secondary_used=100)
        fake_upstream.set_usage("limited", primary_used=50, secondary_used=10, limit_reached=True)
        await s.scheduler.poll_all()
        await s.router.set_active("cli", "a")
        await s.router.set_strategy("cli", "round_robin", rotation_seconds=300)
        assert not await s.router.evaluate("cli")  # not due yet
        order = []
        for _ in range(4):
            await s.targets.update("cli", switched_at=time.time() - 301)
            assert await s.router.evaluate("cli", "test")
            order.append((await s.router.active("cli")).id)  # type: ignore[union-attr]
        assert order == ["f", "g", "a", "f"]
        assert {r for _, _, _, r in s.switches[-4:]} == {"rotation"}
    finally:
        await s.close()


async def test_round_robin_timer_rotates_on_time(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b"])
        await s.router.set_active("api", "a")
        await s.router.set_strategy("api", "round_robin", rotation_seconds=1)
        await s.targets.update("api", switched_at=time.time())
        await s.router.evaluate("api")
        s.switches.clear()
        two = asyncio.Event()

        def on_switch(*_: object) -> None:
            if len(s.switches) >= 2:
                two.set()

        s.router.add_switch_listener(on_switch)
        await asyncio.wait_for(two.wait(), timeout=5)
        assert s.switches[:2] == [("api", "a", "b", "rotation"), ("api", "b", "a", "rotation")]
    finally:
        await s.close()


async def test_pick_for_request_cooldown_and_no_account(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b", "c"])
        for i in "abc":
            fake_upstream.set_usage(i, primary_used=20, secondary_used=20)
        await s.scheduler.poll_all()
        await s.router.set_strategy("api", "per_request")
        picks = Counter([(await s.router.pick_for_request()).id for _ in range(300)])
        assert set(picks) == {"a", "b", "c"} and min(picks.values()) > 50
        assert (await s.router.pick_for_request(exclude=["a", "b"])).id == "c"
        # A 429 on the active account: cooled down, the target moves on at once.
        active = (await s.router.active("api")).id  # type: ignore[union-attr]
        await s.router.cooldown(active, time.time() + 60, "usage_limit_reached")
        assert (await s.router.active("api")).id != active  # type: ignore[union-attr]
        assert s.switches[-1][3] == "cooldown"
        for i in "abc":
            await s.router.cooldown(i, time.time() + 30, "usage_limit_reached")
        with pytest.raises(NoAccountAvailableError) as info:
            await s.router.pick_for_request()
        assert 1 <= info.value.details["retry_after"] <= 60
        await s.router.cooldown("a", time.time() - 1, "already over")  # ignored
        assert set(s.router.cooldowns()) == {"a", "b", "c"}
    finally:
        await s.close()


async def test_api_keys_and_unknown_usage(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add("key", kind="api_key")
        await s.accounts.add("never-polled")
        await s.accounts.add("good")
        fake_upstream.set_usage("good", primary_used=30, secondary_used=30)
        await s.scheduler.poll("good")  # runs the listeners: both targets evaluated
        assert (await s.router.active("api")).id == "good"  # type: ignore[union-attr]
        assert (await s.router.active("cli")).id == "good"  # type: ignore[union-attr]
        await s.set_usage(fake_upstream, "good", primary_used=95)
        # Known-good is gone; unknown usage ranks in account order (API key first).
        assert (await s.router.active("cli")).id == "key"  # type: ignore[union-attr]
        assert (await s.router.pick_for_request()).id == "key"
    finally:
        await s.close()


async def test_outside_change_is_announced(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b"])
        await s.router.set_active("cli", "a")
        await s.targets.update("cli", account_id="b")  # e.g. `jupyter codex accounts use`
        assert not await s.router.evaluate("cli")
        assert s.switches[-1] == ("cli", "a", "b", "external")
    finally:
        await s.close()


async def test_a_signed_out_account_stays_out_of_its_target_until_chosen_again(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    s = await open_stack(tmp_path, fake_upstream)
    try:
        await s.accounts.add_many(["a", "b"])
        await s.set_usage(fake_upstream, "a", primary_used=10)
        await s.set_usage(fake_upstream, "b", primary_used=20)
        await s.router.set_active("cli", "a")
        assert await s.router.sign_out("cli", "a") is True
        # Polls and evaluations pick another account, never the signed-out one ...
        for _ in range(2):
            await s.scheduler.poll_all()
            await s.router.evaluate("cli")
        assert (await s.router.active("cli")).id == "b"  # type: ignore[union-attr]
        assert await s.router.sign_out("cli", "b") is True
        await s.scheduler.poll_all()
        assert await s.router.active("cli") is None
        # ... the other target is untouched, and the sign-out is stored with the target.
        assert (await s.router.active("api")).id == "a"  # type: ignore[union-attr]
        assert sorted((await s.router.state("cli")).signed_out) == ["a", "b"]
        # Chosen by hand, an account is the target's again and may be picked later.
        await s.router.set_active("cli", "a")
        assert (await s.router.state("cli")).signed_out == ["b"]
        with pytest.raises(NotFoundError):
            await s.router.sign_out("cli", "nope")
    finally:
        await s.close()
