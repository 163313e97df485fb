"""``jupyter codex review``: a Codex code review of a git working tree, printed as Markdown.

Local (default): ``review/start`` (``POST …/sessions/{id}/review``) in a new read-only session
for the repository's folder on the running server; codex reads the repository itself.
``--remote URL --key KEY``: for CI runners that reach only the proxy, the diff (or, with
``--scope full``, the tracked files) is sent to the server's OpenAI-compatible endpoint
with a proxy client key, and the model's review is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_remote import add_server_options, emit, server_command
from .cli_sessions import server_folder
from .errors import ClientError, InvalidRequestError

if TYPE_CHECKING:
    from .kernel import AsyncCodexClient

#: Most characters of diff or source sent to a remote review.
MAX_REMOTE_CHARS = 400_000

REVIEW_PROMPT = """You are reviewing a code change as a senior engineer. Report real problems
only: bugs, security issues, missing error handling, broken tests, unclear code that will
mislead. For each finding give the file and line, why it matters, and a concrete fix.
Answer in Markdown: a one-line verdict, then "## Findings" as a list (or "No findings.")."""


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder``; its stdout (one readable error if it fails)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise InvalidRequestError("git is not installed.") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise InvalidRequestError(f"git {' '.join(args)}: {reason}")
    return done.stdout


def instructions(args: argparse.Namespace) -> str | None:
    """Review instructions beyond codex's own targets: the whole tree, and the focus."""
    parts: list[str] = []
    if args.scope == "full":
        parts.append(
            "Review the whole codebase in this folder, not only recent changes: "
            "correctness, security, error handling, tests and maintainability."
        )
    if args.focus:
        parts.append(f"Focus on: {args.focus}")
    return " ".join(parts) or None


def collect_diff(folder: Path, args: argparse.Namespace) -> str:
    """What a remote review reads: the diff against ``--base`` (or HEAD), or the tracked
    files for ``--scope full``; capped at :data:`MAX_REMOTE_CHARS`."""
    if args.scope == "full":
        chunks: list[str] = []
        for name in git(folder, "ls-files").splitlines():
            path = folder / name
            try:
                chunks.append(f"===== {name}\n{path.read_text()}")
            except (OSError, UnicodeDecodeError):
                continue
        text = "\n".join(chunks)
    else:
        text = git(folder, "diff", f"{args.base}...HEAD") if args.base else ""
        text += git(folder, "diff", "HEAD")
        untracked = git(folder, "ls-files", "--others", "--exclude-standard").splitlines()
        for name in untracked:
            try:
                text += f"\n===== new file {name}\n{(folder / name).read_text()}"
            except (OSError, UnicodeDecodeError):
                continue
    if not text.strip():
        raise InvalidRequestError("Nothing to review: no changes found.")
    if len(text) > MAX_REMOTE_CHARS:
        text = text[:MAX_REMOTE_CHARS] + "\n[... truncated ...]"
    return text


def review_text(events: list[Any], fallback: str) -> str:
    """The review codex produced: its ``exitedReviewMode`` item, else the final reply."""
    for event in reversed(events):
        data = getattr(event, "data", None)
        if isinstance(data, dict) and data.get("item_type") == "exited_review_mode":
            review = (data.get("item") or {}).get("review")
            if isinstance(review, str) and review.strip():
                return review.strip()
    return fallback.strip()


async def local_review(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    folder = Path(git(Path(args.path), "rev-parse", "--show-toplevel").strip())
    session = await client.create_session(
        server_folder(client.server, str(folder)),
        sandbox="read-only",
        title=f"review{' vs ' + args.base if args.base else ''}",
    )
    base = args.base if args.scope == "diff" else None
    result = await client.review(
        session.id, base=base, instructions=instructions(args), timeout=args.timeout
    )
    if result.status != "completed":
        reason = result.error.message if result.error else result.status
        raise ClientError(f"The review did not complete: {reason}")
    markdown = review_text(result.events, result.text)
    emit(
        args,
        {"session_id": session.id, "turn_id": result.turn_id, "review": markdown},
        lambda: print(f"# Codex review\n\n{markdown}"),
    )
    return 0


def _proxy_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/codex/v1") else url + "/codex/v1"


async def remote_review(args: argparse.Namespace) -> int:
    """Send the diff through the proxy (OpenAI chat completions) with a proxy key."""
    import httpx

    from .kernel._http import error_from_payload

    if not args.key:
        raise InvalidRequestError("--remote needs a proxy key: --key KEY or $JUPYTER_CODEX_KEY.")
    folder = Path(git(Path(args.path), "rev-parse", "--show-toplevel").strip())
    diff = await asyncio.to_thread(collect_diff, folder, args)
    base = _proxy_base(args.remote_url)
    headers = {"Authorization": f"Bearer {args.key}"}
    focus = f"\n\nFocus on: {args.focus}" if args.focus else ""
    what = "The repository's tracked files" if args.scope == "full" else "The diff"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=args.timeout) as http:
        try:
            model = args.model
            if not model:
                listed = await http.get("/models")
                if not listed.is_success:
                    raise error_from_payload(listed.status_code, _json(listed), base)
                data = listed.json().get("data") or []
                if not data:
                    raise ClientError(f"The proxy at {base} offers no model.")
                model = str(data[0]["id"])
            answer = await http.post(
                "/chat/completions",
                json={
                    "model": model,
                    "messages": [
                        {"role": "system", "content": REVIEW_PROMPT + focus},
                        {"role": "user", "content": f"{what}:\n\n{diff}"},
                    ],
                },
            )
        except httpx.TransportError as e:
            raise ClientError(f"Cannot reach the proxy at {base}: {e}") from e
    if not answer.is_success:
        body = _json(answer)
        message = ((body or {}).get("error") or {}).get("message") if isinstance(body, dict) else ""
        raise ClientError(f"The proxy refused the review ({answer.status_code}): {message}")
    markdown = str(answer.json()["choices"][0]["message"]["content"] or "").strip()
    emit(
        args,
        {"model": model, "review": markdown},
        lambda: print(f"# Codex review\n\n{markdown}"),
    )
    return 0


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def review(client: AsyncCodexClient, args: argparse.Namespace) -> int:
    return await local_review(client, args)


def register(subparsers: Any) -> None:
    """Add ``review`` to ``jupyter codex``'s sub-command parsers."""
    p = subparsers.add_parser("review", help="a Codex review of this git repository")
    p.add_argument("path", nargs="?", default=".", help="a folder in the repository")
    p.add_argument("--base", help="review the changes against this ref (e.g. origin/main)")
    p.add_argument("--scope", choices=["diff", "full"], default="diff")
    p.add_argument("--focus", help="what to look at especially")
    p.add_argument(
        "--remote",
        dest="remote_url",
        metavar="URL",
        help="server URL: send the diff through its proxy (only the proxy is needed)",
    )
    p.add_argument(
        "--key",
        default=os.environ.get("JUPYTER_CODEX_KEY"),
        help="proxy client key for --remote (default: $JUPYTER_CODEX_KEY)",
    )
    p.add_argument("--model", help="model for --remote (default: the proxy's first)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    add_server_options(p)
    server_command(p, review)
    p.set_defaults(direct=lambda a: bool(a.remote_url), run_direct=remote_review)


__all__ = ["register"]
