"""``%codex_status``, ``%codex_accounts`` and ``%codex_sessions`` as small tables.

Each function returns a MIME bundle: Markdown for the notebook, aligned plain
text for terminals, logs and tests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..client import ServerStatus
from ..models import Account, Session


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    markdown = "\n".join(
        [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join("---" for _ in headers) + "|",
            *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
        ]
    )
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    plain = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *rows]
    )
    return markdown, plain


def _ago(when: float | None) -> str:
    if not when:
        return ""
    seconds = max(0.0, time.time() - when)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


def _left(used: float | None) -> str:
    return "?" if used is None else f"{max(0.0, 100.0 - used):.0f}%"


def status_bundle(
    status: ServerStatus, server_url: str, source: str, session: Session | None
) -> dict[str, str]:
    lines = [
        f"Server: {server_url} ({source})",
        f"jupyter-codex {status.version}, data in {status.data_dir}",
    ]
    banner = getattr(status, "banner", None)  # demo mode (Binder): say so first
    if isinstance(banner, str) and banner:
        lines.insert(0, banner)
    for name in ("cli", "api"):
        info: dict[str, Any] = status.targets.get(name) or {}
        active = info.get("active_account") or {}
        who = active.get("email") or active.get("label") or active.get("id") or "no account"
        lines.append(f"Target {name}: codex {info.get('state', 'not used')}, account {who}")
    counts = status.sessions
    lines.append(
        f"Sessions: {counts.get('total', 0)} ({counts.get('running', 0)} running); "
        f"pending approvals: {status.pending_approvals}"
    )
    if session is not None:
        lines.append(
            f"This notebook's session: {session.title!r} ({session.id}) in "
            f"{session.cwd or '/'}, {session.state}"
        )
    else:
        lines.append("This notebook has no session yet: the first %codex starts one.")
    return {"text/plain": "\n".join(lines), "text/markdown": "  \n".join(lines)}


def accounts_bundle(accounts: Sequence[Account]) -> dict[str, str]:
    if not accounts:
        text = (
            "No accounts. Add one from a terminal: jupyter codex accounts import "
            "(your ~/.codex/auth.json), accounts login, or accounts add-key."
        )
        return {"text/plain": text, "text/markdown": text}
    rows = []
    for a in accounts:
        usage = a.usage
        name = a.label or a.email or ""
        if a.email and a.email != name:
            name += f" ({a.email})"
        state = a.status + (" (limit reached)" if usage and usage.limit_reached else "")
        if a.kind == "api_key":
            state = f"API key, {state}"
        rows.append(
            [
                name,
                a.id,
                ",".join(a.active_targets) or "-",
                _left(usage.primary_used_percent if usage else None),
                _left(usage.secondary_used_percent if usage else None),
                state,
            ]
        )
    # Six narrow columns: the table fits a notebook cell (the id is for `use ID`).
    headers = ["account", "id", "targets", "5h left", "week left", "status"]
    markdown, plain = _table(headers, rows)
    hint = "Switch with: %codex_accounts use ID [--target cli|api]"
    return {"text/plain": f"{plain}\n\n{hint}", "text/markdown": f"{markdown}\n\n{hint}"}


def sessions_bundle(sessions: Sequence[Session], current: str | None) -> dict[str, str]:
    if not sessions:
        text = "No sessions yet: %codex PROMPT starts one for this notebook."
        return {"text/plain": text, "text/markdown": text}
    rows = [
        [
            "▶" if s.id == current else "",
            s.id,
            s.title,
            s.cwd or "/",
            s.state + (" (archived)" if s.archived else ""),
            s.model or "",
            _ago(s.updated_at),
        ]
        for s in sessions
    ]
    markdown, plain = _table(["", "id", "title", "folder", "state", "model", "active"], rows)
    hint = "Continue one with: %codex --session ID_OR_TITLE PROMPT"
    return {"text/plain": f"{plain}\n\n{hint}", "text/markdown": f"{markdown}\n\n{hint}"}


__all__ = ["accounts_bundle", "sessions_bundle", "status_bundle"]
