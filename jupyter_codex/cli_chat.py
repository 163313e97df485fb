"""``jupyter codex chat``: a conversation with Codex in the terminal.

Streams the reply, shows commands and file changes as they happen, asks approvals
and questions inline, ``/reset`` starts a new session in the same folder, ``/exit``
(or end of input) leaves. Without ``--session`` it continues the folder's most
recently active session, so the next ``chat`` picks up where this one ended.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TYPE_CHECKING, Any, TextIO, cast

from .cli_remote import add_server_options, server_command
from .cli_sessions import server_folder

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from .kernel import ApprovalData, AsyncCodexClient, Event
    from .models import Session

HELP = "Type a message. /reset starts a new session here, /exit leaves (so does Ctrl-D)."


class Terminal:
    """Reads lines and prints the conversation (stdin/stdout unless given others)."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.out = stdout or sys.stdout
        #: A streamed reply is being printed (its line is still open).
        self.streaming = False

    async def ask(self, prompt: str, secret: bool = False) -> str | None:
        """One line of input (``None`` at end of input); a ``secret`` is never echoed
        (typed without echo on a terminal, shown as ``***`` in a scripted transcript)."""
        if secret and self.stdin.isatty():
            try:
                return await asyncio.to_thread(getpass.getpass, prompt)
            except EOFError:
                return None
        self.write(prompt, end="")
        line = str(await asyncio.to_thread(self.stdin.readline))
        if not line:
            self.write("")
            return None
        if not self.stdin.isatty():  # echo scripted input, so a transcript reads well
            self.write("***" if secret else line.rstrip("\n"))
        return line.rstrip("\n")

    def write(self, text: str, end: str = "\n") -> None:
        if self.streaming and end:
            self.out.write("\n")
            self.streaming = False
        self.out.write(text + end)
        self.out.flush()

    def stream(self, delta: str) -> None:
        self.out.write(delta)
        self.out.flush()
        self.streaming = True

    def end_stream(self) -> None:
        if self.streaming:
            self.out.write("\n")
            self.out.flush()
            self.streaming = False


async def last_session(client: AsyncCodexClient, folder: str) -> Session | None:
    """The folder's most recently active session (not archived)."""
    for session in await client.list_sessions():
        if session.cwd == folder and session.target == "cli":
            return session
    return None


async def choose_approval(term: Terminal, approval: ApprovalData) -> dict[str, Any]:
    """Ask the human; the body of ``POST approvals/{id}`` (decision, maybe answers)."""
    if approval.kind == "user_input":
        answers: dict[str, list[str]] = {}
        for question in approval.questions or []:
            term.write(f"? {question.question or question.header or question.id}")
            options = [o.label for o in question.options or []]
            for i, label in enumerate(options, 1):
                term.write(f"  {i}. {label}")
            reply = await term.ask("answer> ", secret=question.is_secret)
            if reply is None:
                return {"decision": "cancel"}
            if reply.strip().isdigit() and 0 < int(reply) <= len(options):
                reply = options[int(reply) - 1]
            answers[question.id] = [reply]
        return {"decision": "accept", "answers": answers}
    if approval.kind == "command":
        what = f"run `{approval.command}`" + (f" in {approval.cwd}" if approval.cwd else "")
    elif approval.kind == "file_change":
        paths = [str(c.get("path")) for c in approval.changes or []]
        what = "change " + (", ".join(paths) or "files")
    else:
        what = f"{approval.kind} ({approval.method or ''})"
    if approval.reason:
        what += f" — {approval.reason}"
    term.write(f"! Codex asks to {what}")
    reply = await term.ask("Allow? [y]es / [a]lways this session / [N]o: ")
    choice = (reply or "").strip().lower()
    decision = {"y": "accept", "yes": "accept", "a": "acceptForSession"}.get(choice, "decline")
    return {"decision": decision}


def render(term: Terminal, event: Event) -> None:
    """One event of the turn, for a human."""
    data: Any = event.data
    kind = event.type
    if kind == "assistant.delta":
        term.stream(data.delta)
    elif kind == "assistant.message":
        if not term.streaming:  # no deltas were streamed (e.g. a replayed turn)
            term.write(data.text)
        term.end_stream()
    elif kind == "command.started":
        term.write(f"$ {data.command}")
    elif kind == "command.completed":
        status = f"exit {data.exit_code}" if data.exit_code is not None else data.status
        term.write(f"  ({status})")
    elif kind == "file_change.completed":
        for change in data.changes:
            term.write(f"~ {change.get('path')} ({change.get('kind') or 'changed'})")
    elif kind == "error" and not getattr(data, "will_retry", False):
        term.write(f"error: {data.message}")


async def run_turn(client: AsyncCodexClient, term: Terminal, session_id: str, text: str) -> str:
    """Send one message, show the turn until it ends; its status (``"none"`` without one)."""
    from .errors import ConflictError, NotFoundError
    from .kernel import ApprovalRequested, TurnCompleted, TurnStarted

    after = (await client.get_session(session_id)).last_seq
    turn_id = await client.send(session_id, text)
    if turn_id is None and text.startswith("/"):
        term.write("(done)")
        return "none"
    stream = cast("AsyncGenerator[Event, None]", client.events(session_id, after))
    try:
        async for event in stream:
            if turn_id is None and isinstance(event, TurnStarted):
                turn_id = event.turn_id
            if event.turn_id != turn_id:
                continue
            if isinstance(event, ApprovalRequested):
                term.end_stream()
                body = await choose_approval(term, event.data)
                try:
                    await client.decide(event.data.id, **body)
                except (NotFoundError, ConflictError):
                    term.write("(that request was already answered or has ended)")
                continue
            render(term, event)
            if isinstance(event, TurnCompleted):
                term.end_stream()
                if event.data.status != "completed":
                    reason = event.data.error.message if event.data.error else ""
                    term.write(f"(turn {event.data.status}{': ' + reason if reason else ''})")
                return event.data.status
    finally:
        await stream.aclose()
    return "unknown"


async def chat(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    """The conversation loop."""
    term = Terminal()
    if args.session:
        session = await client.get_session(args.session)
        term.write(f"Session {session.id} in {session.cwd}.")
    else:
        folder = server_folder(client.server, args.cwd)
        found = await last_session(client, folder)
        if found is not None:
            session = found
            term.write(f"Continuing session {session.id} in {folder} ({session.title}).")
        else:
            session = await client.create_session(folder)
            term.write(f"New session {session.id} in {folder}.")
    term.write(HELP)
    while True:
        line = await term.ask("> ")
        if line is None or line.strip() == "/exit":
            return 0
        text = line.strip()
        if not text:
            continue
        if text == "/reset":
            session = await client.create_session(session.cwd)
            term.write(f"New session {session.id} in {session.cwd}.")
            continue
        await run_turn(client, term, session.id, text)


def register(subparsers: Any) -> None:
    """Add ``chat`` to ``jupyter codex``'s sub-command parsers."""
    p = subparsers.add_parser("chat", help="talk to Codex in the terminal")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--session", help="continue this session")
    where.add_argument("--cwd", help="folder (default: here); continues its last session")
    add_server_options(p, json_flag=False)
    server_command(p, chat)


__all__ = ["chat", "register"]
