"""``GET codex/api/extensions``: the enabled extensions and how they are doing."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import CodexAPIHandler


class ExtensionsHandler(CodexAPIHandler):
    """Enabled extensions: name, capabilities, state, restarts, last error."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        states = self.extensions.states.values()
        self.write_json({"extensions": [s.public() for s in states]})


def extension_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the extension status."""
    return [(r"codex/api/extensions", ExtensionsHandler)]


__all__ = ["extension_handlers"]
