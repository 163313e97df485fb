"""accounts/strategies.py: the one candidate rule, ranking, and each strategy's choice."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from jupyter_codex.accounts.strategies import (
    ManualStrategy,
    PerRequestStrategy,
    RoundRobinStrategy,
    StrategyContext,
    ineligible_reason,
    pick_request_account,
    rank,
    weekly_exhausted,
)
from jupyter_codex.models import Account, Target, UsageSnapshot

NOW = 10_000.0


def acct(i: str, kind: Any = "chatgpt", status: Any = "active") -> Account:
    return Account(id=i, label=i, kind=kind, status=status, created_at=1.0, updated_at=1.0)


def use(p: float | None = 10, s: float | None = 10, **kw: Any) -> UsageSnapshot:
    return UsageSnapshot(primary_used_percent=p, secondary_used_percent=s, **kw)


def ctx(
    accounts: list[Account],
    usage: dict[str, UsageSnapshot],
    current: str | None = None,
    target: Target = "cli",
    **kw: Any,
) -> StrategyContext:
    base: dict[str, Any] = {
        "threshold": 15.0,
        "rotation_seconds": 300.0,
        "switched_at": NOW - 1,
        "now": NOW,
    }
    base.update(kw)
    return StrategyContext(target=target, current=current, accounts=accounts, usage=usage, **base)


@pytest.mark.parametrize(
    ("account", "usage", "cooldown", "expected"),
    [
        (acct("a"), use(), None, None),
        (acct("a"), None, None, None),  # unknown usage is a candidate
        (acct("a"), use(p=None, s=None), None, None),
        (acct("a"), use(p=85), None, "threshold"),  # 15 left == threshold: not above it
        (acct("a"), use(p=84.9), None, None),
        (acct("a"), use(s=90), None, "threshold"),
        (acct("a"), use(allowed=False), None, "limit_reached"),
        (acct("a"), use(limit_reached=True), None, "limit_reached"),
        (acct("a"), use(p=0, s=100), None, "weekly_exhausted"),
        (acct("a"), use(s=100, limit_reached=True), None, "weekly_exhausted"),
        (acct("a", status="disabled"), use(), None, "disabled"),
        (acct("a", status="quarantined"), use(), None, "quarantined"),
        (acct("a"), use(), NOW + 5, "cooldown"),
        (acct("a"), use(), NOW - 5, None),  # expired cooldown
        (acct("k", kind="api_key"), None, None, None),
        (acct("k", kind="api_key"), None, NOW + 5, "cooldown"),
    ],
)
@pytest.mark.parametrize("target", ["api", "cli"])
def test_candidate_rule(
    account: Account,
    usage: UsageSnapshot | None,
    cooldown: float | None,
    expected: str | None,
    target: Target,
) -> None:
    got = ineligible_reason(
        account, usage, target=target, threshold=15.0, now=NOW, cooldown_until=cooldown
    )
    assert got == expected


def test_rank_known_good_by_headroom_then_unknown() -> None:
    accounts = [acct("unknown"), acct("key", kind="api_key"), acct("low"), acct("high")]
    usage = {"low": use(p=60, s=10), "high": use(p=20, s=30)}
    assert [a.id for a in rank(accounts, usage)] == ["high", "low", "unknown", "key"]
    assert weekly_exhausted(use(s=100)) and not weekly_exhausted(use(s=99.9))
    assert not weekly_exhausted(None)


def test_manual_stays_until_threshold_then_takes_the_best() -> None:
    accounts = [acct("a"), acct("b"), acct("c")]
    usage = {"a": use(p=50), "b": use(p=40), "c": use(p=5)}
    assert ManualStrategy().select(ctx(accounts, usage, "a")).account_id == "a"
    usage["a"] = use(p=90)
    decision = ManualStrategy().select(ctx(accounts, usage, "a"))
    assert (decision.account_id, decision.reason) == ("c", "threshold")
    # Nothing active yet: the best candidate.
    assert ManualStrategy().select(ctx(accounts, usage, None)).account_id == "c"


def test_weekly_exhausted_is_never_chosen_even_when_all_else_is_worse() -> None:
    accounts = [acct("a"), acct("weekly"), acct("c")]
    usage = {"a": use(p=95), "weekly": use(p=0, s=100), "c": use(p=99)}
    for strategy in (ManualStrategy(), RoundRobinStrategy(), PerRequestStrategy()):
        decision = strategy.select(ctx(accounts, usage, "a", switched_at=0.0))
        assert decision.account_id is None  # keep a, raise an alert
    # Even the below-threshold fallback of per-request routing skips it.
    for per_request in (None, PerRequestStrategy()):
        chosen = pick_request_account(
            ctx(accounts, usage, "a", target="api"), per_request, frozenset({"a"})
        )
        assert chosen is not None and chosen.id == "c"
    assert (
        pick_request_account(ctx(accounts, usage, "a", target="api"), None, frozenset({"a", "c"}))
        is None
    )


def test_round_robin_order_exclusions_and_recency() -> None:
    accounts = [acct(i) for i in "abcdef"]
    usage = {i: use() for i in "abcdef"}
    usage["b"] = use(s=100)  # weekly exhausted
    usage["d"] = use(limit_reached=True)
    accounts[2] = acct("c", status="disabled")
    accounts[4] = acct("e", status="quarantined")
    rr = RoundRobinStrategy()
    assert rr.select(ctx(accounts, usage, "a")).account_id == "a"  # not due yet
    order: list[str | None] = []
    current: str | None = "a"
    last_used: dict[str, float] = {}
    for _ in range(4):
        decision = rr.select(ctx(accounts, usage, current, switched_at=0.0, last_used=last_used))
        assert decision.reason == "rotation"
        current = decision.account_id
        order.append(current)
    assert order == ["f", "a", "f", "a"]
    # A recently used account is skipped in favour of one not used for a while...
    accounts = [acct(i) for i in "abcd"]
    usage = {i: use() for i in "abcd"}
    recent = {"c": NOW - 10, "b": NOW - 10, "d": NOW - 3600}
    assert rr.select(ctx(accounts, usage, "b", switched_at=0.0, last_used=recent)).account_id == "d"
    # ...but taken (least recently used first) when nothing else is left.
    recent = {i: NOW - 10 - n for n, i in enumerate("abcd")}
    assert rr.select(ctx(accounts, usage, "a", switched_at=0.0, last_used=recent)).account_id == "d"
    # The current account falling below the threshold rotates early.
    usage["a"] = use(p=90)
    decision = rr.select(ctx(accounts, usage, "a"))
    assert (decision.account_id, decision.reason) == ("b", "threshold")


def test_per_request_spreads_by_headroom() -> None:
    accounts = [acct("a"), acct("b"), acct("c"), acct("d")]
    usage = {"a": use(p=10), "b": use(p=10), "c": use(p=60), "d": use(p=90)}
    strategy = PerRequestStrategy(random.Random(7))
    picks = Counter(
        strategy.pick(ctx(accounts, usage, "a", target="api")).id  # type: ignore[union-attr]
        for _ in range(600)
    )
    assert set(picks) == {"a", "b", "c"}  # d is below the threshold
    assert picks["a"] > picks["c"] and picks["b"] > picks["c"] > 0
    assert strategy.pick(ctx(accounts, usage, target="api"), frozenset({"a", "b", "c"})) is None
    # Unknown usage only (API keys): least recently used first, i.e. even rotation.
    keys = [acct("k1", kind="api_key"), acct("k2", kind="api_key")]
    used = {"k1": NOW - 1, "k2": NOW - 2}
    chosen = strategy.pick(ctx(keys, {}, target="api", last_used=used))
    assert chosen is not None and chosen.id == "k2"
