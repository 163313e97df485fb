"""``jupyter codex jobs submit|list|show|cancel``: the job queue of a running server.

Unlike the store commands, these talk to the server (the queue lives there), found
and reached as every server command is (``cli_remote``: ``--url``/``--token``, else
the environment or a running server in the runtime dir). Hooked into ``cli.py`` by
:func:`register`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from .cli_remote import add_server_options, server_command
from .models import Job

if TYPE_CHECKING:
    from .kernel import AsyncCodexClient


def _when(value: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else "-"


def _show(job: Job) -> None:
    print(f"Job {job.id}: {job.state} (attempt {job.attempts} of {job.max_attempts})")
    print(f"  session   {job.session_id}")
    print(f"  text      {job.text[:200]}")
    for label, value in (
        ("created", job.created_at),
        ("not before", job.not_before),
        ("started", job.started_at),
        ("finished", job.finished_at),
    ):
        if value:
            print(f"  {label:<9} {_when(value)}")
    if job.dedupe_key:
        print(f"  dedupe    {job.dedupe_key}")
    if job.submitted_by:
        print(f"  by        {job.submitted_by}")
    if job.result and job.result.get("text"):
        print(f"  reply     {str(job.result['text'])[:500]}")
    if job.error:
        print(f"  error     {job.error.get('reason')}: {job.error.get('message')}")


def _emit(args: argparse.Namespace, job: Job) -> None:
    if args.json:
        print(json.dumps(job.model_dump(), indent=2))
    else:
        _show(job)


async def jobs_submit(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    from .cli_sessions import server_folder

    job = await client.jobs.submit(
        args.text,
        session_id=args.session,
        cwd=server_folder(client.server, args.cwd) if args.session is None else None,
        dedupe_key=args.dedupe_key,
        max_attempts=args.max_attempts,
        not_before=args.not_before,
    )
    if args.wait:
        job = await client.jobs.wait(job.id, timeout=args.timeout)
    _emit(args, job)
    return 0


async def jobs_list(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    jobs = await client.jobs.list(state=args.state, session_id=args.session, limit=args.limit)
    if args.json:
        print(json.dumps([j.model_dump() for j in jobs], indent=2))
        return 0
    if not jobs:
        print('No jobs. Queue one: jupyter codex jobs submit --session ID "text"')
        return 0
    print(f"{'ID':<33} {'STATE':<10} {'TRIES':<5} {'CREATED':<19} {'SESSION':<33} TEXT")
    for j in jobs:
        print(
            f"{j.id:<33} {j.state:<10} {f'{j.attempts}/{j.max_attempts}':<5} "
            f"{_when(j.created_at):<19} {j.session_id:<33} {' '.join(j.text.split())[:40]}"
        )
    return 0


async def jobs_show(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    _emit(args, await client.jobs.get(args.id))
    return 0


async def jobs_cancel(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    _emit(args, await client.jobs.cancel(args.id))
    return 0


def register(subparsers: Any) -> None:
    """Add ``jobs`` with its actions to ``jupyter codex``'s sub-command parsers."""
    jobs = subparsers.add_parser("jobs", help="the job queue of a running server")
    actions = jobs.add_subparsers(dest="action", required=True)

    def action(name: str, help: str, run: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(name, help=help)
        add_server_options(p)
        server_command(p, run)
        return p

    p = action("submit", "queue a message as a job", jobs_submit)
    p.add_argument("text")
    p.add_argument("--session", help="session id (default: a new session in --cwd)")
    p.add_argument(
        "--cwd", help="folder of a new session (default: the current folder, if under the root)"
    )
    p.add_argument("--dedupe-key")
    p.add_argument("--max-attempts", type=int, default=1)
    p.add_argument("--not-before", type=float, help="Unix time before which it does not start")
    p.add_argument("--wait", action="store_true", help="wait until it finished")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: give up after")
    p = action("list", "list jobs, newest first", jobs_list)
    p.add_argument("--state", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    p.add_argument("--session")
    p.add_argument("--limit", type=int, default=None)
    p = action("show", "one job", jobs_show)
    p.add_argument("id")
    p = action("cancel", "cancel a queued job or stop a running one", jobs_cancel)
    p.add_argument("id")


__all__ = ["register"]
