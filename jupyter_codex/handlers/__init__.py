"""Thin Tornado handlers; the only layer (with ``app.py``) that imports jupyter_server.

:func:`all_handlers` is the route table the extension registers, in order (the
fallback 404s last).
"""

from typing import Any

from .accounts import account_handlers
from .extensions import extension_handlers
from .inline import inline_handlers
from .jobs import job_handlers
from .keys import key_handlers
from .proxy import proxy_handlers
from .review import review_handlers
from .system import system_handlers
from .toolcalls import tool_call_handlers
from .websocket import websocket_handlers
from .workspace import fallback_handlers, workspace_handlers


def all_handlers() -> list[tuple[str, Any]]:
    """Every route of the extension, relative to ``base_url``, in registration order."""
    return [
        *system_handlers(),
        *tool_call_handlers(),
        *review_handlers(),
        *workspace_handlers(),
        *inline_handlers(),
        *account_handlers(),
        *websocket_handlers(),
        *proxy_handlers(),
        *key_handlers(),
        *job_handlers(),
        *extension_handlers(),
        *fallback_handlers(),
    ]


__all__ = [
    "account_handlers",
    "all_handlers",
    "fallback_handlers",
    "websocket_handlers",
    "workspace_handlers",
]
