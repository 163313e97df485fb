"""How a target picks its account: one eligibility rule, then a pluggable strategy.

Eligibility lives in :func:`ineligible_reason` (filter first, score second, as
the research recommends), so every strategy agrees on what may never be used:
a weekly-exhausted account is never activated, whatever the alternatives.
Strategies are pure: they get a :class:`StrategyContext` snapshot and return a
:class:`Decision`; the router applies it, logs it and tells listeners.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from ..errors import AccountError, AccountQuarantinedError
from ..models import Account, StrategyName, Target, UsageSnapshot


def remaining(used_percent: float | None) -> float | None:
    """Remaining percent of a window (100 - used, floored at 0), None if unknown."""
    return None if used_percent is None else max(0.0, 100.0 - used_percent)


def weekly_exhausted(usage: UsageSnapshot | None) -> bool:
    """Whether the weekly (secondary) window is used up: such an account is never activated."""
    return usage is not None and (usage.secondary_used_percent or 0.0) >= 100.0


def has_known_usage(usage: UsageSnapshot | None) -> bool:
    """Whether a window's numbers are known (API keys and never-polled accounts: no)."""
    return usage is not None and (
        usage.primary_used_percent is not None or usage.secondary_used_percent is not None
    )


def headroom(usage: UsageSnapshot | None) -> float | None:
    """The bottleneck: the smaller remaining percent of the two windows."""
    values = (
        [
            r
            for r in (
                remaining(usage.primary_used_percent),
                remaining(usage.secondary_used_percent),
            )
            if r is not None
        ]
        if usage is not None
        else []
    )
    return min(values) if values else None


def hard_block(account: Account, usage: UsageSnapshot | None) -> str | None:
    """Why an account may not be activated even by hand, or None.

    Quarantined (dead refresh token), disabled (by the user) and weekly-exhausted
    accounts are refused; a low 5-hour window is the user's call.
    """
    if account.status != "active":
        return account.status
    if weekly_exhausted(usage):
        return "weekly_exhausted"
    return None


def check_activatable(account: Account, usage: UsageSnapshot | None) -> None:
    """Raise a readable error if :func:`hard_block` refuses ``account``."""
    blocked = hard_block(account, usage)
    if blocked == "quarantined":
        raise AccountQuarantinedError(
            f"Account {account.label!r} is quarantined "
            f"({account.status_reason or 'its sign-in expired'}); sign in again to use it.",
            account_id=account.id,
        )
    if blocked == "disabled":
        raise AccountError(
            f"Account {account.label!r} is disabled; enable it first.",
            account_id=account.id,
            reason=blocked,
        )
    if blocked:
        raise AccountError(
            f"Account {account.label!r} has used up its weekly limit; it cannot be "
            "activated before the weekly window resets.",
            account_id=account.id,
            reason=blocked,
        )


def usage_block(
    account: Account, usage: UsageSnapshot | None
) -> tuple[float | None, str | None] | None:
    """``(resets_at, plan_type)`` when the account's usage says it cannot serve, else None.

    Blocked: not allowed, limit reached, or a window at 100 %. ``resets_at`` is the
    reset of the exhausted window (the weekly one first), or None when unknown.
    """
    if usage is None or account.kind == "api_key":
        return None
    primary = (usage.primary_used_percent or 0.0) >= 100.0
    secondary = (usage.secondary_used_percent or 0.0) >= 100.0
    if usage.allowed and not usage.limit_reached and not primary and not secondary:
        return None
    if secondary:
        resets_at = usage.secondary_resets_at
    elif primary:
        resets_at = usage.primary_resets_at
    else:
        resets_at = usage.primary_resets_at or usage.secondary_resets_at
    return resets_at, usage.plan_type or account.plan


def display_name(account: Account | None) -> str:
    """``label (id)`` for log lines (labels and ids are not secret)."""
    return "none" if account is None else f"{account.label} ({account.id})"


def ineligible_reason(
    account: Account,
    usage: UsageSnapshot | None,
    *,
    target: Target,
    threshold: float,
    now: float,
    cooldown_until: float | None = None,
) -> str | None:
    """Why ``account`` is not a candidate for ``target``, or None when it is.

    A candidate is active, not cooling down, allowed and not limit-reached, with
    both known windows' remaining above ``threshold``. Unknown usage passes (it
    is ranked last by :func:`rank`). API keys have no windows: candidates for both
    targets.
    """
    blocked = hard_block(account, usage)
    if blocked:
        return blocked
    if cooldown_until is not None and cooldown_until > now:
        return "cooldown"
    if usage is None or account.kind == "api_key":
        return None
    if not usage.allowed or usage.limit_reached:
        return "limit_reached"
    for used in (usage.primary_used_percent, usage.secondary_used_percent):
        left = remaining(used)
        if left is not None and left <= threshold:
            return "threshold"
    return None


def rank(accounts: Sequence[Account], usage: Mapping[str, UsageSnapshot]) -> list[Account]:
    """Known-good accounts by headroom (most first), then unknown usage, stable otherwise."""

    def key(item: tuple[int, Account]) -> tuple[int, float, float, int]:
        index, account = item
        snap = usage.get(account.id)
        room = headroom(snap)
        if room is None or account.kind == "api_key":
            return (1, 0.0, 0.0, index)
        weekly = remaining(snap.secondary_used_percent if snap else None)
        return (0, -room, -(weekly if weekly is not None else 0.0), index)

    return [a for _, a in sorted(enumerate(accounts), key=key)]


@dataclass
class StrategyContext:
    """Everything a strategy may look at, frozen at one moment."""

    target: Target
    current: str | None
    accounts: Sequence[Account]  # in their stable (creation) order
    usage: Mapping[str, UsageSnapshot]
    threshold: float
    rotation_seconds: float
    switched_at: float | None
    now: float
    cooldowns: Mapping[str, float] = field(default_factory=dict)
    #: account id -> when it last stopped (or started) being this target's account
    last_used: Mapping[str, float] = field(default_factory=dict)

    def reason(self, account: Account) -> str | None:
        """:func:`ineligible_reason` with this context's parameters."""
        return ineligible_reason(
            account,
            self.usage.get(account.id),
            target=self.target,
            threshold=self.threshold,
            now=self.now,
            cooldown_until=self.cooldowns.get(account.id),
        )

    def candidates(self) -> list[Account]:
        """Eligible accounts, best first (see :func:`rank`)."""
        return rank([a for a in self.accounts if self.reason(a) is None], self.usage)

    def current_account(self) -> Account | None:
        return next((a for a in self.accounts if a.id == self.current), None)


@dataclass(frozen=True)
class Decision:
    """``account_id`` to use (None: no candidate) and why; same id as current means stay."""

    account_id: str | None
    reason: str


class Strategy:
    """Base class: ``select`` decides the target's (nominal) active account."""

    name: ClassVar[StrategyName]
    targets: ClassVar[frozenset[Target]] = frozenset({"api", "cli"})

    def select(self, ctx: StrategyContext) -> Decision:
        raise NotImplementedError

    @staticmethod
    def _leave_reason(ctx: StrategyContext) -> str | None:
        """Why the current account must be left (None: it is still a candidate)."""
        current = ctx.current_account()
        if current is None:
            return "no_active_account" if ctx.current is None else "account_removed"
        return ctx.reason(current)


class ManualStrategy(Strategy):
    """Stay on the chosen account until it stops being a candidate (e.g. either
    window's remaining drops to the threshold), then move to the best candidate."""

    name = "manual"

    def select(self, ctx: StrategyContext) -> Decision:
        why = self._leave_reason(ctx)
        if why is None:
            return Decision(ctx.current, "stay")
        best = next((a for a in ctx.candidates() if a.id != ctx.current), None)
        return Decision(best.id if best else None, why)


class RoundRobinStrategy(Strategy):
    """Rotate every ``rotation_seconds`` in account order, skipping ineligible and
    recently used accounts; a recently used one is taken only when nothing else is."""

    name = "round_robin"

    def select(self, ctx: StrategyContext) -> Decision:
        why = self._leave_reason(ctx)
        due = ctx.switched_at is None or ctx.now - ctx.switched_at >= ctx.rotation_seconds
        if why is None and not due:
            return Decision(ctx.current, "stay")
        eligible = {a.id for a in ctx.candidates()} - {ctx.current}
        ring = self._ring_after(ctx)
        fresh = [
            i
            for i in ring
            if i in eligible
            and ctx.now - ctx.last_used.get(i, float("-inf")) >= ctx.rotation_seconds
        ]
        if fresh:
            return Decision(fresh[0], why or "rotation")
        # Fallback: every other candidate was used recently: least recently used wins.
        stale = sorted(
            (i for i in ring if i in eligible), key=lambda i: ctx.last_used.get(i, float("-inf"))
        )
        if stale:
            return Decision(stale[0], why or "rotation")
        return Decision(ctx.current if why is None else None, why or "stay")

    @staticmethod
    def _ring_after(ctx: StrategyContext) -> list[str]:
        """Account ids in order, starting after the current (or last used) account."""
        ids = [a.id for a in ctx.accounts]
        anchor = ctx.current
        if anchor not in ids and ctx.last_used:
            known = [i for i in ctx.last_used if i in ids]
            anchor = max(known, key=lambda i: ctx.last_used[i]) if known else None
        if anchor not in ids:
            return ids
        start = ids.index(anchor) + 1
        return ids[start:] + ids[:start]


class PerRequestStrategy(Strategy):
    """api target only: each request picks among candidates, weighted by headroom,
    so load spreads and no single account is drained first. The nominal active
    account (shown in the UI) follows the manual rule."""

    name = "per_request"
    targets = frozenset({"api"})

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def select(self, ctx: StrategyContext) -> Decision:
        return ManualStrategy().select(ctx)

    def pick(self, ctx: StrategyContext, exclude: frozenset[str] = frozenset()) -> Account | None:
        """One account for one request (``exclude``: accounts that already failed it)."""
        candidates = [a for a in ctx.candidates() if a.id not in exclude]
        known = [
            a
            for a in candidates
            if a.kind != "api_key" and headroom(ctx.usage.get(a.id)) is not None
        ]
        if known:
            weights = [
                max(1.0, (headroom(ctx.usage.get(a.id)) or 0.0) - ctx.threshold) for a in known
            ]
            return self._rng.choices(known, weights=weights, k=1)[0]
        if not candidates:
            return None
        # Unknown usage only: least recently used first spreads evenly.
        return min(candidates, key=lambda a: ctx.last_used.get(a.id, float("-inf")))


def pick_request_account(
    ctx: StrategyContext, per_request: PerRequestStrategy | None, skip: frozenset[str]
) -> Account | None:
    """The account for one api request, not in ``skip`` (accounts that failed it).

    ``per_request`` spreads by headroom; otherwise the active account while it is
    usable (a crossed threshold only means "switch soon"), else the best other
    candidate. If everything is below the threshold, a usable account still beats
    an error.
    """
    if per_request is not None:
        chosen = per_request.pick(ctx, skip)
    else:
        current = ctx.current_account()
        chosen = None
        if current is not None and current.id not in skip:
            chosen = current if ctx.reason(current) in (None, "threshold") else None
        chosen = chosen or next((a for a in ctx.candidates() if a.id not in skip), None)
    if chosen is None:
        ctx = replace(ctx, threshold=0.0)
        chosen = next((a for a in ctx.candidates() if a.id not in skip), None)
    return chosen


def alert_conditions(ctx: StrategyContext, decision: Decision) -> dict[tuple[str, str], str]:
    """Alert conditions holding now, ``(kind, account_id) -> message``.

    ``threshold``: the active account's remaining is at or below the threshold;
    ``no_candidate``: it must be left but nothing else qualifies. The router
    fires each key once, until it stops holding.
    """
    found: dict[tuple[str, str], str] = {}
    current = ctx.current_account()
    if current is not None and current.kind == "chatgpt":
        room = headroom(ctx.usage.get(current.id))
        if room is not None and room <= ctx.threshold:
            found[("threshold", current.id)] = (
                f"{ctx.target}: account {display_name(current)} has {room:.0f}% left "
                f"(threshold {ctx.threshold:.0f}%)"
            )
    if decision.account_id is None and ctx.accounts:
        found[("no_candidate", "")] = (
            f"{ctx.target}: no other account is available ({decision.reason}); "
            f"staying on {display_name(current)}"
        )
    return found


STRATEGIES: dict[str, type[Strategy]] = {
    "manual": ManualStrategy,
    "round_robin": RoundRobinStrategy,
    "per_request": PerRequestStrategy,
}
