"""REST handler of inline edit (Ctrl/Cmd+I on a cell): Codex proposes new code."""

from __future__ import annotations

from typing import cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import InlineEditRequest
from ..workspace.inline import InlineEdits
from .base import CodexAPIHandler


class InlineEditHandler(CodexAPIHandler):
    """Ask Codex for a rewrite of a cell or selection; answers the proposal."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(InlineEditRequest)
        inline = cast(InlineEdits, self.settings["codex_inline_edits"])
        self.write_json(await inline.propose(body))


def inline_handlers() -> list[tuple[str, type]]:
    return [(r"codex/api/inline/edit", InlineEditHandler)]


__all__ = ["inline_handlers"]
