"""The HTTP client of the proxy: one streaming ``POST …/responses`` per attempt.

ChatGPT accounts go to ``{chatgpt_base_url}/codex/responses`` with their access
token, ``ChatGPT-Account-Id`` and a stable ``session_id`` header (the backend
pins prompt-cache affinity on it); API keys go to ``{openai_base_url}/responses``.
An answer other than 200 becomes an :class:`UpstreamHTTPError` whose ``kind``
says what the caller may do about it (cool down, refresh, fail over, give up).
The SSE body is parsed into event dicts as it arrives.

Why this module is long: one client with its error classification and SSE parsing,
which change together with the backend.
"""

from __future__ import annotations

import email.utils
import json
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ..accounts.credentials import Credentials
from ..errors import UpstreamError
from ..http import build_client, ssl_context
from ..usage.collector import parse_usage_limit_error
from .transport import StreamResponse, StreamTransport, TransportError, read_bounded

if TYPE_CHECKING:  # httpx costs ~50 ms to import: only when first used
    import httpx

FailureKind = Literal[
    "usage_limit",  # 429 usage_limit_reached: cool down until the reset
    "rate_limit",  # other 429: short cooldown
    "auth",  # 401: refresh the token once, then fail over
    "forbidden",  # 403: fail over
    "server",  # 5xx: fail over
    "connection",  # no answer at all: fail over
    "client",  # other 4xx: the request itself is wrong, surface it
]

#: Largest error body read from upstream (they are small JSON documents).
_MAX_ERROR_BODY = 64 * 1024
#: ``client_version`` sent for the codex model catalogue (its allowlist depends on it).
CLIENT_VERSION = "0.169.0"


@dataclass
class UpstreamHTTPError(UpstreamError):
    """An attempt failed before any event arrived (in the one error tree: ``UpstreamError``)."""

    kind: FailureKind
    status: int | None
    message: str
    code: str | None = None  # type: ignore[assignment]  # the upstream's code, if any
    reset_at: float | None = None
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    plan_type: str | None = None

    def __post_init__(self) -> None:
        self.details: dict[str, Any] = {}  # CodexError's; the fields above say it all

    def __str__(self) -> str:
        return f"{self.kind} ({self.status}): {self.message}"

    @property
    def failover(self) -> bool:
        """Whether another account may succeed where this one failed."""
        return self.kind != "client"


class UpstreamStream:
    """A 200 answer: headers now, events as they arrive, ``aclose`` to cancel."""

    def __init__(self, response: StreamResponse | httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Parsed SSE ``data:`` objects (``[DONE]`` and comments skipped).

        An event without ``type`` takes its SSE ``event:`` name. Raises
        :class:`UpstreamHTTPError` (``connection``) when the stream breaks.
        """
        parser = SSEParser()
        try:
            async for chunk in self._response.aiter_bytes():
                for event in parser.feed(chunk):
                    yield event
            for event in parser.close():
                yield event
        except TransportError as e:
            raise UpstreamHTTPError("connection", None, str(e)) from e
        except Exception as e:
            if not _is_httpx_error(e):
                raise
            raise UpstreamHTTPError("connection", None, f"stream broken: {type(e).__name__}") from e

    async def aclose(self) -> None:
        """Close the connection (cancels the upstream request if still streaming)."""
        await self._response.aclose()


class SSEParser:
    """Incremental ``text/event-stream`` parser: bytes in, event dicts out.

    It splits each network chunk on blank lines at once instead of line by line
    through text decoders: this is the relay's hot path (one call per upstream
    read, however many events the read holds). CRLF and CR line ends work too.
    """

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The events completed by ``chunk``."""
        buf = self._rest + chunk if self._rest else chunk
        held = b""
        if buf.endswith(b"\r"):  # maybe half of a CRLF: wait for the next byte
            buf, held = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, rest = buf.split(b"\n\n")
        self._rest = rest + held
        events = []
        for block in blocks:
            event = _decode_block(block)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[dict[str, Any]]:
        """The last event when the stream ends without a blank line."""
        rest, self._rest = self._rest.replace(b"\r", b"\n"), b""
        events = (_decode_block(block) for block in rest.split(b"\n\n"))
        return [event for event in events if event is not None]


def _decode_block(block: bytes) -> dict[str, Any] | None:
    """One SSE event (its lines without the blank line) as a dict, or None."""
    name: str | None = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    if not data:
        return None
    raw = data[0] if len(data) == 1 else b"\n".join(data)
    if raw.strip() == b"[DONE]":
        return None
    try:
        event = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(event, dict):
        return None
    if name and "type" not in event:
        event["type"] = name
    return event


class UpstreamClient:
    """Pooled HTTP client for model requests (built lazily, like the usage collector's)."""

    def __init__(
        self,
        *,
        chatgpt_base_url: str,
        openai_base_url: str,
        ca_certificate: str = "",
        connect_timeout: float = 15.0,
        read_timeout: float = 300.0,
        max_connections: int = 256,
        originator: str = "codex_cli_rs",
        user_agent: str = "jupyter-codex",
    ) -> None:
        self.chatgpt_url = chatgpt_base_url.rstrip("/") + "/codex/responses"
        self.openai_url = openai_base_url.rstrip("/") + "/responses"
        self.originator = originator
        self._settings = (
            ca_certificate,
            connect_timeout,
            read_timeout,
            max_connections,
            user_agent,
        )
        self._client: httpx.AsyncClient | None = None
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._via_env_proxy: dict[str, bool] = {}
        #: Streamed model requests (the relay's hot path); httpx serves the rest.
        self.transport = StreamTransport(
            self._ssl_context,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_idle_per_host=max_connections,
            user_agent=user_agent,
        )

    def _ssl_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                self._ssl = ssl_context(self._settings[0])
            return self._ssl

    def _http(self) -> httpx.AsyncClient:

        with self._lock:  # warm_up() may build it on a worker thread
            if self._client is None:
                ca, connect, read, max_connections, user_agent = self._settings
                if self._ssl is None:
                    self._ssl = ssl_context(ca)
                # streams end and start all the time: the factory keeps max_connections
                # alive (TLS handshakes cost milliseconds each; 16 meant one per request at 32)
                self._client = build_client(
                    verify=self._ssl,
                    timeout=read,
                    connect_timeout=connect,
                    max_connections=max_connections,
                    headers={"User-Agent": user_agent},
                )
        return self._client

    def warm_up(self) -> None:
        """Build the clients off the event loop (``asyncio.to_thread``) at start-up."""
        self._ssl_context()
        self._http()

    async def aclose(self) -> None:
        await self.transport.aclose()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def uses_env_proxy(self, url: str) -> bool:
        """Whether an environment proxy (``HTTPS_PROXY``…, minus ``NO_PROXY``) applies
        to ``url``: such upstreams are reached through httpx, which speaks to proxies."""
        known = self._via_env_proxy.get(url)
        if known is None:
            parts = urlsplit(url)
            proxies = urllib.request.getproxies()
            known = bool(proxies.get(parts.scheme) or proxies.get("all")) and not (
                urllib.request.proxy_bypass(parts.hostname or "")
            )
            self._via_env_proxy[url] = known
        return known

    def request_headers(self, credentials: Credentials, session_id: str | None) -> dict[str, str]:
        headers = {
            **credentials.auth_headers(),
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }
        if credentials.kind == "chatgpt":
            headers["OpenAI-Beta"] = "responses=experimental"
            headers["originator"] = self.originator
        if session_id:
            headers["session_id"] = session_id
        return headers

    async def list_models(self, credentials: Credentials) -> list[str]:
        """Model ids the account's upstream serves: the codex backend's catalogue
        (``models[].slug``, hidden ones left out) or an OpenAI ``/models`` list."""
        import httpx

        if credentials.kind == "chatgpt":
            url = self.chatgpt_url.rsplit("/", 1)[0] + "/models"
            params = {"client_version": CLIENT_VERSION}
        else:
            url, params = self.openai_url.rsplit("/", 1)[0] + "/models", {}
        headers = {
            k: v for k, v in self.request_headers(credentials, None).items() if k != "Accept"
        }
        try:
            response = await self._http().get(url, params=params, headers=headers, timeout=15.0)
        except httpx.HTTPError as e:
            raise UpstreamHTTPError("connection", None, f"{type(e).__name__}") from e
        if response.status_code != 200:
            raise classify(response.status_code, response.content[:65536], response.headers)
        try:
            data = response.json()
        except ValueError:
            raise UpstreamHTTPError("server", 200, "the model list is not JSON") from None
        return parse_model_list(data)

    async def open(
        self, credentials: Credentials, body: dict[str, Any], *, session_id: str | None
    ) -> UpstreamStream:
        """POST ``body`` as ``credentials``; the open stream, or :class:`UpstreamHTTPError`."""
        url = self.chatgpt_url if credentials.kind == "chatgpt" else self.openai_url
        content = json.dumps(body, separators=(",", ":")).encode()
        headers = self.request_headers(credentials, session_id)
        if self.uses_env_proxy(url):
            return await self._open_with_httpx(url, content, headers)
        try:
            response = await self.transport.post(url, content, headers)
        except TransportError as e:
            raise UpstreamHTTPError("connection", None, str(e)) from e
        except ValueError as e:  # a header value that HTTP cannot carry
            raise UpstreamHTTPError("client", 400, str(e)) from None
        if response.status_code == 200:
            return UpstreamStream(response)
        try:
            raw = await response.read_bounded(_MAX_ERROR_BODY)
        except TransportError:
            raw = b""
        finally:
            await response.aclose()
        raise classify(response.status_code, raw, response.headers)

    async def _open_with_httpx(
        self, url: str, content: bytes, headers: dict[str, str]
    ) -> UpstreamStream:
        import httpx

        client = self._http()
        try:
            request = client.build_request("POST", url, content=content, headers=headers)
            response = await client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise UpstreamHTTPError("connection", None, f"{type(e).__name__}") from e
        if response.status_code == 200:
            return UpstreamStream(response)
        try:
            raw = await read_bounded(response.aiter_bytes(), _MAX_ERROR_BODY)
        except httpx.HTTPError:
            raw = b""
        finally:
            await response.aclose()
        raise classify(response.status_code, raw, response.headers)


def parse_model_list(data: Any) -> list[str]:
    """Ids from a ``{"models": [{"slug", "visibility"}]}`` or ``{"data": [{"id"}]}`` body."""
    ids: list[str] = []
    if not isinstance(data, dict):
        return ids
    for model in data.get("models") or []:
        if (
            isinstance(model, dict)
            and isinstance(model.get("slug"), str)
            and model.get("visibility") not in ("hide", "hidden")
        ):
            ids.append(model["slug"])
    if not ids:
        for model in data.get("data") or []:
            if isinstance(model, dict) and isinstance(model.get("id"), str):
                ids.append(model["id"])
    return list(dict.fromkeys(ids))


def _is_httpx_error(error: BaseException) -> bool:
    httpx = sys.modules.get("httpx")  # only an httpx response can raise one
    return httpx is not None and isinstance(error, httpx.HTTPError)


def classify(status: int, raw: bytes, headers: Mapping[str, str]) -> UpstreamHTTPError:
    """Turn a non-200 answer into an :class:`UpstreamHTTPError` (no body text kept
    beyond the upstream's own error message)."""
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        error = {"message": error}
    error = error if isinstance(error, dict) else {}
    message = error.get("message") if isinstance(error.get("message"), str) else None
    code = error.get("code") or error.get("type")
    code = code if isinstance(code, str) else None
    lower = {k.lower(): v for k, v in headers.items()}
    retry_after = parse_retry_after(lower.get("retry-after"))
    kind: FailureKind
    reset_at = None
    plan_type = error.get("plan_type") if isinstance(error.get("plan_type"), str) else None
    if status == 429:
        reset_at = parse_usage_limit_error(body)
        kind = (
            "usage_limit" if reset_at is not None or code == "usage_limit_reached" else "rate_limit"
        )
    elif status == 401:
        kind = "auth"
    elif status == 403:
        kind = "forbidden"
    elif status >= 500:
        kind = "server"
    else:
        kind = "client"
    return UpstreamHTTPError(
        kind,
        status,
        (message or f"The upstream answered HTTP {status}.")[:500],
        code=code,
        reset_at=reset_at,
        retry_after=retry_after,
        headers=lower,
        plan_type=plan_type,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        seconds = when - (time.time() if now is None else now)
    return seconds if 0 <= seconds <= 8 * 86_400 else None


__all__ = [
    "FailureKind",
    "SSEParser",
    "UpstreamClient",
    "UpstreamHTTPError",
    "UpstreamStream",
    "classify",
    "parse_retry_after",
]
