"""The proxy service: requests in any dialect -> one upstream stream, with failover.

:meth:`ProxyService.prepare` translates a client body (chat completions,
Anthropic Messages or Responses) into the codex backend's Responses body and
gives it a stable session key (or, in agent mode, an :class:`AgentRequest`).
:meth:`ProxyService.exchange` then runs it: an :class:`~.exchange.Exchange`
against the api target's accounts with failover before the first byte, or an
:class:`~.agent.AgentExchange` that runs a Codex turn. The service also owns
what outlives a request: conversation affinity, cooldowns, the request log.

Why this module is long: besides preparing and running exchanges it holds what
outlives a request (failover bookkeeping, affinity, the request log).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from traitlets import Bool, Dict, Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from ..errors import CodexError, InvalidRequestError, NoAccountAvailableError
from ..tasks import TaskOwner, single_flight, within
from . import anthropic, openai_chat
from .affinity import AffinityMap, session_key
from .agent import AgentExchange, AgentRequest, AgentRunner, conversation_id, output_schema_of
from .errors import ProxyError
from .exchange import Exchange
from .keys import ProxyKeys
from .models_catalog import DEFAULT_MODELS, parse_model
from .prepared import Dialect, Prepared
from .response_memory import ResponseMemory
from .responses import normalize_responses_request, tool_name_map
from .upstream import UpstreamClient, UpstreamHTTPError, UpstreamStream

#: Header that asks for the cli target's account (the value ``targets.TARGET_HEADER``).
TARGET_HEADER = "x-jupyter-codex-target"

if TYPE_CHECKING:
    from ..accounts.manager import AccountManager
    from ..accounts.router import AccountRouter
    from ..models import Account
    from ..store.proxy import RequestLogRepository
    from ..usage.scheduler import UsageScheduler

#: What :meth:`ProxyService.exchange` gives the handler: same surface, either mode.
AnyExchange = Exchange | AgentExchange


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
    models_ttl_seconds = Float(
        300.0,
        config=True,
        help="How long the upstream model catalogue (GET codex/v1/models) is cached.",
    )
    allow_unknown_models = Bool(
        False, config=True, help="Pass model names outside the list upstream instead of a 404."
    )
    default_model = Unicode(
        "",
        config=True,
        help="""Upstream model that serves a model name outside the list (opt-in, for clients
        that send a name of their own, as claude-* names map to claude_model). Empty: such a
        name gets a 404 (unless allow_unknown_models).""",
    )
    request_log_rows = Int(10_000, config=True, help="Rows kept in the proxy request log.")
    remembered_responses = Int(
        512,
        config=True,
        help="Responses whose conversation is kept (in memory, per client, for "
        "remembered_response_seconds) so a later request can continue it with "
        "previous_response_id (0: refuse previous_response_id).",
    )
    remembered_response_seconds = Float(
        3600.0, config=True, help="How long a response can be continued with previous_response_id."
    )

    def __init__(
        self,
        *,
        router: AccountRouter,
        accounts: AccountManager,
        scheduler: UsageScheduler,
        upstream: UpstreamClient,
        keys: ProxyKeys,
        request_log: RequestLogRepository,
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
        #: Agent mode (set by the app once the workspace exists; None: agent models 404).
        self.agent: AgentRunner | None = None
        self.responses = ResponseMemory(
            max_entries=self.remembered_responses, ttl_seconds=self.remembered_response_seconds
        )
        self._catalog: list[str] = []
        self._catalog_at = float("-inf")
        self._catalog_task: asyncio.Future[None] | None = None
        self._ids: tuple[float, frozenset[str]] = (0.0, frozenset())
        self._tasks = TaskOwner("codex-proxy", self.log)

    # -- models ------------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        """Models listed: the configured list, else the live upstream catalogue, else
        the built-in one (until the catalogue was fetched, or when it fails)."""
        return list(self.models) or list(self._catalog) or list(DEFAULT_MODELS)

    def _accepted(self) -> set[str]:
        """Models served: the list, plus the built-in names (clients pin those)."""
        if self.models:
            return set(self.models)
        return set(self._catalog) | set(DEFAULT_MODELS)

    async def refresh_catalog(self) -> None:
        """Refresh the upstream catalogue when stale; waits only for the first fetch."""
        if self.models or time.monotonic() - self._catalog_at < self.models_ttl_seconds:
            return
        task = self._catalog_task
        if task is None or task.done():
            task = self._catalog_task = single_flight(self._fetch_catalog())
        if not self._catalog:
            with contextlib.suppress(asyncio.TimeoutError):
                await within(asyncio.shield(task), 15.0)

    async def _fetch_catalog(self) -> None:
        try:
            account = await self.router.active("api") or await self.router.pick_for_request()
            credentials = await self.accounts.credentials(account.id)
            ids = await self.upstream.list_models(credentials)
        except (CodexError, UpstreamHTTPError) as e:
            self.log.info("Model catalogue not refreshed (%s); keeping the last one", e)
            # Try again in a minute rather than on every request.
            self._catalog_at = time.monotonic() - self.models_ttl_seconds + 60.0
            return
        if ids:
            self._catalog = ids
        self._catalog_at = time.monotonic()

    def resolve_model(self, name: str, *, any_model: bool = False) -> tuple[str, str | None]:
        """Client model name -> (upstream model, effort); 404 for an unknown one
        (``any_model``: passed through, as codex itself would send it)."""
        aliases = {str(k): str(v) for k, v in self.model_aliases.items()}
        base, effort, is_agent = parse_model(name, aliases=aliases)
        if is_agent:
            if self.agent is None:
                raise ProxyError(
                    404, f"Agent mode ({name}) is not available here.", code="model_not_found"
                )
            if not base:
                return base, effort
        base = self._canonical(base)
        if base.lower().startswith("claude-") and base not in aliases:
            base = self.claude_model or self.model_ids()[0]
        accepted = base in self._accepted()
        if not accepted and self.default_model and not any_model:
            return self.default_model, effort
        if not (self.allow_unknown_models or any_model) and not accepted:
            raise ProxyError(
                404,
                f"The model '{name}' does not exist or is not served here; GET /v1/models lists them.",
                code="model_not_found",
            )
        return base, effort

    def _canonical(self, name: str) -> str:
        """``OpenAI/GPT-5-Codex`` -> ``gpt-5-codex`` when that is a served model: names
        match case-insensitively, with or without an ``openai/`` provider prefix."""
        if name.lower().startswith("openai/"):
            name = name[len("openai/") :]
        if name in self._accepted():
            return name
        by_lower = {m.lower(): m for m in self._accepted()}
        return by_lower.get(name.lower(), name)

    # -- requests ----------------------------------------------------------------------

    def prepare(
        self, dialect: Dialect, body: dict[str, Any], headers: Mapping[str, str], client_id: str
    ) -> Prepared:
        """Translate and normalize ``body``; raises InvalidRequestError / ProxyError."""
        info: Any = None
        remembered: str | None = None
        target = self._target(headers, client_id)
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
            rbody, remembered = self._continue_response(body, client_id)
            names = tool_name_map(rbody)
        upstream_model, effort = self.resolve_model(model, any_model=target == "cli")
        agent = None
        if target == "api":
            agent = self._agent_request(
                body, headers, client_id, rbody, model, upstream_model, effort
            )
        if agent is not None:
            return Prepared(
                dialect,
                rbody,
                "",
                model,
                upstream_model,
                bool(body.get("stream")),
                info,
                names,
                agent=agent,
            )
        key = remembered or session_key(client_id, body, headers, rbody, upstream_model)
        upstream = normalize_responses_request(
            rbody, model=upstream_model, session_key=key, effort=effort
        )
        return Prepared(
            dialect,
            upstream,
            key,
            model,
            upstream_model,
            bool(body.get("stream")),
            info,
            names,
            client_id=client_id,
            client_body=rbody,
            target=target,
        )

    @staticmethod
    def _target(headers: Mapping[str, str], client_id: str) -> Literal["api", "cli"]:
        """``x-jupyter-codex-target: cli`` (terminal codex, see ``targets.TerminalHome``):
        served with the cli target's account. Only the Jupyter user may ask for it."""
        wanted = (headers.get(TARGET_HEADER) or "api").strip().lower()
        if wanted not in ("api", "cli"):
            raise InvalidRequestError(f"Unknown {TARGET_HEADER} {wanted!r}; use 'api' or 'cli'.")
        if wanted == "cli" and client_id != "jupyter":
            raise ProxyError(
                403,
                "A proxy key cannot use the cli target's account; authenticate with the "
                "Jupyter token.",
                code="permission_denied",
            )
        return "cli" if wanted == "cli" else "api"

    def _continue_response(
        self, body: dict[str, Any], client_id: str
    ) -> tuple[dict[str, Any], str | None]:
        """Expand ``previous_response_id`` into the remembered conversation."""
        previous = body.get("previous_response_id")
        if previous is None:
            return body, None
        if not isinstance(previous, str) or not previous:
            raise InvalidRequestError("'previous_response_id' must be a response id string.")
        remembered = self.responses.recall(client_id, previous)
        if remembered is None:
            raise ProxyError(
                400,
                f"Previous response with id '{previous}' not found. This proxy keeps the "
                f"last {self.remembered_responses} responses for "
                f"{self.remembered_response_seconds:.0f} s (in memory); send the whole "
                "conversation in 'input' instead.",
                code="previous_response_not_found",
            )
        raw = body.get("input")
        new_items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
        if not isinstance(new_items, list):
            raise InvalidRequestError("'input' is required: a string or a list of input items.")
        rest = {k: v for k, v in body.items() if k != "previous_response_id"}
        return {**rest, "input": [*remembered.items, *new_items]}, remembered.session_key

    def remember_response(self, prepared: Prepared, response: dict[str, Any]) -> None:
        """Keep a finished Responses answer so ``previous_response_id`` can continue it."""
        if prepared.dialect != "responses" or response.get("status") != "completed":
            return
        raw = prepared.client_body.get("input")
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
        output = response.get("output") or []
        self.responses.remember(
            prepared.client_id, str(response.get("id") or ""), items, output, prepared.session_key
        )

    def _agent_request(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        client_id: str,
        rbody: dict[str, Any],
        model: str,
        upstream_model: str,
        effort: str | None,
    ) -> AgentRequest | None:
        """The agent-mode request when ``body`` selects agent mode, else None."""
        if self.agent is None:
            return None
        conversation = conversation_id(body, headers)
        is_agent = parse_model(model)[2]
        if not is_agent and not (self.agent.on_session_id and conversation):
            return None
        raw_input = rbody.get("input")
        messages = (
            [{"type": "message", "role": "user", "content": raw_input}]
            if isinstance(raw_input, str)
            else [i for i in raw_input or [] if isinstance(i, dict)]
        )
        instructions = rbody.get("instructions")
        return AgentRequest(
            conversation=conversation,
            client_id=client_id,
            model=upstream_model,
            effort=effort or _effort_of(rbody),
            messages=messages,
            instructions=instructions if isinstance(instructions, str) else "",
            output_schema=output_schema_of(rbody),
        )

    def exchange(self, prepared: Prepared) -> AnyExchange:
        if prepared.agent is not None:
            assert self.agent is not None
            return self.agent.exchange(prepared.agent, prepared.model)
        return Exchange(self, prepared)

    def record(self, **fields: Any) -> None:
        """Append to the request log in the background (never fails the request)."""
        self.spawn(self.request_log.append(**fields))

    def spawn(self, coro: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception as e:  # noqa: BLE001 - bookkeeping must never fail a request
                self.log.warning("Proxy background task failed: %s", e)

        self._tasks.start_soon(guarded, name="codex-proxy-record")

    async def aclose(self) -> None:
        if self._catalog_task is not None:
            self._catalog_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catalog_task
        await self._tasks.drain()
        await self.upstream.aclose()

    # -- accounts ----------------------------------------------------------------------

    async def _account_ids(self) -> frozenset[str]:
        at, ids = self._ids
        if time.monotonic() - at > 5.0:
            ids = frozenset(a.id for a in await self.router.accounts())
            self._ids = (time.monotonic(), ids)
        return ids

    async def pick(self, key: str, tried: list[str], target: str = "api") -> Account:
        """The conversation's account while it is a candidate, else the router's choice
        (the cli target: its active account, and no other)."""
        if target == "cli":
            account = await self.router.active("cli")
            if account is None or account.id in tried:
                raise NoAccountAvailableError(
                    "No account serves the cli target: add one or choose one in the Codex "
                    "panel (or `jupyter codex accounts use ID --target cli`).",
                    retry_after=60.0,
                )
            return account
        owner = self.affinity.get(key)
        if owner is not None and owner not in tried:
            others = (await self._account_ids()) - {owner}
            try:
                return await self.router.pick_for_request(exclude=others | set(tried))
            except NoAccountAvailableError:
                pass
        return await self.router.pick_for_request(exclude=tried)

    async def open_on(self, account_id: str, body: dict[str, Any], key: str) -> UpstreamStream:
        """A 200 upstream stream on ``account_id``; a 401 refreshes its token once (only
        if the rejected token is still the stored one: a burst of 401s, one refresh)."""
        credentials = await self.accounts.credentials(account_id)
        try:
            stream = await self.upstream.open(credentials, body, session_id=key)
        except UpstreamHTTPError as e:
            if e.kind != "auth" or credentials.kind != "chatgpt":
                raise
            credentials = await self.accounts.force_refresh(
                account_id, rejected_token=credentials.access_token
            )
            stream = await self.upstream.open(credentials, body, session_id=key)
        self.spawn(self.scheduler.ingest_headers(account_id, stream.headers))
        return stream

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
        await self.router.cooldown(account_id, until, reason, kind=error.kind)


def _effort_of(body: Mapping[str, Any]) -> str | None:
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return effort if isinstance(effort, str) and effort else None


__all__ = ["AnyExchange", "Dialect", "Exchange", "Prepared", "ProxyError", "ProxyService"]
