"""REST handler of inline edit (Ctrl/Cmd+I on a cell): Codex proposes new code."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import InlineCompletionRequest, InlineEditRequest
from ..proxy.inline_completion import InlineCompleter
from ..tasks import OwnedTask, TaskOwner
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

    _task: OwnedTask | None = None

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(InlineCompletionRequest)
        completer = InlineCompleter(self.proxy)
        outcome: list[Any] = []  # the answer, or the error it raised

        async def complete() -> None:
            try:
                outcome.append(await completer.complete(body))
            except Exception as e:  # noqa: BLE001 - re-raised in the request below
                outcome.append(e)

        # An owner scoped to this request: the completion is its only task.
        self._task = TaskOwner("codex-inline-completion", self.log).start_soon(complete)
        await self._task.wait()
        if not outcome:
            return  # the user typed on (the connection closed): nobody waits for this answer
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        self.write_json(outcome[0])

    def on_connection_close(self) -> None:
        if self._task is not None:
            self._task.cancel()


def inline_handlers() -> list[tuple[str, type]]:
    return [
        (r"codex/api/inline/edit", InlineEditHandler),
        (r"codex/api/inline/complete", InlineCompletionHandler),
    ]


__all__ = ["inline_handlers"]
