"""HTTP transport of the client: one ``httpx.AsyncClient``, errors mapped to the tree.

The server answers every error as ``{"error": {"code", "message", "details"}}``
(``handlers/base.py``); the stable ``code`` picks the exception class, so a
client catches the same :class:`~jupyter_codex.errors.NotFoundError` the server raised.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .. import errors
from ..errors import CodexError, NotAuthorizedError, ServerUnreachableError
from ._discovery import ServerInfo


def _codes() -> dict[str, type[CodexError]]:
    found: dict[str, type[CodexError]] = {}
    stack: list[type[CodexError]] = [CodexError]
    while stack:
        cls = stack.pop()
        found.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return found


_BY_STATUS: dict[int, type[CodexError]] = {
    400: errors.InvalidRequestError,
    403: NotAuthorizedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.PayloadTooLargeError,
    502: errors.AppServerError,
    503: errors.AppServerStartError,
    504: errors.RpcTimeoutError,
}


def error_from_payload(status: int, payload: Any, server: str) -> CodexError:
    """The exception for an ``{"error": {...}}`` body (or anything else) at ``status``."""
    body = payload.get("error") if isinstance(payload, dict) else None
    code = str(body.get("code")) if isinstance(body, dict) and body.get("code") else ""
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    details = dict(body.get("details") or {}) if isinstance(body, dict) else {}
    details.pop("message", None)
    if code in ("http_403", "") and status == 403:
        return NotAuthorizedError(
            f"The Jupyter server at {server} refused the request (403 Forbidden): the token "
            "is missing or wrong. Pass token=... or set JUPYTER_CODEX_SERVER_TOKEN."
        )
    cls = _codes().get(code) or _BY_STATUS.get(status) or CodexError
    if code == "http_404":
        cls = errors.NotFoundError
    error = cls(message or f"HTTP {status} from {server}", **details)
    if cls is CodexError:
        error.status_code, error.code = status, code or f"http_{status}"
    return error


class HttpTransport:
    """JSON requests to ``<server>/codex/api/…`` with the server's token."""

    def __init__(self, info: ServerInfo, *, timeout: float = 30.0, verify: Any = True) -> None:
        self.info = info
        self.api_url = info.url + "codex/api/"
        self.headers = {"Authorization": f"token {info.token}"} if info.token else {}
        self.verify = verify
        self._client = httpx.AsyncClient(
            base_url=self.api_url, headers=self.headers, timeout=timeout, verify=verify
        )

    @property
    def ws_url(self) -> str:
        """The events WebSocket (``ws(s)://…/codex/api/events``)."""
        scheme = "wss" if self.api_url.startswith("https") else "ws"
        return scheme + self.api_url[self.api_url.index(":") :] + "events"

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Any:
        """Send one request; the decoded JSON answer (``None`` for 204). Statuses in
        ``accept`` answer their body instead of raising (e.g. 503 of a readiness probe)."""
        try:
            response = await self._client.request(method, path, json=body, params=params)
        except httpx.TimeoutException as e:
            raise ServerUnreachableError(
                f"The Jupyter server at {self.info.url} did not answer {method} {path} in time."
            ) from e
        except httpx.TransportError as e:
            raise ServerUnreachableError(
                f"Cannot reach the Jupyter server at {self.info.url}: {e}. Is it running?"
            ) from e
        if response.is_success and (response.status_code == 204 or not response.content):
            return None
        try:
            payload = response.json()
        except (ValueError, json.JSONDecodeError):
            payload = None
        if not response.is_success and response.status_code not in accept:
            raise error_from_payload(response.status_code, payload, self.info.url)
        return payload

    async def aclose(self) -> None:
        await self._client.aclose()


__all__ = ["HttpTransport", "error_from_payload"]
