"""Supervision of the real ``codex app-server`` process.

Layers as in jupyter_client: :class:`AppServerLauncher` (process
mechanics) and :class:`JsonRpcConnection` (JSONL JSON-RPC over stdio), joined
by :class:`AppServerProcess`; :class:`AppServerManager` (lifecycle and
routing, its states and legal moves in ``state.py``) and
:class:`AppServerRestarter` (liveness policy, through the manager's public
:class:`Supervised` surface only). This package knows nothing
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
from .manager import AppServerManager, LifecycleListener, StartHook
from .process import AppServerProcess
from .restarter import AppServerRestarter, Supervised
from .state import TRANSITIONS, Lifecycle, State
from .toml import config_override_args, toml_value

__all__ = [
    "SERVER_REQUEST_FALLBACKS",
    "TRANSITIONS",
    "AppServerLauncher",
    "AppServerManager",
    "AppServerProcess",
    "AppServerRestarter",
    "IdleShutdown",
    "JsonRpcConnection",
    "Lifecycle",
    "LifecycleListener",
    "NotificationListener",
    "ServerRequestHandler",
    "StartHook",
    "State",
    "Supervised",
    "config_override_args",
    "redact",
    "toml_value",
]
