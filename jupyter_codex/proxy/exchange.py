"""One direct-mode request against upstream: account failover, then the event relay.

:meth:`Exchange.start` picks an account (the conversation's own while it is a
candidate), opens the upstream stream and reads it up to the first event that
carries content. Until then nothing has reached the client, so a 429, 401,
403, 5xx, broken connection or an in-stream rate-limit/overload failure moves
on to the next account (cooling the failed one down when the failure says for
how long). After :meth:`Exchange.start` returns, :meth:`Exchange.events` relays
the stream; failures from then on are the handler's to report in-stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import CodexError, NoAccountAvailableError, UsageLimitReachedError
from .errors import MAX_RETRY_AFTER, ProxyError, failure_from_event, usage_limit_error
from .responses import TERMINAL, Usage, usage_of
from .upstream import UpstreamHTTPError, UpstreamStream

if TYPE_CHECKING:
    from ..models import Account
    from .prepared import Prepared


class AccountPicker(Protocol):
    """What an :class:`Exchange` needs from its service (``ProxyService`` is one): which
    account to try next, an upstream stream on it, and where failures and successes go."""

    @property
    def max_attempts(self) -> int: ...

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[Any]: ...

    async def pick(self, key: str, tried: list[str], target: str) -> Account: ...

    async def open_on(self, account_id: str, body: dict[str, Any], key: str) -> UpstreamStream:
        """A 200 upstream stream on the account (a 401 refreshes its token once)."""
        ...

    async def on_failure(self, account_id: str, error: UpstreamHTTPError) -> None: ...

    def bind(self, key: str, account_id: str) -> None: ...


#: In-stream failure codes another account may not have (checked before the first byte).
RETRYABLE_CODES = frozenset(
    {
        "rate_limit_exceeded",
        "usage_limit_reached",
        "usage_not_included",
        "insufficient_quota",
        "server_is_overloaded",
        "slow_down",
    }
)
_PREAMBLE = ("response.created", "response.in_progress", "codex.rate_limits")


def _in_stream_error(event: dict[str, Any]) -> UpstreamHTTPError | None:
    failure = failure_from_event(event)
    if failure is None or failure.code not in RETRYABLE_CODES:
        return None
    kind: Any = "server"
    if failure.code == "rate_limit_exceeded":
        kind = "rate_limit"
    elif failure.code in ("usage_limit_reached", "usage_not_included", "insufficient_quota"):
        kind = "usage_limit"
    return UpstreamHTTPError(kind, 200, failure.message, code=failure.code)


class Exchange:
    """One client request against upstream: ``start`` (failover), then ``events``."""

    def __init__(self, service: AccountPicker, prepared: Prepared) -> None:
        self.service = service
        self.prepared = prepared
        self.account_id: str | None = None
        self.tried: list[str] = []
        self.usage: Usage | None = None
        self.started_at = time.monotonic()
        self._stream: UpstreamStream | None = None
        self._events: AsyncIterator[dict[str, Any]] | None = None
        self._buffered: list[dict[str, Any]] = []

    async def start(self) -> None:
        """Open a stream on the first account that answers; :class:`ProxyError` otherwise."""
        service, body, key = self.service, self.prepared.body, self.prepared.session_key
        last: UpstreamHTTPError | None = None
        limits: list[UpstreamHTTPError] = []  # usage-limit failures: the earliest reset wins
        while len(self.tried) < max(service.max_attempts, 1):
            try:
                account = await service.pick(key, self.tried, self.prepared.target)
            except NoAccountAvailableError as e:
                raise _no_account(e, last, limits) from None
            self.tried.append(account.id)
            try:
                opened = await self._open(account.id, body, key)
            except UpstreamHTTPError as e:
                service.log.warning(
                    "Proxy request failed on account %s (%s); %s",
                    account.id,
                    e,
                    "trying another" if e.failover else "giving up",
                )
                last = e
                if e.kind == "usage_limit":
                    limits.append(e)
                await service.on_failure(account.id, e)
                if not e.failover:
                    raise ProxyError(e.status or 502, e.message, code=e.code) from None
                continue
            except CodexError as e:  # the account cannot be used (quarantined, refresh failed)
                service.log.warning("Proxy skips account %s: %s", account.id, e.message)
                continue
            self._stream, self._events, self._buffered = opened
            self.account_id = account.id
            service.bind(key, account.id)
            return
        raise _exhausted(last, limits)

    async def _open(
        self, account_id: str, body: dict[str, Any], key: str
    ) -> tuple[UpstreamStream, AsyncIterator[dict[str, Any]], list[dict[str, Any]]]:
        stream = await self.service.open_on(account_id, body, key)
        events = stream.events().__aiter__()
        buffered: list[dict[str, Any]] = []
        try:
            while True:
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    raise UpstreamHTTPError("server", 200, "empty upstream stream") from None
                buffered.append(event)
                failure = _in_stream_error(event)
                if failure is not None:
                    raise failure
                if event.get("type") not in _PREAMBLE:
                    return stream, events, buffered
        except BaseException:
            await stream.aclose()
            raise

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The upstream events from the first one on (call after :meth:`start`)."""
        assert self._events is not None, "start() first"
        for event in self._buffered:
            self._observe(event)
            yield event
        self._buffered = []
        async for event in self._events:
            self._observe(event)
            yield event

    def _observe(self, event: dict[str, Any]) -> None:
        if event.get("type") in TERMINAL:
            response = event.get("response")
            self.usage = usage_of(response) or self.usage

    async def aclose(self) -> None:
        """Close the upstream connection (cancels it when the client went away)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    @property
    def latency_ms(self) -> float:
        return (time.monotonic() - self.started_at) * 1000.0


def _no_account(
    error: NoAccountAvailableError,
    last: UpstreamHTTPError | None,
    limits: list[UpstreamHTTPError],
) -> ProxyError:
    if isinstance(error, UsageLimitReachedError):
        resets_at, plan = error.details.get("resets_at"), error.details.get("plan_type")
        earlier = _earliest(limits)
        if earlier is not None and (resets_at is None or (earlier[0] or resets_at) < resets_at):
            resets_at, plan = earlier
        return usage_limit_error(resets_at, plan)
    if last is not None:
        return _exhausted(last, limits)
    retry = error.details.get("retry_after")
    return ProxyError(
        503,
        error.message,
        code="no_account_available",
        retry_after=min(float(retry), MAX_RETRY_AFTER) if retry else 30.0,
    )


def _earliest(limits: list[UpstreamHTTPError]) -> tuple[float | None, str | None] | None:
    """(reset, plan) of the usage-limit failure that resets first."""
    if not limits:
        return None
    now = time.time()
    resets = [
        (e.reset_at or (now + e.retry_after if e.retry_after else None), e.plan_type)
        for e in limits
    ]
    known = [r for r in resets if r[0] is not None]
    return min(known, key=lambda r: r[0] or 0.0) if known else resets[0]


def _exhausted(last: UpstreamHTTPError | None, limits: list[UpstreamHTTPError]) -> ProxyError:
    """The error after every candidate failed: the last failure, as the client should see it."""
    if last is None:
        return ProxyError(
            503,
            "No account can serve this request now; sign in again or add an account.",
            code="no_account_available",
            retry_after=30.0,
        )
    earliest = _earliest(limits)
    if last.kind == "usage_limit" and earliest is not None:
        return usage_limit_error(*earliest)
    if last.kind == "rate_limit":
        wait = last.retry_after
        retry = min(max(wait or 30.0, 1.0), MAX_RETRY_AFTER)
        return ProxyError(
            429, f"Every account is rate limited: {last.message}", code=last.code, retry_after=retry
        )
    if last.kind == "connection":
        return ProxyError(
            503,
            "The upstream service could not be reached; try again in a moment.",
            code="upstream_unreachable",
            retry_after=30.0,
        )
    status = 529 if last.code in ("server_is_overloaded", "slow_down") else 502
    return ProxyError(status, f"Upstream error: {last.message}", code=last.code or "upstream_error")


__all__ = ["RETRYABLE_CODES", "Exchange"]
