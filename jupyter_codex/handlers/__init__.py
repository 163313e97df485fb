"""Thin Tornado handlers; the only layer (with ``app.py``) that imports jupyter_server."""

from .accounts import account_handlers
from .websocket import websocket_handlers
from .workspace import fallback_handlers, workspace_handlers

__all__ = ["account_handlers", "fallback_handlers", "websocket_handlers", "workspace_handlers"]
