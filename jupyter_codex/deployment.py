"""Where the server runs (laptop, JupyterHub, Binder demo) and what that changes.

Clients (the JupyterLab panel, the magics) read :func:`deployment_status` from
``GET codex/api/status`` to choose the sign-in flow, show the demo banner and
pre-fill the administrator's defaults, instead of guessing from the URL.
"""

from __future__ import annotations

import os
from typing import Any, Literal

SignInFlow = Literal["device", "browser"]

ENV_DEMO_MODE = "JUPYTER_CODEX_DEMO_MODE"
ENV_DEFAULT_SIGN_IN = "JUPYTER_CODEX_DEFAULT_SIGN_IN"

#: Banner text of demo mode (Binder): no real account, the bundled fake upstream answers.
DEMO_BANNER = (
    "DEMO MODE: replies come from the bundled fake OpenAI service (tests/fakes), not from "
    "a real model. Nothing you type leaves this server."
)


def under_jupyterhub() -> bool:
    """Whether this is a JupyterHub single-user server (the spawner sets these)."""
    return bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_USER"))


def default_demo_mode() -> bool:
    """``$JUPYTER_CODEX_DEMO_MODE`` (1/true/yes) turns demo mode on."""
    return os.environ.get(ENV_DEMO_MODE, "").strip().lower() in ("1", "true", "yes", "on")


def default_sign_in() -> SignInFlow:
    """``$JUPYTER_CODEX_DEFAULT_SIGN_IN``, else ``device`` under a hub (the user's browser
    is not on the server's machine) and ``browser`` on a laptop (as ``codex login``)."""
    env = os.environ.get(ENV_DEFAULT_SIGN_IN, "").strip().lower().replace("_code", "")
    if env in ("device", "browser"):
        return env  # type: ignore[return-value]
    return "device" if under_jupyterhub() else "browser"


def deployment_status(
    *,
    hub: bool,
    demo_mode: bool,
    default_sign_in: str,
    allow_browser_sign_in: bool,
    proxy_enabled: bool,
    defaults: dict[str, Any],
    limits: dict[str, Any],
) -> dict[str, Any]:
    """The deployment part of ``GET codex/api/status`` (documented in docs/rest-api.md)."""
    flows = ["device", "browser"] if allow_browser_sign_in else ["device"]
    return {
        "hub": hub,
        "user": os.environ.get("JUPYTERHUB_USER") if hub else None,
        "demo_mode": demo_mode,
        "banner": DEMO_BANNER if demo_mode else None,
        "default_sign_in": default_sign_in if default_sign_in in flows else "device",
        "sign_in_flows": flows,
        "proxy_enabled": proxy_enabled,
        "defaults": defaults,
        "limits": limits,
    }


def export_server_location(serverapp: Any) -> None:
    """Let kernels and terminals this server starts find it: ``CodexClient.from_env()``
    reads ``JUPYTER_CODEX_SERVER_URL`` (with the base URL) and ``…_TOKEN``. Runs once
    the port is bound. Without a token (JupyterHub), clients use ``JUPYTERHUB_API_TOKEN``."""
    if getattr(serverapp, "sock", None):
        return  # a Unix socket: the client speaks TCP only
    os.environ["JUPYTER_CODEX_SERVER_URL"] = str(serverapp.connection_url)
    token = getattr(serverapp.identity_provider, "token", None)
    if token:
        os.environ["JUPYTER_CODEX_SERVER_TOKEN"] = str(token)
    else:
        os.environ.pop("JUPYTER_CODEX_SERVER_TOKEN", None)


def client_route(serverapp: Any) -> tuple[str, str] | None:
    """The server's URL and the variable holding the token a client in a terminal uses
    (the one :func:`export_server_location` sets; the hub's otherwise); ``None`` without
    a TCP URL (no server, or a Unix socket)."""
    if serverapp is None or getattr(serverapp, "sock", None):
        return None
    token = getattr(serverapp.identity_provider, "token", None)
    token_var = "JUPYTER_CODEX_SERVER_TOKEN" if token else "JUPYTERHUB_API_TOKEN"
    return str(serverapp.connection_url), token_var


__all__ = [
    "DEMO_BANNER",
    "SignInFlow",
    "client_route",
    "default_demo_mode",
    "default_sign_in",
    "deployment_status",
    "export_server_location",
    "under_jupyterhub",
]
