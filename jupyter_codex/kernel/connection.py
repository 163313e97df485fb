"""The kernel's one connection to a jupyter-codex server, shared by magics and widgets.

Finding the server: the environment first (a kernel launched by a Jupyter
server with the extension inherits its URL and token; JupyterHub's variables
work too). Without one, a private headless server is started (``embedded.py``)
unless ``JUPYTER_CODEX_EMBEDDED=0``. The blocking client serves quick calls
from any thread; the async client is bound to the kernel's own event loop, so
a ``%codex`` turn and the widgets' live streams run there and a widget click
can reach them while a cell waits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from ..client import AsyncCodexClient, CodexClient, ServerInfo, discover_server
from ..errors import ServerNotFoundError
from .embedded import ENV_EMBEDDED, embedded_allowed, embedded_server


class Connection:
    """Where the server is, plus a sync client and a loop-bound async client."""

    def __init__(self, notify: Callable[[str], None] = print) -> None:
        self.notify = notify
        self._info: ServerInfo | None = None
        self._sync: CodexClient | None = None
        self._async: tuple[asyncio.AbstractEventLoop, AsyncCodexClient] | None = None
        self._lock = threading.Lock()
        self.embedded = False

    @property
    def info(self) -> ServerInfo:
        """The server to talk to; starts the private one when none is found."""
        with self._lock:
            if self._info is None:
                self._info = self._discover()
            return self._info

    def _discover(self) -> ServerInfo:
        try:
            return discover_server()
        except ServerNotFoundError as e:
            if not embedded_allowed():
                raise ServerNotFoundError(
                    f"{e.message} (The private fallback server is off: {ENV_EMBEDDED}=0.)"
                ) from None
        self.notify("No Jupyter server with jupyter-codex found; starting a private one …")
        server = embedded_server()
        self.embedded = True
        self.notify(
            f"Codex runs in a private Jupyter server at {server.url} (root {server.root_dir}); "
            "it stops with this kernel."
        )
        return ServerInfo(server.url, server.token, "explicit")

    def sync_client(self) -> CodexClient:
        if self._sync is None:
            info = self.info
            self._sync = CodexClient(info.url, info.token)
        return self._sync

    def async_client(self) -> AsyncCodexClient:
        """The async client of the running loop (one per loop; normally the kernel's)."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop or loop.is_closed():
            info = self.info
            self._async = (loop, AsyncCodexClient(info.url, info.token))
        return self._async[1]

    def reset(self) -> None:
        """Forget the server (after it went away); the next call discovers it again."""
        with self._lock:
            self._info = None
            self._sync = None
            self._async = None
            self.embedded = False


_connection: Connection | None = None


def get_connection() -> Connection:
    """The process-wide connection used by ``%codex`` and the widgets."""
    global _connection
    if _connection is None:
        _connection = Connection()
    return _connection


__all__ = ["Connection", "get_connection"]
