"""Inline edit: Codex rewrites one cell (or a selection) and answers the new code.

Each proposal is a turn of an ordinary workspace session on the ``cli`` target
(so it runs through the cli target's account and shows in the session history,
titled ``Inline edit: <file>``); Refine continues the same session, so Codex
sees the earlier proposals. The session is read-only and never asks: an inline
edit only answers text, the frontend applies it when the user accepts.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
from typing import Any, Protocol

from ..errors import ConflictError, InvalidRequestError
from ..models import InlineEditRequest, Session, SessionCreate
from ..tasks import within

_FENCE = re.compile(r"```[^\n`]*\n(.*?)\n?```", re.DOTALL)


class Workspace(Protocol):
    async def create_session(self, body: SessionCreate) -> Session: ...
    async def get_session(self, session_id: str) -> Session: ...
    async def send_message(self, session_id: str, text: str) -> dict[str, Any]: ...
    def subscribe(self, session_id: str, subscriber: Any) -> Any: ...


def prompt(body: InlineEditRequest) -> str:
    """What Codex is asked: the instruction, the code, and the answer's exact form."""
    source = body.source
    start = body.selection_start
    end = body.selection_end
    language = body.language or ""
    if start is not None and end is not None and start < end <= len(source):
        target = source[start:end]
        context = (
            f"It is part of this cell (or file) of {body.path}:\n```{language}\n{source}\n```\n"
            "Rewrite only the selected part:\n"
        )
    else:
        target, context = source, f"This is a cell (or file) of {body.path}:\n"
    return (
        "Inline edit. Do not run commands or change files: answer only.\n"
        f"{context}```{language}\n{target}\n```\n"
        f"Instruction: {body.instruction}\n"
        "Answer with the complete new code of that part in ONE fenced code block and "
        "nothing else."
    )


def proposal_of(text: str) -> str:
    """The code of the answer's (last) fenced block, else the whole answer."""
    blocks = _FENCE.findall(text)
    return str(blocks[-1]) if blocks else text.strip()


class InlineEdits:
    """Runs inline-edit turns and waits for their answer."""

    def __init__(self, workspace: Workspace, *, timeout: float = 120.0) -> None:
        self.workspace = workspace
        self.timeout = timeout

    async def propose(self, body: InlineEditRequest) -> dict[str, Any]:
        if body.session_id:
            session = await self.workspace.get_session(body.session_id)
            if not session.title.startswith("Inline edit"):
                raise InvalidRequestError("session_id is not an inline-edit session.")
        else:
            folder = posixpath.dirname(body.path.strip().lstrip("/"))
            session = await self.workspace.create_session(
                SessionCreate(
                    cwd=folder,
                    title=f"Inline edit: {body.path}"[:200],
                    sandbox="read-only",
                    approval_policy="never",
                )
            )
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        texts: list[str] = []

        def on_event(_sid: str, raw: str) -> None:
            event = json.loads(raw)
            if event.get("type") == "assistant.message":
                texts.append(str(event["data"].get("text") or ""))
            elif event.get("type") == "turn.completed" and not done.done():
                done.set_result(event.get("data") or {})

        unsubscribe = self.workspace.subscribe(session.id, on_event)
        try:
            turn = await self.workspace.send_message(session.id, prompt(body))
            try:
                result = await within(done, self.timeout)
            except asyncio.TimeoutError:
                raise ConflictError(
                    f"Codex did not answer the inline edit within {self.timeout:g} seconds."
                ) from None
        finally:
            unsubscribe()
        if result.get("status") != "completed":
            message = (result.get("error") or {}).get("message") or result.get("status")
            raise ConflictError(f"The inline edit failed: {message}")
        answer = texts[-1] if texts else ""
        return {
            "session_id": session.id,
            "turn_id": turn.get("turn_id"),
            "proposal": proposal_of(answer),
            "text": answer,
        }


__all__ = ["InlineEdits", "prompt", "proposal_of"]
