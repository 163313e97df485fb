"""``jupyter codex jobs submit|list|show|cancel``: the job queue of a running server.

Unlike the store commands, these talk to the server (the queue lives there) through
the Python client: ``--url``/``--token``, else ``JUPYTER_CODEX_SERVER_URL`` /
``JUPYTER_CODEX_SERVER_TOKEN`` or a running server found in the runtime dir.
Hooked into ``cli.py`` by :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from .models import Job


def _client(args: argparse.Namespace) -> Any:
    from .kernel import AsyncCodexClient  # lazily: keeps `jupyter codex --help` fast

    return AsyncCodexClient(args.url, args.token)


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


async def jobs_submit(args: argparse.Namespace) -> None:
    async with _client(args) as client:
        job = await client.jobs.submit(
            args.text,
            session_id=args.session,
            cwd=args.cwd if args.session is None else None,
            dedupe_key=args.dedupe_key,
            max_attempts=args.max_attempts,
            not_before=args.not_before,
        )
        if args.wait:
            job = await client.jobs.wait(job.id, timeout=args.timeout)
    _emit(args, job)


async def jobs_list(args: argparse.Namespace) -> None:
    async with _client(args) as client:
        jobs = await client.jobs.list(state=args.state, session_id=args.session, limit=args.limit)
    if args.json:
        print(json.dumps([j.model_dump() for j in jobs], indent=2))
        return
    if not jobs:
        print('No jobs. Queue one: jupyter codex jobs submit --session ID "text"')
        return
    print(f"{'ID':<33} {'STATE':<10} {'TRIES':<5} {'CREATED':<19} {'SESSION':<33} TEXT")
    for j in jobs:
        print(
            f"{j.id:<33} {j.state:<10} {f'{j.attempts}/{j.max_attempts}':<5} "
            f"{_when(j.created_at):<19} {j.session_id:<33} {' '.join(j.text.split())[:40]}"
        )


async def jobs_show(args: argparse.Namespace) -> None:
    async with _client(args) as client:
        _emit(args, await client.jobs.get(args.id))


async def jobs_cancel(args: argparse.Namespace) -> None:
    async with _client(args) as client:
        _emit(args, await client.jobs.cancel(args.id))


def register(subparsers: Any) -> None:
    """Add ``jobs`` with its actions to ``jupyter codex``'s sub-command parsers."""
    jobs = subparsers.add_parser("jobs", help="the job queue of a running server")
    actions = jobs.add_subparsers(dest="action", required=True)

    def action(name: str, help: str, run: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(name, help=help)
        p.add_argument("--url", help="server URL (default: $JUPYTER_CODEX_SERVER_URL)")
        p.add_argument("--token", help="server token (default: $JUPYTER_CODEX_SERVER_TOKEN)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(run_remote=run)
        return p

    p = action("submit", "queue a message as a job", jobs_submit)
    p.add_argument("text")
    p.add_argument("--session", help="session id (default: a new session in --cwd)")
    p.add_argument("--cwd", default="", help="folder of a new session (relative to the root)")
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
