"""The one factory of outbound HTTP clients: TLS, CA bundle, limits, lazy building.

Every httpx client the server uses to talk to OpenAI (usage polls, OAuth, the
model list and non-streamed model requests) is built here, so they trust the
same certificates and fail the same way when the CA bundle is wrong
(``tests/test_architecture.py`` checks that nobody else builds one). The
proxy's lean streaming transport takes its TLS context from
:func:`ssl_context` too.

Importing httpx and creating a TLS context cost ~100 ms; server start-up
should not pay it, so :class:`LazyClient` builds its client on first use, or
off the event loop through ``warm_up()`` (``asyncio.to_thread``).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .config import ENV_CA_CERTIFICATE
from .errors import UpstreamAuthError

if TYPE_CHECKING:
    import httpx


def ssl_context(ca_certificate: str = "") -> ssl.SSLContext:
    """A verifying TLS context: the system store, plus the PEM bundle ``ca_certificate``.

    A bundle that cannot be read raises :class:`UpstreamAuthError` naming the
    file and the setting (``ca_certificate`` / ``$JUPYTER_CODEX_CA_CERTIFICATE``).
    """
    context = ssl.create_default_context()
    if ca_certificate:
        try:
            context.load_verify_locations(cafile=ca_certificate)
        except (OSError, ssl.SSLError) as e:
            raise UpstreamAuthError(
                f"Cannot load the CA certificate {ca_certificate} "
                f"(ca_certificate / ${ENV_CA_CERTIFICATE}): {e}."
            ) from None
    return context


def build_client(
    *,
    ca_certificate: str = "",
    verify: ssl.SSLContext | None = None,
    timeout: float = 10.0,
    connect_timeout: float | None = None,
    max_connections: int | None = None,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for upstream calls.

    ``verify`` reuses a context (from :func:`ssl_context`); otherwise one is
    made for ``ca_certificate``. ``timeout`` is the read/write/pool timeout in
    seconds, ``connect_timeout`` the connect one (default: ``timeout``).
    ``max_connections`` bounds the pool and keeps that many alive (streams end
    and start all the time: re-used connections save a TLS handshake each);
    ``None`` keeps httpx's defaults.
    """
    import httpx

    limits = (
        httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        if max_connections is not None
        else httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's default
    )
    return httpx.AsyncClient(
        verify=verify or ssl_context(ca_certificate),
        timeout=httpx.Timeout(
            timeout, connect=timeout if connect_timeout is None else connect_timeout
        ),
        limits=limits,
        headers=dict(headers or {}),
        follow_redirects=follow_redirects,
    )


class LazyClient:
    """One pooled client, built on first use (from any thread), closed by :meth:`aclose`.

    ``options`` are :func:`build_client`'s keyword arguments.
    """

    def __init__(self, **options: object) -> None:
        self._options = options
        self._client: httpx.AsyncClient | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.AsyncClient:
        """The client, built now if needed."""
        with self._lock:  # warm_up() may build it on a worker thread
            if self._client is None:
                self._client = build_client(**self._options)  # type: ignore[arg-type]
            return self._client

    def warm_up(self) -> None:
        """Build the client off the event loop: call through ``asyncio.to_thread``."""
        self.get()

    async def aclose(self) -> None:
        """Close pooled connections; the next :meth:`get` builds a new client."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


__all__ = ["LazyClient", "build_client", "ssl_context"]
