"""What every ``jupyter codex`` command that talks to a running server shares.

The server is found the Jupyter way (``--url``/``--token``, then
``JUPYTER_CODEX_SERVER_URL``, then the current user's running servers in Jupyter's
runtime directory); every command takes ``--json``; every failure is one readable
line (``error: ...``) and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import CodexError, NotAuthorizedError

if TYPE_CHECKING:  # the client is imported when a command runs: keeps --help fast
    from .kernel import AsyncCodexClient

#: A server command: ``fn(client, args) -> exit status``.
Command = Callable[["AsyncCodexClient", argparse.Namespace], Awaitable["int | None"]]


def add_server_options(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    """``--url``, ``--token`` and ``--json`` on a sub-command."""
    group = parser.add_argument_group("server")
    group.add_argument("--url", help="Jupyter server URL (default: the running server found)")
    group.add_argument("--token", help="Jupyter server token (default: from its runtime file)")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON")


def server_command(parser: argparse.ArgumentParser, run: Command) -> None:
    """Mark ``parser``'s command as one that runs against the server."""
    parser.set_defaults(run=run, remote=True)


def connect(args: argparse.Namespace) -> AsyncCodexClient:
    """A client for the server the arguments and environment point at."""
    from .kernel import AsyncCodexClient, discover_server

    info = discover_server(getattr(args, "url", None), getattr(args, "token", None), runtime=True)
    return AsyncCodexClient(info, timeout=float(getattr(args, "http_timeout", 60.0)))


async def run(args: argparse.Namespace) -> int:
    """Connect, run the command, close; the command's exit status. A command may run
    without the Jupyter server (``direct(args)`` true: e.g. ``review --remote``, which
    only needs the proxy): then ``run_direct(args)`` runs instead."""
    direct = getattr(args, "direct", None)
    if direct is not None and direct(args):
        return int(await args.run_direct(args) or 0)
    client = connect(args)
    try:
        return int(await args.run(client, args) or 0)
    finally:
        await client.close()


def error_line(error: CodexError) -> str:
    """The one line printed for a failure."""
    if isinstance(error, NotAuthorizedError):
        return (
            "error: the Jupyter server refused the token (403 Forbidden); pass the right one "
            "with --token or JUPYTER_CODEX_SERVER_TOKEN."
        )
    return "error: " + " ".join(error.message.split())


async def cancel_login(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    """``accounts cancel-login FLOW_ID``: end a sign-in the server is waiting on."""
    view = await client.cancel_login(args.flow_id)
    emit(args, view, lambda: print(f"Sign-in {args.flow_id}: {view.get('status')}."))
    return 0


def emit(args: argparse.Namespace, data: Any, text: Callable[[], None]) -> None:
    """Print ``data`` as JSON with ``--json``, else call ``text()``."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        text()


__all__ = ["Command", "add_server_options", "connect", "emit", "error_line", "run"]
