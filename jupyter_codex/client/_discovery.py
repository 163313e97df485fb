"""Find the Jupyter server a client should talk to.

A kernel started by a Jupyter server with jupyter-codex inherits
``JUPYTER_CODEX_SERVER_URL`` and ``JUPYTER_CODEX_SERVER_TOKEN`` (the extension
exports them at start-up), so ``CodexClient.from_env()`` needs no arguments in
a notebook. Under JupyterHub the single-user server's own variables work too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ..errors import ServerNotFoundError

ENV_URL = "JUPYTER_CODEX_SERVER_URL"
ENV_TOKEN = "JUPYTER_CODEX_SERVER_TOKEN"

Source = Literal["explicit", "env", "jupyterhub"]


@dataclass(frozen=True)
class ServerInfo:
    """Where the server is and how to authenticate (``token`` may be ``None``)."""

    url: str
    token: str | None
    source: Source

    def __repr__(self) -> str:  # never print the token
        token = "None" if self.token is None else "'***'"
        return f"ServerInfo(url={self.url!r}, token={token}, source={self.source!r})"


def normalize_url(url: str) -> str:
    """``http://host:port/base/`` with a trailing slash; wildcard hosts become loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServerNotFoundError(
            f"{url!r} is not a server URL; expected e.g. 'http://127.0.0.1:8888/'."
        )
    netloc = parts.netloc
    host = parts.hostname or ""
    if host in ("0.0.0.0", "::", ""):
        netloc = netloc.replace("[::]", "127.0.0.1").replace("0.0.0.0", "127.0.0.1")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def discover_server(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ServerInfo:
    """Resolve the server: explicit arguments, then ``JUPYTER_CODEX_SERVER_URL`` (+
    ``JUPYTER_CODEX_SERVER_TOKEN``), then JupyterHub's ``JUPYTERHUB_SERVICE_URL`` /
    ``JUPYTERHUB_SERVICE_PREFIX`` (+ ``JUPYTERHUB_API_TOKEN``).

    A missing token falls back to ``JUPYTER_CODEX_SERVER_TOKEN``, then to
    ``JUPYTERHUB_API_TOKEN``. Raises :class:`ServerNotFoundError` when nothing is found.
    """
    env = os.environ if environ is None else environ
    hub_token = env.get("JUPYTERHUB_API_TOKEN") or env.get("JPY_API_TOKEN") or None
    env_token = env.get(ENV_TOKEN) or None
    if url:
        return ServerInfo(normalize_url(url), token or env_token or hub_token, "explicit")
    if env.get(ENV_URL):
        return ServerInfo(normalize_url(env[ENV_URL]), token or env_token or hub_token, "env")
    hub_url = env.get("JUPYTERHUB_SERVICE_URL")
    if hub_url:
        prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "")
        parts = urlsplit(hub_url)
        if prefix and parts.path in ("", "/"):
            hub_url = urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))
        return ServerInfo(normalize_url(hub_url), token or hub_token, "jupyterhub")
    raise ServerNotFoundError(
        "No Jupyter server to connect to. Pass the URL (and token) explicitly, e.g. "
        "CodexClient('http://127.0.0.1:8888/', token='...'), or set "
        f"{ENV_URL} and {ENV_TOKEN}. Kernels started by a Jupyter server with "
        "jupyter-codex enabled have them already."
    )


__all__ = ["ENV_TOKEN", "ENV_URL", "ServerInfo", "discover_server", "normalize_url"]
