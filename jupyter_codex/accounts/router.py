"""Which account each target (``api``, ``cli``) uses, and when it moves on.

The router owns the ``targets`` table while the server runs. It re-reads
accounts, usage snapshots and targets on every evaluation (so a change made by
``jupyter codex accounts use`` on the same store is noticed and announced), asks
the target's strategy, and records every switch in three places: the system log
table, the Jupyter log, and switch listeners (the workspace re-signs codex).
Alerts fire once per crossing, not on every poll. Cooldowns (a 429 until the
reset) live in memory: they are short and a restart re-learns them from usage.

Why this module is long: evaluation, switching and alerting share one lock per
target and its state.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, cast

from traitlets import Dict, Float, Int
from traitlets.config import LoggingConfigurable

from ..errors import (
    InvalidRequestError,
    NoAccountAvailableError,
    NotFoundError,
    UsageLimitReachedError,
)
from ..listeners import Listeners
from ..models import Account, StrategyName, Target, TargetState, UsageSnapshot
from ..store.usage import SystemLogRepository, TargetRepository, UsageRepository
from ..tasks import OwnedTask, TaskOwner, first_completed
from .credentials import AccountSource
from .strategies import (
    STRATEGIES,
    PerRequestStrategy,
    StrategyContext,
    alert_conditions,
    check_activatable,
    display_name,
    pick_request_account,
    usage_block,
)

TARGETS: tuple[Target, ...] = ("api", "cli")
_Result = Awaitable[Any] | None
#: ``cb(target, from_account_id, to_account_id, reason)``; may be sync or async.
SwitchListener = Callable[[str, str | None, str | None, str], _Result]
#: ``cb(target, account_id, kind, message)``; kind is ``threshold`` or ``no_candidate``.
AlertListener = Callable[[str, str | None, str, str], _Result]


class AccountRouter(LoggingConfigurable):
    """Keeps one active account per target according to its strategy and threshold."""

    cache_seconds = Float(
        5.0,
        config=True,
        help="""How long (seconds) per-request routing reuses the account list and usage
        before re-reading them. Evaluations after a usage poll always re-read.""",
    )

    max_cooldown_seconds = Float(
        8 * 86_400.0,
        config=True,
        help="Upper bound (seconds) of one cooldown; a later reset time is treated as bogus.",
    )

    relogin_wait_seconds = Float(
        600.0,
        config=True,
        help="""How long (seconds) a switch of a target waits for the turns running on its
        codex before signing that codex in as the new account. codex fails every turn in
        flight when it is signed in again ("application network permission was
        revoked"), so a switch waits for them (new turns meanwhile still start, on the old
        account); after this long it signs in anyway and those turns fail.""",
    )

    system_log_max_rows = Int(
        10_000,
        config=True,
        help="""Entries kept in the system log (switches, alerts, cooldowns, errors;
        ``GET codex/api/logs``); the oldest are deleted beyond this. Applied to the store
        by the composition root (``CodexCore``).""",
    )

    target_defaults = Dict(
        config=True,
        help="""Administrator defaults per target, e.g. ``{"api": {"strategy": "round_robin",
        "rotation_seconds": 600}, "cli": {"threshold_percent": 25}}``. Applied at start to
        a target whose settings are still the built-in ones (manual, 15 %, 300 s): a
        choice the user made is kept.""",
    )

    def __init__(
        self,
        *,
        accounts: AccountSource,
        usage: UsageRepository,
        targets: TargetRepository,
        system_log: SystemLogRepository,
        rng: random.Random | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._source = accounts
        self._usage_repo = usage
        self._target_repo = targets
        self._system_log = system_log
        self._per_request = PerRequestStrategy(rng)
        self._accounts: list[Account] = []
        self._usage: dict[str, UsageSnapshot] = {}
        self._states: dict[str, TargetState] = {}
        #: the account listeners last heard about, per target (detects outside changes)
        self._known: dict[str, str | None] = {}
        self._loaded_at: float | None = None
        self._locks = {t: asyncio.Lock() for t in TARGETS}
        self._cooldowns: dict[str, float] = {}
        #: account id -> (kind, unix time the cooldown began); kind ``usage_limit`` is
        #: lifted by a later usage reading that shows the account allowed again
        self._cooldown_kinds: dict[str, tuple[str, float]] = {}
        self._last_used: dict[str, dict[str, float]] = {t: {} for t in TARGETS}
        self._picked: dict[str, float] = {}
        self._alerted: dict[str, set[tuple[str, str]]] = {t: set() for t in TARGETS}
        self._switch_listeners: Listeners[[str, str | None, str | None, str]] = Listeners(
            "account switch", self.log
        )
        self._alert_listeners: Listeners[[str, str | None, str, str]] = Listeners(
            "account alert", self.log
        )
        self._tasks = TaskOwner("codex-router", self.log)
        self._timer: OwnedTask | None = None
        self._timer_wake = asyncio.Event()

    # -- listeners and lifecycle ------------------------------------------------

    def add_switch_listener(self, cb: SwitchListener) -> None:
        """Call ``cb(target, from_id, to_id, reason)`` after every switch."""
        self._switch_listeners.add(cb)

    def add_alert_listener(self, cb: AlertListener) -> None:
        """Call ``cb(target, account_id, kind, message)`` once per alert condition."""
        self._alert_listeners.add(cb)

    async def start(self) -> None:
        """Load state and start the round-robin timer (rotation is due on time, not on polls)."""
        await self._reload()
        await self._apply_target_defaults()
        if self._timer is None or self._timer.done():
            self._timer = self._tasks.start_soon(self._rotation_timer, name="codex-router-rotation")

    async def _apply_target_defaults(self) -> None:
        builtin = TargetState(name="api")
        for target, wanted in self.target_defaults.items():
            state = self._states.get(target)
            if state is None or not isinstance(wanted, dict):
                self.log.warning("AccountRouter.target_defaults: unknown target %r", target)
                continue
            untouched = (state.strategy, state.threshold_percent, state.rotation_seconds) == (
                builtin.strategy,
                builtin.threshold_percent,
                builtin.rotation_seconds,
            )
            if not untouched:
                continue
            try:
                await self.set_strategy(
                    cast(Target, target),
                    wanted.get("strategy", builtin.strategy),
                    wanted.get("threshold_percent"),
                    wanted.get("rotation_seconds"),
                )
            except InvalidRequestError as e:
                self.log.warning("AccountRouter.target_defaults[%r] ignored: %s", target, e)

    async def stop(self) -> None:
        """Stop the rotation timer."""
        self._timer = None
        await self._tasks.aclose()

    # -- queries ---------------------------------------------------------------------

    async def active(self, target: Target) -> Account | None:
        """The target's current account (with usage and active targets), or None."""
        await self._fresh()
        account_id = self._states[target].account_id
        return next((a for a in self._decorated() if a.id == account_id), None)

    async def accounts(self) -> list[Account]:
        """Every account with its last usage and ``active_targets`` filled in."""
        await self._reload()
        return self._decorated()

    async def state(self, target: Target) -> TargetState:
        """The target's row (account, strategy, threshold, rotation)."""
        await self._fresh()
        return self._states[target]

    def account_cached(self, account_id: str | None) -> Account | None:
        """An account from the last load, without I/O (for notifications)."""
        return next((a for a in self._accounts if a.id == account_id), None)

    def cooldowns(self) -> dict[str, float]:
        """Account id -> unix time its cooldown ends (expired ones dropped)."""
        now = time.time()
        self._cooldowns = {k: v for k, v in self._cooldowns.items() if v > now}
        self._cooldown_kinds = {
            k: v for k, v in self._cooldown_kinds.items() if k in self._cooldowns
        }
        return dict(self._cooldowns)

    # -- changes -----------------------------------------------------------------------

    async def set_active(
        self,
        target: Target,
        account_id: str | None,
        reason: str = "manual",
        actor: str = "user",
    ) -> TargetState:
        """Make ``account_id`` the target's account (None clears it).

        Refuses quarantined, disabled and weekly-exhausted accounts: they would
        fail at once, and switching away again right after would confuse everyone.
        """
        _check_target(target)
        async with self._locks[target]:
            await self._reload()
            if account_id is not None:
                account = self.account_cached(account_id)
                if account is None:
                    raise NotFoundError(f"No account with id {account_id!r}.")
                check_activatable(account, self._usage.get(account_id))
            events = []
            signed_out = self._states[target].signed_out
            if account_id is not None and account_id in signed_out:
                # Chosen by hand again: the target may pick it from now on.
                self._states[target] = await self._target_repo.update(
                    target, signed_out=[i for i in signed_out if i != account_id]
                )
            if self._states[target].account_id != account_id:
                events.append(await self._switch(target, account_id, reason, actor=actor))
        await self._emit(events)
        return self._states[target]

    async def sign_out(
        self, target: Target, account_id: str, reason: str = "logout", actor: str = "user"
    ) -> bool:
        """Stop using ``account_id`` for ``target`` and keep it stored: the target's
        strategy never picks it again (no re-activation at the next usage poll) until
        :meth:`set_active` chooses it by hand. True when it was the active account."""
        _check_target(target)
        async with self._locks[target]:
            await self._reload()
            if self.account_cached(account_id) is None:
                raise NotFoundError(f"No account with id {account_id!r}.")
            state = self._states[target]
            was_active = state.account_id == account_id
            self._states[target] = await self._target_repo.update(
                target, signed_out=[*state.signed_out, account_id]
            )
            events = [await self._switch(target, None, reason, actor=actor)] if was_active else []
        await self._emit(events)
        return was_active

    async def set_strategy(
        self,
        target: Target,
        strategy: StrategyName,
        threshold_percent: float | None = None,
        rotation_seconds: float | None = None,
    ) -> TargetState:
        """Change how the target picks accounts, then apply it at once."""
        _check_target(target)
        if strategy not in STRATEGIES:
            raise InvalidRequestError(
                f"Unknown strategy {strategy!r}; use one of {sorted(STRATEGIES)}."
            )
        if target not in STRATEGIES[strategy].targets:
            raise InvalidRequestError(f"The {strategy} strategy only applies to the api target.")
        fields: dict[str, Any] = {"strategy": strategy}
        if threshold_percent is not None:
            if not 0.0 <= threshold_percent < 100.0:
                raise InvalidRequestError("threshold_percent must be in [0, 100).")
            fields["threshold_percent"] = float(threshold_percent)
        if rotation_seconds is not None:
            if rotation_seconds < 1.0:
                raise InvalidRequestError("rotation_seconds must be at least 1.")
            fields["rotation_seconds"] = float(rotation_seconds)
        async with self._locks[target]:
            self._states[target] = await self._target_repo.update(target, **fields)
        self._timer_wake.set()
        detail = ", ".join(f"{k}={v}" for k, v in fields.items())
        await self._system_log.append("info", "strategy", f"{target}: {detail}", target=target)
        self.log.info("Account routing for %s target: %s", target, detail)
        await self.evaluate(target, "strategy")
        return self._states[target]

    async def cooldown(
        self, account_id: str, until: float, reason: str, *, kind: str = "other"
    ) -> None:
        """Keep ``account_id`` out of every target until ``until`` (e.g. a 429's reset).

        ``kind="usage_limit"``: the account hit its usage limit; requests that find
        no other account get a 429 ``usage_limit_reached`` naming the reset, and a
        usage reading taken afterwards that shows the account allowed lifts it.
        """
        now = time.time()
        until = min(until, now + self.max_cooldown_seconds)
        if until <= now:
            return
        self._cooldowns[account_id] = max(until, self._cooldowns.get(account_id, 0.0))
        self._cooldown_kinds[account_id] = (kind, now)
        self.log.warning("Account %s cools down for %.0f s: %s", account_id, until - now, reason)
        await self._system_log.append(
            "warning",
            "cooldown",
            f"{account_id} cools down until {_iso(until)}: {reason}",
            from_account=account_id,
            reason=reason,
        )
        for target in TARGETS:
            if self._states.get(target) and self._states[target].account_id == account_id:
                await self.evaluate(target, "cooldown")

    async def on_usage(self, reason: str = "usage") -> None:
        """Usage-scheduler listener: re-evaluate both targets (one reload for both)."""
        await self._reload()
        for target in TARGETS:
            await self._evaluate(target, reason, reload=False)

    async def evaluate(self, target: Target, reason: str = "usage") -> bool:
        """Apply the target's strategy now; True when the account changed.

        With no candidate the current account stays and one alert is raised per
        condition. ``reason`` only labels log lines of this evaluation.
        """
        _check_target(target)
        return await self._evaluate(target, reason, reload=True)

    async def _evaluate(self, target: Target, reason: str, reload: bool) -> bool:
        events: list[tuple[str, tuple[Any, ...]]] = []
        async with self._locks[target]:
            if reload or self._loaded_at is None:
                await self._reload()
            state = self._states[target]
            if self._known[target] != state.account_id:
                events.append(self._announce_external(target, state.account_id))
            ctx = self._context(target)
            decision = self._strategy(state.strategy).select(ctx)
            conditions = alert_conditions(ctx, decision)
            for key, message in conditions.items():
                if key not in self._alerted[target]:
                    events.append(await self._alert(target, key, message))
            self._alerted[target] = set(conditions)
            switched = decision.account_id is not None and decision.account_id != state.account_id
            if switched:
                events.append(await self._switch(target, decision.account_id, decision.reason))
            self.log.debug("Evaluated %s target (%s): %s", target, reason, decision)
        await self._emit(events)
        return switched

    async def pick_for_request(self, exclude: Collection[str] = ()) -> Account:
        """The account for one api request; ``exclude`` those that already failed it.

        ``per_request`` spreads requests by headroom; other strategies use the
        active account while it is usable, else the best other one (without
        switching: evaluations do that). Raises :class:`NoAccountAvailableError`.
        """
        await self._fresh()
        ctx = self._context("api")
        skip = frozenset(exclude)
        per_request = self._states["api"].strategy == "per_request"
        chosen = pick_request_account(ctx, self._per_request if per_request else None, skip)
        if chosen is None:
            limited = self._usage_limited(ctx, skip)
            if limited is not None:
                resets_at, plan_type = limited
                raise UsageLimitReachedError(
                    "Every account has reached its usage limit.",
                    resets_at=resets_at,
                    plan_type=plan_type,
                )
            waits = [v for k, v in self.cooldowns().items() if k not in skip]
            retry = max(1.0, min(waits) - time.time()) if waits else None
            raise NoAccountAvailableError(
                "No account can serve this request now (all cooling down, disabled or "
                "quarantined): sign in again or add an account.",
                retry_after=retry,
            )
        self._picked[chosen.id] = time.time()
        return chosen

    def _usage_limited(
        self, ctx: StrategyContext, skip: frozenset[str]
    ) -> tuple[float | None, str | None] | None:
        """(earliest reset, plan) when the usable accounts are all at their usage limit.

        Quarantined and disabled accounts do not count (they never serve); one
        account cooling down for another reason (an outage) makes it no usage limit.
        """
        blocks: list[tuple[float | None, str | None]] = []
        for account in ctx.accounts:
            if account.id in skip or account.status != "active":
                continue
            kind = self._cooldown_kinds.get(account.id, ("", 0.0))[0]
            until = ctx.cooldowns.get(account.id)
            block = usage_block(account, ctx.usage.get(account.id))
            if until is not None and kind == "usage_limit":
                block = (until, block[1] if block else account.plan)
            elif until is not None or block is None:
                return None
            blocks.append(block)
        if not blocks:
            return None
        known = sorted((b for b in blocks if b[0] is not None), key=lambda b: b[0] or 0.0)
        return known[0] if known else blocks[0]

    def _reconcile_usage_cooldowns(self) -> tuple[list[str], list[tuple[str, float]]]:
        """Bring usage-limit cooldowns in line with newer usage readings.

        Returns the accounts whose cooldown a reading lifted (allowed again) and those
        whose cooldown now ends at the reading's reset time (a failure that named no
        reset, e.g. a ``usage_limit_reached`` inside a 200 stream, cooled the account
        down for a guessed ``usage_limit_cooldown_seconds``).
        """
        lifted: list[str] = []
        moved: list[tuple[str, float]] = []
        now = time.time()
        for account_id, (kind, since) in list(self._cooldown_kinds.items()):
            snap = self._usage.get(account_id)
            if kind != "usage_limit" or snap is None or (snap.fetched_at or 0.0) <= since:
                continue
            account = self.account_cached(account_id)
            if account is None:
                continue
            block = usage_block(account, snap)
            if block is None:
                self._cooldowns.pop(account_id, None)
                self._cooldown_kinds.pop(account_id, None)
                lifted.append(account_id)
                continue
            resets_at = block[0]
            current = self._cooldowns.get(account_id)
            if resets_at is None or resets_at <= now or current is None:
                continue
            resets_at = min(resets_at, now + self.max_cooldown_seconds)
            if abs(resets_at - current) > 1.0:
                self._cooldowns[account_id] = resets_at
                moved.append((account_id, resets_at))
        return lifted, moved

    # -- internals ------------------------------------------------------------------------

    def _strategy(self, name: str) -> Any:
        return (
            self._per_request
            if name == "per_request"
            else STRATEGIES.get(name, STRATEGIES["manual"])()
        )

    def _context(self, target: Target) -> StrategyContext:
        state = self._states[target]
        last_used = self._picked if state.strategy == "per_request" else self._last_used[target]
        accounts = self._accounts
        if state.signed_out:
            accounts = [a for a in accounts if a.id not in state.signed_out]
        return StrategyContext(
            target=target,
            current=state.account_id,
            accounts=accounts,
            usage=self._usage,
            threshold=state.threshold_percent,
            rotation_seconds=state.rotation_seconds,
            switched_at=state.switched_at,
            now=time.time(),
            cooldowns=self.cooldowns(),
            last_used=dict(last_used),
        )

    async def _alert(
        self, target: str, key: tuple[str, str], message: str
    ) -> tuple[str, tuple[Any, ...]]:
        kind, account_id = key
        self.log.warning("Account alert: %s", message)
        await self._system_log.append(
            "warning",
            "alert",
            message,
            target=target,
            from_account=account_id or None,
            reason=kind,
        )
        current = self._states[target].account_id
        return ("alert", (target, account_id or current, kind, message))

    async def _switch(
        self, target: Target, to_id: str | None, reason: str, actor: str = "router"
    ) -> tuple[str, tuple[Any, ...]]:
        now = time.time()
        from_id = self._states[target].account_id
        self._states[target] = await self._target_repo.update(
            target, account_id=to_id, switched_at=now
        )
        self._known[target] = to_id
        self._timer_wake.set()
        for account_id in (from_id, to_id):
            if account_id:
                self._last_used[target][account_id] = now
        message = (
            f"{target}: switched from {display_name(self.account_cached(from_id))} to "
            f"{display_name(self.account_cached(to_id))} ({reason}, by {actor})"
        )
        self.log.info("Account switch: %s", message)
        await self._system_log.append(
            "info",
            "switch",
            message,
            target=target,
            from_account=from_id,
            to_account=to_id,
            reason=reason,
        )
        return ("switch", (target, from_id, to_id, reason))

    def _announce_external(self, target: Target, to_id: str | None) -> tuple[str, tuple[Any, ...]]:
        from_id, self._known[target] = self._known[target], to_id
        self.log.info(
            "The %s target was changed outside the server: %s -> %s", target, from_id, to_id
        )
        return ("switch", (target, from_id, to_id, "external"))

    async def _emit(self, events: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Call listeners outside the target lock, so they may query the router."""
        for kind, args in events:
            listeners: Listeners[Any] = (
                self._switch_listeners if kind == "switch" else self._alert_listeners
            )
            await listeners.emit(*args)

    def _decorated(self) -> list[Account]:
        return [
            a.model_copy(
                update={
                    "usage": self._usage.get(a.id),
                    "active_targets": [t for t in TARGETS if self._states[t].account_id == a.id],
                }
            )
            for a in self._accounts
        ]

    async def _fresh(self) -> None:
        if self._loaded_at is None or time.monotonic() - self._loaded_at > self.cache_seconds:
            await self._reload()

    async def _reload(self) -> None:
        accounts = await self._source.list_accounts()
        stored = await self._usage_repo.get_all()
        states = await self._target_repo.list()
        self._accounts = accounts
        self._usage = {a.id: u for a in accounts if (u := stored.get(a.id) or a.usage) is not None}
        self._states = {s.name: s for s in states}
        if not self._known:
            self._known = {t: self._states[t].account_id for t in TARGETS}
        self._loaded_at = time.monotonic()
        lifted, moved = self._reconcile_usage_cooldowns()
        for account_id in lifted:
            self.log.info("Account %s is allowed again: its usage-limit cooldown ends", account_id)
            await self._system_log.append(
                "info",
                "cooldown",
                f"{account_id} is allowed again (fresh usage reading); cooldown lifted",
                from_account=account_id,
                reason="usage allowed",
            )
        for account_id, until in moved:
            self.log.info("Account %s: its usage limit resets at %s", account_id, _iso(until))
            await self._system_log.append(
                "info",
                "cooldown",
                f"{account_id} cools down until {_iso(until)}: its usage limit resets then "
                "(fresh usage reading)",
                from_account=account_id,
                reason="usage reset time",
            )

    async def _rotation_timer(self) -> None:
        while True:
            delay = 30.0
            for target in TARGETS:
                state = self._states.get(target)
                if state and state.strategy == "round_robin":
                    due = (state.switched_at or 0.0) + state.rotation_seconds - time.time()
                    if due <= 0:
                        try:
                            await self.evaluate(target, "rotation")
                        except Exception:
                            self.log.exception("Round-robin rotation of %s failed", target)
                        due = state.rotation_seconds
                    delay = min(delay, max(due, 0.05))
            await wait_event(self._timer_wake, delay)


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` passes, then clear it.

    Not ``wait_for``: on Python < 3.12 it swallows a cancellation that races
    with the event being set, and ``stop()`` would then wait forever.
    """
    try:
        await first_completed(event.wait(), asyncio.sleep(timeout))
    finally:
        event.clear()


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise InvalidRequestError(f"Unknown target {target!r}; use 'api' or 'cli'.")


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


__all__ = ["TARGETS", "AccountRouter", "AlertListener", "SwitchListener"]
