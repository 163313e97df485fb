"""The OpenAI- and Claude-compatible endpoints: thin handlers over the ProxyService.

Authentication is Jupyter's own (token, Bearer, cookie + XSRF) **or** a proxy
client key (``Authorization: Bearer jcx-…`` or ``x-api-key: jcx-…``). A client
key opens these handlers and nothing else: only :class:`ProxyHandler` knows
about keys. Cookie-authenticated requests still pass Jupyter's XSRF check;
key-authenticated ones carry no cookie, so XSRF does not apply to them. An
``x-api-key`` holding the Jupyter token is accepted too (the Anthropic SDK
sends its key that way). Every error is written in the client's dialect.

Length: key authentication, the dialect error funnel and the streaming and
buffered paths of four routes; the SSE engine itself is ``proxy/sse_writer.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from ..errors import CodexError, InvalidRequestError
from ..proxy.anthropic import count_tokens_estimate
from ..proxy.dialects import Adapter, AnthropicAdapter, adapter_for
from ..proxy.keys import RateLimitedError
from ..proxy.models_catalog import openai_model_list
from ..proxy.service import AnyExchange, Dialect, Prepared, ProxyError
from ..proxy.sse_writer import ClientGone, SSEWriter
from ..proxy.upstream import UpstreamHTTPError
from .base import AUTH_RESOURCE, CodexServices
from .bodies import BoundedBodyMixin, loads_json
from .redaction import RedactedLogMixin

_F = TypeVar("_F", bound=Callable[..., Any])
T = TypeVar("T")

try:
    from jupyter_server.auth.decorator import allow_unauthenticated
except ImportError:  # jupyter_server < 2.13 never enforces auth in prepare()

    def allow_unauthenticated(method: _F) -> _F:
        return method


#: Statuses a retry cannot fix (a wrong key, body or path): SDKs give up at once.
_NOT_RETRYABLE = frozenset({400, 401, 403, 404, 413, 422})


class _HandlerSink:
    """The :class:`~..proxy.sse_writer.Sink` of a proxy handler (Tornado underneath)."""

    closed_errors: tuple[type[BaseException], ...] = (StreamClosedError,)

    def __init__(self, handler: ProxyHandler, finished: Callable[[], bool]) -> None:
        self.handler = handler
        self._finished = finished

    def start(self) -> None:
        handler = self.handler
        handler.set_status(200)
        handler.set_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.set_header("Cache-Control", "no-cache")
        handler.set_header("X-Accel-Buffering", "no")
        # Every event must leave at once: without TCP_NODELAY a small write waits for the
        # ACK of the previous one (tornado restores Nagle when the response ends).
        stream = getattr(handler.request.connection, "stream", None)
        if stream is not None:
            stream.set_nodelay(True)

    def write(self, data: bytes) -> None:
        self.handler.write(data)

    def flush(self) -> asyncio.Future[None]:
        return self.handler.flush()

    @property
    def finished(self) -> bool:
        return self._finished()


class ProxyHandler(CodexServices, RedactedLogMixin, BoundedBodyMixin, APIHandler):
    """Base of the proxy endpoints: key-or-Jupyter auth, dialect errors, SSE."""

    auth_resource = AUTH_RESOURCE
    #: which error dialect (and stream adapter family) this endpoint speaks
    adapter: type[Adapter] = Adapter

    def initialize(self) -> None:
        self.client_id: str | None = None
        self.log_fields: dict[str, Any] = {}
        self.error_code: str | None = None
        self._gone = asyncio.Event()
        self.sse = SSEWriter(_HandlerSink(self, lambda: bool(self._finished)), 15.0)

    # -- authentication ------------------------------------------------------------

    def _presented_key(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and self.proxy.keys.looks_like_key(value.strip()):
            return value.strip()
        api_key = self.request.headers.get("x-api-key", "").strip()
        return api_key if self.proxy.keys.looks_like_key(api_key) else None

    async def prepare(self) -> None:  # type: ignore[override]
        await self.prepare_bounded(self._authenticate)

    async def _authenticate(self) -> None:
        if self.request.method == "OPTIONS":  # CORS pre-flight: Jupyter's rules
            await super().prepare()
            return
        presented = self._presented_key()
        if presented is not None:
            self.current_user = None  # a key is no Jupyter identity
            if not self.check_host():
                raise web.HTTPError(403)
            await self.started()  # the key store must be open
            key = await self.proxy.keys.verify(presented)
            if key is None:
                raise ProxyError(401, "Invalid or revoked API key.", code="invalid_api_key")
            self.client_id = key.id
            self.proxy.keys.check_rate(key, self.proxy.rate_limit_per_minute)
        else:
            api_key = self.request.headers.get("x-api-key", "").strip()
            if api_key and "Authorization" not in self.request.headers:
                self.request.headers["Authorization"] = f"token {api_key}"
            try:
                await super().prepare()
            except web.HTTPError:
                if getattr(self, "_jupyter_current_user", None) is not None:
                    raise  # e.g. a cookie-authenticated request without its XSRF token
                self.current_user = None  # without credentials, the answer is 401 below
            if self.current_user is None:
                raise ProxyError(
                    401,
                    "Authentication required: send a proxy API key or the Jupyter token as "
                    "'Authorization: Bearer …' or 'x-api-key'.",
                    code="invalid_api_key",
                )
            action = "read" if self.request.method in ("GET", "HEAD") else "write"
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE)
            )
            if not allowed:
                raise ProxyError(403, "This user may not use the Codex proxy.")
            self.client_id = "jupyter"
        if not self.settings.get("codex_proxy_enabled", True):
            raise ProxyError(
                403,
                "The OpenAI/Claude-compatible endpoints are turned off on this server "
                "(CodexExtensionApp.proxy_enabled = False); ask your administrator.",
                code="proxy_disabled",
            )
        await self.started()

    # -- bodies and errors -----------------------------------------------------------

    def body_limit(self) -> int:
        return int(self.proxy.max_body_bytes)

    def json_body(self) -> dict[str, Any]:
        body = self.body_bytes()
        data = loads_json(body) if body.strip() else None
        if not isinstance(data, dict):
            raise InvalidRequestError("The request body must be a JSON object.")
        return data

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data), set_content_type="application/json")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        code: str | None = None
        retry_after: float | None = None
        extra: dict[str, Any] = {}
        should_retry: bool | None = None
        if isinstance(exc, ProxyError):
            status, message, code, retry_after = exc.status, exc.message, exc.code, exc.retry_after
            extra, should_retry = exc.extra, exc.should_retry
        elif isinstance(exc, CodexError):
            status, message, code = exc.status_code, exc.message, exc.code
            retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
            if status == 503:
                retry_after = exc.details.get("retry_after") or 30.0
        elif isinstance(exc, web.HTTPError):
            status, message = exc.status_code, exc.log_message or self._reason
        else:
            status, message = 500, "Internal error; see the Jupyter server log."
        self.error_code = code or f"http_{status}"
        if self.sse.started:  # headers are out: end the stream with an in-stream error
            self._finish_stream(self.adapter_error(status, message, code))
            return
        self.set_status(status)
        if retry_after:
            self.set_header("Retry-After", str(max(1, round(retry_after))))
        if should_retry is None and status in _NOT_RETRYABLE:
            should_retry = False
        if should_retry is not None:  # the OpenAI and Anthropic SDKs obey it
            self.set_header("x-should-retry", "true" if should_retry else "false")
        body = self.adapter.error_body(status, message, code, extra)
        self.finish(json.dumps(body), set_content_type="application/json")

    def adapter_error(self, status: int, message: str, code: str | None) -> bytes:
        """The in-stream error frames of this endpoint (streaming endpoints override)."""
        return b""

    def _finish_stream(self, data: bytes) -> None:
        self.sse.cancel_flush()  # finish() flushes everything anyway
        if data:
            self.write(data)
        self.finish(set_content_type="text/event-stream; charset=utf-8")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (ProxyError, CodexError)):
            status = value.status if isinstance(value, ProxyError) else value.status_code
            if status < 500:
                self.log.info("%s %s -> %s", self.request.method, self.request.path, status)
                return
            self.log.warning(
                "%s %s -> %s: %s", self.request.method, self.request.path, status, value
            )
            return
        super().log_exception(typ, value, tb)

    def on_connection_close(self) -> None:
        self._gone.set()

    def on_finish(self) -> None:
        if self.client_id is None or self.request.method == "OPTIONS":
            return
        fields = self.log_fields
        self.proxy.record(
            key_id=self.client_id,
            method=self.request.method or "",
            path=self.request.path,
            model=fields.get("model"),
            account_id=fields.get("account_id"),
            status=self.get_status(),
            latency_ms=self.request.request_time() * 1000.0,
            input_tokens=fields.get("input_tokens"),
            output_tokens=fields.get("output_tokens"),
            error=self.error_code,
        )


class ModelsHandler(ProxyHandler):
    """``GET codex/v1/models``."""

    @allow_unauthenticated
    async def get(self) -> None:
        await self.proxy.refresh_catalog()
        self.send_json(openai_model_list(self.proxy.model_ids(), created=int(time.time())))


class ModelHandler(ProxyHandler):
    """``GET codex/v1/models/{id}``: one model as the list shows it, or a 404."""

    @allow_unauthenticated
    async def get(self, model_id: str) -> None:
        await self.proxy.refresh_catalog()
        listed = openai_model_list(self.proxy.model_ids(), created=int(time.time()))["data"]
        by_id = {m["id"].lower(): m for m in listed}
        found = by_id.get(model_id.lower()) or by_id.get(model_id.lower().removeprefix("openai/"))
        if found is None:
            raise ProxyError(
                404,
                f"The model '{model_id}' does not exist or is not served here; "
                "GET /v1/models lists them.",
                code="model_not_found",
            )
        self.send_json(found)


class AnthropicModelsHandler(ProxyHandler):
    """``GET codex/claude/v1/models[/{id}]``: the served models in Anthropic's list shape."""

    adapter = AnthropicAdapter

    @allow_unauthenticated
    async def get(self, model_id: str | None = None) -> None:
        await self.proxy.refresh_catalog()
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        models = [
            {"type": "model", "id": m, "display_name": m, "created_at": created}
            for m in self.proxy.model_ids()
        ]
        if model_id is not None:
            found = next((m for m in models if m["id"].lower() == model_id.lower()), None)
            if found is None:
                raise ProxyError(404, f"model: {model_id} is not served here.")
            self.send_json(found)
            return
        self.send_json(
            {
                "data": models,
                "has_more": False,
                "first_id": models[0]["id"] if models else None,
                "last_id": models[-1]["id"] if models else None,
            }
        )


class UnknownOpenAIRouteHandler(ProxyHandler):
    """Any other path under ``codex/v1/``: a JSON 404 in the OpenAI dialect (after the
    same authentication, so a proxy key gets the 404 too, not Jupyter's HTML page)."""

    def _missing(self, *args: Any, **kwargs: Any) -> None:
        raise ProxyError(
            404,
            f"Unknown route {self.request.method} {self.request.path}; this proxy serves "
            "models, chat/completions and responses.",
            code="unknown_url",
        )

    get = post = put = patch = delete = allow_unauthenticated(_missing)


class UnknownAnthropicRouteHandler(UnknownOpenAIRouteHandler):
    """Any other path under ``codex/claude/``: a JSON 404 in the Anthropic dialect."""

    adapter = AnthropicAdapter

    def _missing(self, *args: Any, **kwargs: Any) -> None:
        raise ProxyError(
            404,
            f"Unknown route {self.request.method} {self.request.path}; this proxy serves "
            "v1/messages, v1/messages/count_tokens and v1/models.",
            code="not_found_error",
        )

    get = post = put = patch = delete = allow_unauthenticated(_missing)


class CompletionHandler(ProxyHandler):
    """Shared POST flow: translate, run the exchange, answer (JSON or SSE)."""

    dialect: Dialect = "chat"

    @allow_unauthenticated
    async def post(self) -> None:
        await self.proxy.refresh_catalog()
        prepared = self.proxy.prepare(
            self.dialect, self.json_body(), self.request.headers, self.client_id or "jupyter"
        )
        self.log_fields["model"] = prepared.model
        self.sse.stream_mode = prepared.stream
        self.sse.keepalive_seconds = self.proxy.keepalive_seconds
        adapter = adapter_for(prepared)
        self._adapter = adapter
        if prepared.dialect == "chat" and prepared.info.n > 1:
            await self._choices(prepared, adapter)
            return
        exchange = self.proxy.exchange(prepared)
        try:
            await self._wait(exchange.start(), adapter)
            self.log_fields["account_id"] = exchange.account_id
            if prepared.stream:
                await self._relay(exchange, adapter)
            else:
                await self._collect(exchange, adapter)
            final = adapter.final_response()
            if final is not None:
                self.proxy.remember_response(prepared, final)
        except ClientGone:
            self.error_code = "client_closed"
            self.log.info("Proxy client went away; upstream request cancelled")
        finally:
            await exchange.aclose()

    async def _choices(self, prepared: Prepared, adapter: Adapter) -> None:
        """Chat ``n > 1``: the completion runs upstream ``n`` times (at once), then the
        answers merge into one ``chat.completion`` with choices ``0..n-1`` and the summed
        usage (each run is billed upstream)."""

        async def one() -> tuple[int, dict[str, Any], AnyExchange]:
            exchange = self.proxy.exchange(prepared)
            answer = adapter_for(prepared)
            try:
                await exchange.start()
                await self._gather(exchange, answer)
                return (*answer.result(), exchange)
            finally:
                await exchange.aclose()

        async def runs() -> list[tuple[int, dict[str, Any], AnyExchange]]:
            return await asyncio.gather(*(one() for _ in range(prepared.info.n)))

        try:
            results = await self._wait(runs(), adapter)
        except ClientGone:
            self.error_code = "client_closed"
            return
        for status, body, _ in results:
            if status != 200:
                self.error_code = str((body.get("error") or {}).get("code") or f"http_{status}")
                self.send_json(body, status)
                return
        merged = dict(results[0][1])
        merged["choices"] = [
            dict(body["choices"][0], index=i) for i, (_, body, _) in enumerate(results)
        ]
        usage: dict[str, Any] = {}
        for _, body, _ in results:
            for key, value in (body.get("usage") or {}).items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        merged["usage"] = {**(results[0][1].get("usage") or {}), **usage}
        self.log_fields["account_id"] = results[0][2].account_id
        self.log_fields["input_tokens"] = usage.get("prompt_tokens")
        self.log_fields["output_tokens"] = usage.get("completion_tokens")
        self.send_json(merged)

    def _note_usage(self, exchange: AnyExchange) -> None:
        """Token counts for the request log (written by ``on_finish``)."""
        if exchange.usage is not None:
            self.log_fields["input_tokens"] = exchange.usage.input_tokens
            self.log_fields["output_tokens"] = exchange.usage.output_tokens

    def adapter_error(self, status: int, message: str, code: str | None) -> bytes:
        return self._adapter.fail(status, message, code)

    async def _wait(self, work: Coroutine[Any, Any, T], adapter: Adapter) -> T:
        """Run ``work`` for this request with the dialect's keep-alives; a client that
        closes the connection cancels it (and raises ``ClientGone``): see ``SSEWriter.wait``.
        """
        return await self.sse.wait(work, adapter.keepalive, self._gone.wait())

    async def _relay(self, exchange: AnyExchange, adapter: Adapter) -> None:
        await self.sse.send(b"")
        await self._wait(self._pump(exchange, adapter), adapter)
        self._note_usage(exchange)
        self._finish_stream(adapter.finish())

    async def _pump(self, exchange: AnyExchange, adapter: Adapter) -> None:
        """Translate and write every event (one task per stream, not one per event)."""
        try:
            async for event in exchange.events():
                frames = adapter.feed(event)
                if frames:
                    await self.sse.write_frames(frames)
        except UpstreamHTTPError as e:  # the stream broke after it started
            self.log.warning("Upstream stream of account %s broke: %s", exchange.account_id, e)
            self.error_code = "upstream_stream_truncated"

    async def _collect(self, exchange: AnyExchange, adapter: Adapter) -> None:
        await self._wait(self._gather(exchange, adapter), adapter)
        self._note_usage(exchange)
        status, body = adapter.result()
        if status != 200:
            self.error_code = str((body.get("error") or {}).get("code") or f"http_{status}")
        self.send_json(body, status)

    async def _gather(self, exchange: AnyExchange, adapter: Adapter) -> None:
        """Feed every event of a non-stream request to the adapter."""
        try:
            async for event in exchange.events():
                adapter.collect(event)
        except UpstreamHTTPError as e:
            self.log.warning("Upstream stream of account %s broke: %s", exchange.account_id, e)


class ChatCompletionsHandler(CompletionHandler):
    """``POST codex/v1/chat/completions``."""

    dialect: Dialect = "chat"


class ResponsesHandler(CompletionHandler):
    """``POST codex/v1/responses``."""

    dialect: Dialect = "responses"


class MessagesHandler(CompletionHandler):
    """``POST codex/claude/v1/messages``."""

    dialect: Dialect = "anthropic"
    adapter = AnthropicAdapter


class CountTokensHandler(ProxyHandler):
    """``POST codex/claude/v1/messages/count_tokens`` (an estimate; nothing goes upstream)."""

    adapter = AnthropicAdapter

    @allow_unauthenticated
    async def post(self) -> None:
        body = self.json_body()
        self.log_fields["model"] = body.get("model") if isinstance(body.get("model"), str) else None
        self.send_json({"input_tokens": count_tokens_estimate(body)})


def proxy_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the OpenAI/Claude-compatible proxy."""
    return [
        (r"codex/v1/models", ModelsHandler),
        (r"codex/v1/chat/completions", ChatCompletionsHandler),
        (r"codex/v1/responses", ResponsesHandler),
        (r"codex/claude/v1/messages", MessagesHandler),
        (r"codex/claude/v1/messages/count_tokens", CountTokensHandler),
        (r"codex/v1/models/(?P<model_id>.+)", ModelHandler),
        (r"codex/claude/v1/models", AnthropicModelsHandler),
        (r"codex/claude/v1/models/(?P<model_id>[^/]+)", AnthropicModelsHandler),
        # last: everything else under the proxy prefixes is a 404 in its dialect
        (r"codex/v1/(?P<rest>.*)", UnknownOpenAIRouteHandler),
        (r"codex/claude/(?P<rest>.*)", UnknownAnthropicRouteHandler),
    ]


__all__ = ["proxy_handlers"]
