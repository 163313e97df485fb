"""Find the Jupyter server a client should talk to.

A kernel started by a Jupyter server with jupyter-codex inherits
``JUPYTER_CODEX_SERVER_URL`` and ``JUPYTER_CODEX_SERVER_TOKEN`` (the extension
exports them at start-up), so ``CodexClient.from_env()`` needs no arguments in
a notebook. Under JupyterHub the single-user server's own variables work too.
Outside a kernel (the ``jupyter codex`` CLI, scripts), the running servers of the
current user are found the Jupyter way: the ``jpserver-<pid>.json`` files in
Jupyter's runtime directory (``runtime=True``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ..errors import ServerNotFoundError

ENV_URL = "JUPYTER_CODEX_SERVER_URL"
ENV_TOKEN = "JUPYTER_CODEX_SERVER_TOKEN"

Source = Literal["explicit", "env", "jupyterhub", "runtime"]


@dataclass(frozen=True)
class ServerInfo:
    """Where the server is and how to authenticate (``token`` may be ``None``)."""

    url: str
    token: str | None
    source: Source
    #: The server's ``root_dir`` when known (from its runtime file).
    root_dir: str | None = None

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


def runtime_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Jupyter's runtime directory, as ``jupyter --runtime-dir`` finds it (the rules of
    ``jupyter_core.paths``, restated: the client depends on no Jupyter package)."""
    env = os.environ if environ is None else environ
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    if env.get("JUPYTER_DATA_DIR"):
        return Path(env["JUPYTER_DATA_DIR"]) / "runtime"
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Jupyter" / "runtime"
    if os.name == "nt":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "jupyter" / "runtime"
    xdg = env.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter" / "runtime"


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not ours to use
        return False
    return True


def running_servers(environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The current user's running Jupyter servers (their ``jpserver-*.json``), newest first.

    Files of servers whose process is gone are skipped, as ``jupyter server list`` does.
    """
    folder = runtime_dir(environ)
    found: list[tuple[float, dict[str, Any]]] = []
    for path in folder.glob("jpserver-*.json"):
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(path.read_text())
            if isinstance(info, dict) and info.get("url") and _alive(info.get("pid")):
                found.append((path.stat().st_mtime, info))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [info for _, info in found]


def _pick(servers: list[dict[str, Any]], cwd: Path) -> dict[str, Any]:
    """The server whose root holds ``cwd`` most closely, else the newest one."""
    best: tuple[int, dict[str, Any]] | None = None
    for info in servers:
        root = info.get("root_dir")
        if not root:
            continue
        with contextlib.suppress(ValueError, OSError):
            depth = len(cwd.resolve().relative_to(Path(root).resolve()).parts)
            if best is None or depth < best[0]:
                best = (depth, info)
    return best[1] if best else servers[0]


def from_runtime_dir(environ: Mapping[str, str] | None = None) -> ServerInfo | None:
    """The running server for the current folder, found in the runtime directory."""
    servers = running_servers(environ)
    if not servers:
        return None
    info = _pick(servers, Path.cwd())
    url = str(info["url"])
    base = str(info.get("base_url") or "/")
    if not urlsplit(url).path.strip("/") and base.strip("/"):
        url = url.rstrip("/") + "/" + base.strip("/") + "/"
    return ServerInfo(
        normalize_url(url),
        str(info.get("token") or "") or None,
        "runtime",
        root_dir=str(info.get("root_dir") or "") or None,
    )


def discover_server(
    url: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    runtime: bool = False,
) -> ServerInfo:
    """Resolve the server: explicit arguments, then ``JUPYTER_CODEX_SERVER_URL`` (+
    ``JUPYTER_CODEX_SERVER_TOKEN``), then JupyterHub's ``JUPYTERHUB_SERVICE_URL`` /
    ``JUPYTERHUB_SERVICE_PREFIX`` (+ ``JUPYTERHUB_API_TOKEN``).

    A missing token falls back to ``JUPYTER_CODEX_SERVER_TOKEN``, then to
    ``JUPYTERHUB_API_TOKEN``. With ``runtime=True``, last, the current user's running
    servers in Jupyter's runtime directory (:func:`from_runtime_dir`). Raises
    :class:`ServerNotFoundError` when nothing is found.
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
    if runtime:
        found = from_runtime_dir(env)
        if found is not None:
            return ServerInfo(found.url, token or found.token, "runtime", found.root_dir)
        raise ServerNotFoundError(
            f"No running Jupyter server found for this user (looked in {runtime_dir(env)}). "
            "Start one (jupyter lab), or pass --url and --token."
        )
    raise ServerNotFoundError(
        "No Jupyter server to connect to. Pass the URL (and token) explicitly, e.g. "
        "CodexClient('http://127.0.0.1:8888/', token='...'), or set "
        f"{ENV_URL} and {ENV_TOKEN}. Kernels started by a Jupyter server with "
        "jupyter-codex enabled have them already."
    )


__all__ = [
    "ENV_TOKEN",
    "ENV_URL",
    "ServerInfo",
    "discover_server",
    "from_runtime_dir",
    "normalize_url",
    "running_servers",
    "runtime_dir",
]
