"""Crash recovery: close on start-up what a dead server left open.

The event log survives any kill, but a Jupyter server that dies mid-turn never
writes that turn's ``turn.completed``, and the approvals it held in memory
vanish with it. On the next start, before any client can read the log, every
turn with a ``turn.started`` and no ``turn.completed`` gets an ``error`` event
(code ``server_restarted``: what happened and what to do) and a failed
``turn.completed``; every ``approval.requested`` without an ``approval.resolved``
gets one with ``by: "expired"`` and is remembered as expired, so deciding it
answers 410 with the reason instead of a bare 404.

The same closing happens live when an app-server dies between a request and
its answer (see :meth:`~jupyter_codex.workspace.live.LiveTurns.on_lifecycle`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ..store import EventRepository
from .approvals import ApprovalBook
from .eventlog import EventLog

#: ``error.code`` of a turn the server's restart cut short.
SERVER_RESTARTED = "server_restarted"

TURN_MESSAGE = (
    "The Jupyter server stopped (crashed or was restarted) while this turn was running, "
    "so the turn did not finish. The conversation up to here is kept: send your message "
    "again to continue."
)
APPROVAL_MESSAGE = (
    "This approval can no longer be decided: the Jupyter server stopped (crashed or was "
    "restarted) before anyone answered, and the request it belonged to ended with it. "
    "Send your message again and Codex will ask again if it still needs to."
)
SHUTDOWN_APPROVAL_MESSAGE = (
    "This approval can no longer be decided: the Jupyter server was stopped before "
    "anyone answered, and the turn it belonged to ended with it. Send your message "
    "again and Codex will ask again if it still needs to."
)
APP_SERVER_APPROVAL_MESSAGE = (
    "This approval can no longer be decided: the Codex app-server that asked stopped "
    "before anyone answered, and its turn ended. Send your message again to continue."
)


@dataclass
class RecoveryReport:
    """What one start-up closed."""

    turns: list[tuple[str, str | None]] = field(default_factory=list)  # (session, turn)
    approvals: list[tuple[str, str]] = field(default_factory=list)  # (session, approval)


@dataclass
class _Open:
    turns: dict[str, list[str | None]] = field(default_factory=dict)
    approvals: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def find_open(rows: list[tuple[str, int, str, str]], approvals: ApprovalBook) -> _Open:
    """Turns and approvals opened and never closed in ``rows`` (lifecycle events in
    log order); approvals already closed as expired are remembered in ``approvals``."""
    found = _Open()
    for session_id, _seq, kind, body in rows:
        try:
            event = json.loads(body)
        except ValueError:
            continue
        turn_id = event.get("turn_id")
        data = event.get("data") or {}
        turns = found.turns.setdefault(session_id, [])
        asked = found.approvals.setdefault(session_id, {})
        if kind == "turn.started":
            turns.append(turn_id)
        elif kind == "turn.completed":
            # Turns of a session run one at a time: an end without an id closes them all.
            turns[:] = [] if turn_id is None else [t for t in turns if t != turn_id]
        elif kind == "approval.requested" and isinstance(data.get("id"), str):
            asked[data["id"]] = event
        elif kind == "approval.resolved" and isinstance(data.get("id"), str):
            asked.pop(data["id"], None)
            if data.get("by") == "expired":
                approvals.mark_expired(data["id"], str(data.get("reason") or APPROVAL_MESSAGE))
    return found


async def close_interrupted(
    repository: EventRepository, events: EventLog, approvals: ApprovalBook, log: logging.Logger
) -> RecoveryReport:
    """Close every turn and approval a previous server process left open.

    Run once at start-up, after the log knows each session's last ``seq`` and
    before the app-servers are wired (nothing can be running yet).
    """
    found = find_open(await repository.lifecycle(), approvals)
    report = RecoveryReport()
    for session_id, asked in found.approvals.items():
        for approval_id, event in asked.items():
            approvals.mark_expired(approval_id, APPROVAL_MESSAGE)
            events.append(
                session_id,
                "approval.resolved",
                {
                    "id": approval_id,
                    "decision": "cancel",
                    "by": "expired",
                    "reason": APPROVAL_MESSAGE,
                },
                turn_id=event.get("turn_id"),
                item_id=event.get("item_id"),
            )
            report.approvals.append((session_id, approval_id))
    for session_id, turns in found.turns.items():
        for turn_id in turns:
            error = {"message": TURN_MESSAGE, "code": SERVER_RESTARTED}
            events.append(session_id, "error", {**error, "will_retry": False}, turn_id=turn_id)
            events.append(
                session_id, "turn.completed", {"status": "failed", "error": error}, turn_id=turn_id
            )
            report.turns.append((session_id, turn_id))
    if report.turns or report.approvals:
        log.warning(
            "The previous Jupyter server stopped mid-work: closed %d interrupted turn(s) and "
            "expired %d pending approval(s) in %d session(s)",
            len(report.turns),
            len(report.approvals),
            len({s for s, _ in report.turns} | {s for s, _ in report.approvals}),
        )
    return report


__all__ = [
    "APP_SERVER_APPROVAL_MESSAGE",
    "SERVER_RESTARTED",
    "SHUTDOWN_APPROVAL_MESSAGE",
    "RecoveryReport",
    "close_interrupted",
    "find_open",
]
