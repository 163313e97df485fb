"""The proxy service: requests in any dialect -> one upstream stream, with failover.

:meth:`ProxyService.prepare` translates a client body (chat completions,
Anthropic Messages or Responses) into the codex backend's Responses body and
gives it a stable session key. :meth:`ProxyService.exchange` then runs it:
:meth:`Exchange.start` picks an account (the conversation's own while it is a
candidate), opens the upstream stream and reads it up to the first event that
carries content. Until then nothing has reached the client, so a 429, 401,
403, 5xx, broken connection or an in-stream rate-limit/overload failure moves
on to the next account (cooling the failed one down when the failure says for
how long). After :meth:`Exchange.start` returns, :meth:`Exchange.events` relays
the stream; failures from then on are the handler's to report in-stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from traitlets import Bool, Dict, Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from ..errors import CodexError, NoAccountAvailableError
from . import anthropic, openai_chat
from .affinity import AffinityMap, session_key
from .errors import failure_from_event
from .keys import ProxyKeys
from .models_catalog import DEFAULT_MODELS, parse_model
from .responses import TERMINAL, Usage, normalize_responses_request, tool_name_map, usage_of
from .upstream import UpstreamClient, UpstreamHTTPError, UpstreamStream

Dialect = Literal["chat", "anthropic", "responses"]
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


class ProxyError(Exception):
    """The request fails before anything was streamed: answer with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after


@dataclass
class Prepared:
    """A translated request: the upstream body and what the reply needs."""

    dialect: Dialect
    body: dict[str, Any]
    session_key: str
    model: str  # as the client named it (echoed back)
    upstream_model: str
    stream: bool
    info: Any  # the translator's request info (chat / anthropic); None for responses
    name_map: dict[str, str]


class ProxyService(LoggingConfigurable):
    """Routes proxy requests over the api target's accounts."""

    max_body_bytes = Int(
        32 * 1024 * 1024, config=True, help="Largest proxy request body in bytes (images are big)."
    )
    rate_limit_per_minute = Int(
        0, config=True, help="Default requests per minute per client key (0: unlimited)."
    )
    affinity_ttl_seconds = Float(
        3600.0, config=True, help="How long a conversation stays bound to its account after use."
    )
    affinity_grace_seconds = Float(
        300.0,
        config=True,
        help="A conversation served elsewhere while its account cools down for less than "
        "this keeps its account (its prompt cache is there).",
    )
    max_attempts = Int(4, config=True, help="Accounts tried for one request before giving up.")
    rate_limit_cooldown_seconds = Float(
        30.0, config=True, help="Cooldown after a 429 that is not a usage limit (no Retry-After)."
    )
    usage_limit_cooldown_seconds = Float(
        900.0, config=True, help="Cooldown after a usage-limit failure that names no reset time."
    )
    auth_cooldown_seconds = Float(
        300.0,
        config=True,
        help="Cooldown of an account upstream refuses (401 after a refresh, 403).",
    )
    keepalive_seconds = Float(
        15.0, config=True, help="Idle seconds before a stream gets a keep-alive (Anthropic ping)."
    )
    models = List(
        Unicode(), config=True, help="Model ids the proxy lists and accepts (empty: built-in list)."
    )
    model_aliases = Dict(
        config=True,
        help="Client model name -> upstream model (e.g. {'claude-sonnet-4-5': 'gpt-5.5'}).",
    )
    claude_model = Unicode(
        "",
        config=True,
        help="Upstream model for claude-* names without an alias (empty: the first model).",
    )
    allow_unknown_models = Bool(
        False, config=True, help="Pass model names outside the list upstream instead of a 404."
    )
    request_log_rows = Int(10_000, config=True, help="Rows kept in the proxy request log.")

    def __init__(
        self,
        *,
        router: Any,
        accounts: Any,
        scheduler: Any,
        upstream: UpstreamClient,
        keys: ProxyKeys,
        request_log: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.router = router
        self.accounts = accounts
        self.scheduler = scheduler
        self.upstream = upstream
        self.keys = keys
        self.request_log = request_log
        request_log.max_rows = self.request_log_rows
        self.affinity = AffinityMap(self.affinity_ttl_seconds)
        self._ids: tuple[float, frozenset[str]] = (0.0, frozenset())
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- models ------------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        return list(self.models) or list(DEFAULT_MODELS)

    def resolve_model(self, name: str) -> tuple[str, str | None]:
        """Client model name -> (upstream model, effort); 404 for an unknown one."""
        aliases = {str(k): str(v) for k, v in self.model_aliases.items()}
        base, effort, is_agent = parse_model(name, aliases=aliases)
        if is_agent:
            raise ProxyError(
                404, f"Agent models ({name}) are not available yet.", code="model_not_found"
            )
        if base.startswith("claude-") and base not in aliases:
            base = self.claude_model or self.model_ids()[0]
        if not self.allow_unknown_models and base not in self.model_ids():
            raise ProxyError(
                404,
                f"The model '{name}' does not exist or is not served here; GET /v1/models lists them.",
                code="model_not_found",
            )
        return base, effort

    # -- requests ----------------------------------------------------------------------

    def prepare(
        self, dialect: Dialect, body: dict[str, Any], headers: Mapping[str, str], client_id: str
    ) -> Prepared:
        """Translate and normalize ``body``; raises InvalidRequestError / ProxyError."""
        info: Any = None
        if dialect == "chat":
            rbody, info = openai_chat.chat_to_responses(body)
            model, names = info.model, info.tool_names
        elif dialect == "anthropic":
            rbody, info = anthropic.messages_to_responses(body)
            model, names = info.model, info.tool_names
        else:
            rbody, model = body, body.get("model")
            if not isinstance(model, str) or not model.strip():
                raise ProxyError(400, "'model' is required.", code="invalid_request_error")
            names = tool_name_map(body)
        upstream_model, effort = self.resolve_model(model)
        key = session_key(client_id, body, headers, rbody, upstream_model)
        upstream = normalize_responses_request(
            rbody, model=upstream_model, session_key=key, effort=effort
        )
        return Prepared(
            dialect, upstream, key, model, upstream_model, bool(body.get("stream")), info, names
        )

    def exchange(self, prepared: Prepared) -> Exchange:
        return Exchange(self, prepared)

    def record(self, **fields: Any) -> None:
        """Append to the request log in the background (never fails the request)."""
        self.spawn(self.request_log.append(**fields))

    def spawn(self, coro: Any) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception as e:  # noqa: BLE001 - bookkeeping must never fail a request
                self.log.warning("Proxy background task failed: %s", e)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.upstream.aclose()

    # -- accounts ----------------------------------------------------------------------

    async def _account_ids(self) -> frozenset[str]:
        at, ids = self._ids
        if time.monotonic() - at > 5.0:
            ids = frozenset(a.id for a in await self.router.accounts())
            self._ids = (time.monotonic(), ids)
        return ids

    async def pick(self, key: str, tried: list[str]) -> Any:
        """The conversation's account while it is a candidate, else the router's choice."""
        owner = self.affinity.get(key)
        if owner is not None and owner not in tried:
            others = (await self._account_ids()) - {owner}
            try:
                return await self.router.pick_for_request(exclude=others | set(tried))
            except NoAccountAvailableError:
                pass
        return await self.router.pick_for_request(exclude=tried)

    def bind(self, key: str, account_id: str) -> None:
        """Remember who served the conversation; a short detour does not move it."""
        owner = self.affinity.get(key)
        if owner is not None and owner != account_id:
            until = self.router.cooldowns().get(owner)
            if until is not None and until - time.time() < self.affinity_grace_seconds:
                return
        self.affinity.bind(key, account_id)

    async def on_failure(self, account_id: str, error: UpstreamHTTPError) -> None:
        """Cool an account down as long as its failure says (none for transient ones)."""
        now = time.time()
        if error.headers:
            self.spawn(self.scheduler.ingest_headers(account_id, error.headers))
        if error.kind == "usage_limit":
            until = error.reset_at or now + (error.retry_after or self.usage_limit_cooldown_seconds)
            self.spawn(self.scheduler.poll(account_id))
        elif error.kind == "rate_limit":
            until = now + (error.retry_after or self.rate_limit_cooldown_seconds)
        elif error.kind in ("auth", "forbidden"):
            until = now + self.auth_cooldown_seconds
        else:
            return
        reason = f"proxy: upstream {error.status or ''} {error.code or error.kind}".replace(
            "  ", " "
        )
        await self.router.cooldown(account_id, until, reason)


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

    def __init__(self, service: ProxyService, prepared: Prepared) -> None:
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
        while len(self.tried) < max(service.max_attempts, 1):
            try:
                account = await service.pick(key, self.tried)
            except NoAccountAvailableError as e:
                raise _no_account(e, last) from None
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
        raise _exhausted(last)

    async def _open(
        self, account_id: str, body: dict[str, Any], key: str
    ) -> tuple[UpstreamStream, AsyncIterator[dict[str, Any]], list[dict[str, Any]]]:
        service = self.service
        credentials = await service.accounts.credentials(account_id)
        try:
            stream = await service.upstream.open(credentials, body, session_id=key)
        except UpstreamHTTPError as e:
            if e.kind != "auth" or credentials.kind != "chatgpt":
                raise
            credentials = await service.accounts.force_refresh(
                account_id, rejected_token=credentials.access_token
            )
            stream = await service.upstream.open(credentials, body, session_id=key)
        service.spawn(service.scheduler.ingest_headers(account_id, stream.headers))
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


def _no_account(error: NoAccountAvailableError, last: UpstreamHTTPError | None) -> ProxyError:
    if last is not None:
        return _exhausted(last)
    retry = error.details.get("retry_after")
    return ProxyError(
        503,
        error.message,
        code="no_account_available",
        retry_after=min(float(retry), 300.0) if retry else 30.0,
    )


def _exhausted(last: UpstreamHTTPError | None) -> ProxyError:
    """The error after every candidate failed: the last failure, as the client should see it."""
    if last is None:
        return ProxyError(
            503, "No account can serve this request now.", code="no_account_available"
        )
    if last.kind in ("usage_limit", "rate_limit"):
        wait = (last.reset_at - time.time()) if last.reset_at else last.retry_after
        retry = min(max(wait or 30.0, 1.0), 300.0)
        return ProxyError(
            429, f"Every account is rate limited: {last.message}", code=last.code, retry_after=retry
        )
    if last.kind == "connection":
        return ProxyError(
            502, "The upstream service could not be reached.", code="upstream_unreachable"
        )
    status = 529 if last.code in ("server_is_overloaded", "slow_down") else 502
    return ProxyError(status, f"Upstream error: {last.message}", code=last.code or "upstream_error")


__all__ = ["Dialect", "Exchange", "Prepared", "ProxyError", "ProxyService"]
