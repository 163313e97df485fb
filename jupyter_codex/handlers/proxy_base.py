"""The proxy endpoints' base: key-or-Jupyter authentication and the dialect error funnel.

Authentication is Jupyter's own (token, Bearer, cookie + XSRF) **or** a proxy
client key (``Authorization: Bearer jcx-…`` or ``x-api-key: jcx-…``). A client
key opens these handlers and nothing else: only :class:`ProxyHandler` knows
about keys. Cookie-authenticated requests still pass Jupyter's XSRF check;
key-authenticated ones carry no cookie, so XSRF does not apply to them. An
``x-api-key`` holding the Jupyter token is accepted too (the Anthropic SDK
sends its key that way). Every error is written in the client's dialect
(:meth:`ProxyHandler.write_error`, the one place), in-stream once SSE headers are out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from ..errors import CodexError, InvalidRequestError
from ..proxy.dialects import Adapter
from ..proxy.keys import RateLimitedError
from ..proxy.service import ProxyError
from ..proxy.sse_writer import SSEWriter
from .base import AUTH_RESOURCE, CodexServices
from .bodies import BoundedBodyMixin, loads_json
from .redaction import RedactedLogMixin

_F = TypeVar("_F", bound=Callable[..., Any])

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
        #: done once the client closed the connection (watched by ``SSEWriter.wait``)
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
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
        if not self.gone.done():
            self.gone.set_result(None)

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


__all__ = ["ProxyHandler", "allow_unauthenticated"]
