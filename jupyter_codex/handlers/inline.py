"""REST handler of inline edit (Ctrl/Cmd+I on a cell): Codex proposes new code."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import InlineCompletionRequest, InlineEditRequest
from ..proxy.inline_completion import InlineCompleter
from .base import CodexAPIHandler


class InlineEditHandler(CodexAPIHandler):
    """Ask Codex for a rewrite of a cell or selection; answers the proposal."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(InlineEditRequest)
        self.write_json(await self.inline_edits.propose(body))


class InlineCompletionHandler(CodexAPIHandler):
    """Ghost text at the cursor; cancelled (upstream closed) when the client goes away."""

    _task: asyncio.Future[Any] | None = None

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(InlineCompletionRequest)
        completer = InlineCompleter(self.proxy)
        self._task = asyncio.ensure_future(completer.complete(body))
        try:
            answer = await self._task
        except asyncio.CancelledError:
            return  # the user typed on: nobody waits for this answer
        self.write_json(answer)

    def on_connection_close(self) -> None:
        if self._task is not None:
            self._task.cancel()


def inline_handlers() -> list[tuple[str, type]]:
    return [
        (r"codex/api/inline/edit", InlineEditHandler),
        (r"codex/api/inline/complete", InlineCompletionHandler),
    ]


__all__ = ["inline_handlers"]
