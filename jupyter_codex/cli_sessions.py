"""``jupyter codex sessions list|show|create|send|events|stop|archive`` on the running server."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_remote import add_server_options, emit, server_command
from .errors import InvalidRequestError

if TYPE_CHECKING:
    from .kernel import AsyncCodexClient, ServerInfo
    from .models import Session


def server_folder(server: ServerInfo, path: str | None) -> str:
    """A local folder as a path relative to the server's root (``.`` for the root).

    Without ``path``: the current folder when it lies under the server's root, else the
    root. When the root is unknown (``--url``), ``path`` is taken as relative to it.
    """
    root = server.root_dir
    if root is None:
        return path or "."
    here = Path(path or os.getcwd()).expanduser().resolve()
    try:
        relative = here.relative_to(Path(root).resolve())
    except ValueError:
        if path is None:
            return "."
        raise InvalidRequestError(f"{here} is outside the server's root folder {root}.") from None
    return relative.as_posix() or "."


def _when(value: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else "-"


def _row(s: Session) -> str:
    return f"{s.id:<34} {s.state:<17} {_when(s.updated_at):<16} {s.cwd[:24]:<24} {s.title[:40]}"


async def sessions_list(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    sessions = await client.list_sessions(archived=args.archived)

    def text() -> None:
        if not sessions:
            print("No sessions. Start one: jupyter codex sessions create --cwd DIR")
            return
        print(f"{'ID':<34} {'STATE':<17} {'UPDATED':<16} {'FOLDER':<24} TITLE")
        for s in sessions:
            print(_row(s))

    emit(args, [s.model_dump() for s in sessions], text)
    return 0


async def sessions_show(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    session = await client.get_session(args.id)

    def text() -> None:
        for key, value in session.model_dump(exclude={"tools"}).items():
            print(f"{key:<16} {value}")

    emit(args, session.model_dump(), text)
    return 0


async def sessions_create(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    session = await client.create_session(
        server_folder(client.server, args.cwd),
        model=args.model,
        approval_policy=args.approval_policy,
        sandbox=args.sandbox,
        title=args.title,
    )
    emit(args, session.model_dump(), lambda: print(session.id))
    return 0


async def sessions_send(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    text = args.text if args.text != "-" else sys.stdin.read()
    if not args.wait:
        turn_id = await client.send(args.id, text)
        emit(args, {"session_id": args.id, "turn_id": turn_id}, lambda: print(turn_id or "-"))
        return 0
    result = await client.send_and_wait(args.id, text, timeout=args.timeout)
    error = result.error.message if result.error else None
    data = {
        "session_id": result.session_id,
        "turn_id": result.turn_id,
        "status": result.status,
        "text": result.text,
        "error": error,
        "response": result.response,
    }

    def show() -> None:
        if result.text:
            print(result.text)
        elif result.response and not result.turn_id:
            print(json.dumps(result.response, indent=2, default=str))
        if result.status != "completed":
            print(f"error: the turn {result.status}: {error or 'no reason given'}", file=sys.stderr)

    emit(args, data, show)
    return 0 if result.status == "completed" else 1


async def sessions_events(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    if args.follow:
        async for event in client.events(args.id, args.after):
            _print_event(args, event.model_dump())
        return 0
    events = await client.history(args.id, args.after)
    if args.json:
        emit(args, [e.model_dump() for e in events], lambda: None)
        return 0
    for event in events:
        _print_event(args, event.model_dump())
    return 0


def _print_event(args: argparse.Namespace, event: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(event, default=str), flush=True)
        return
    data = event.get("data") or {}
    summary = data.get("text") or data.get("delta") or data.get("command") or data.get("status")
    line = f"{event['seq']:>6} {event['type']:<24} {str(summary or '')[:100]}"
    print(line.replace("\n", " "), flush=True)


async def sessions_stop(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    answer = await client.stop(args.id, force=args.force)
    emit(args, answer, lambda: print(f"Stopped the turn of {args.id}."))
    return 0


async def sessions_archive(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    session = await client.update_session(args.id, archived=not args.undo)
    verb = "Unarchived" if args.undo else "Archived"
    emit(args, session.model_dump(), lambda: print(f"{verb} {session.id}."))
    return 0


def register(subparsers: Any) -> None:
    """Add ``sessions`` with its actions to ``jupyter codex``'s sub-command parsers."""
    sessions = subparsers.add_parser(
        "sessions", help="workspace sessions on the running server"
    ).add_subparsers(dest="action", required=True)
    p = sessions.add_parser("list", help="sessions, most recently active first")
    p.add_argument("--archived", action="store_true", help="also archived ones")
    add_server_options(p)
    server_command(p, sessions_list)
    p = sessions.add_parser("show", help="one session")
    p.add_argument("id")
    add_server_options(p)
    server_command(p, sessions_show)
    p = sessions.add_parser("create", help="start a session in a folder (prints its id)")
    p.add_argument("--cwd", help="folder under the server's root (default: here)")
    p.add_argument("--title")
    p.add_argument("--model")
    p.add_argument("--approval-policy", choices=["on-request", "never"])
    p.add_argument("--sandbox", choices=["read-only", "workspace-write", "danger-full-access"])
    add_server_options(p)
    server_command(p, sessions_create)
    p = sessions.add_parser("send", help="send a message ('-' reads it from stdin)")
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument("--wait", action="store_true", help="wait and print the reply")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait (--wait)")
    add_server_options(p)
    server_command(p, sessions_send)
    p = sessions.add_parser("events", help="a session's events (one per line)")
    p.add_argument("id")
    p.add_argument("--after", type=int, default=0, help="only events after this sequence number")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    add_server_options(p)
    server_command(p, sessions_events)
    p = sessions.add_parser("stop", help="stop the running turn")
    p.add_argument("id")
    p.add_argument("--force", action="store_true", help="also restart the app-server")
    add_server_options(p)
    server_command(p, sessions_stop)
    p = sessions.add_parser("archive", help="archive a session (--undo to unarchive)")
    p.add_argument("id")
    p.add_argument("--undo", action="store_true")
    add_server_options(p)
    server_command(p, sessions_archive)


__all__ = ["register", "server_folder"]
