"""Supervision of the real ``codex app-server`` process.

Four layers, as in jupyter_client: :class:`AppServerLauncher` (process
mechanics), :class:`JsonRpcConnection` (JSONL JSON-RPC over stdio),
:class:`AppServerManager` (lifecycle and routing) and
:class:`AppServerRestarter` (liveness policy). This package knows nothing
about accounts or sessions; it imports only ``errors`` and ``config``.
"""

from __future__ import annotations

from .connection import (
    SERVER_REQUEST_FALLBACKS,
    JsonRpcConnection,
    NotificationListener,
    ServerRequestHandler,
    redact,
)
from .idle import IdleShutdown
from .launcher import AppServerLauncher
from .manager import AppServerManager, LifecycleListener, StartHook, toml_value
from .restarter import AppServerRestarter

__all__ = [
    "SERVER_REQUEST_FALLBACKS",
    "AppServerLauncher",
    "AppServerManager",
    "AppServerRestarter",
    "IdleShutdown",
    "JsonRpcConnection",
    "LifecycleListener",
    "NotificationListener",
    "ServerRequestHandler",
    "StartHook",
    "redact",
    "toml_value",
]
