"""Steer, compact, fork and undo: what a user does to a conversation besides a message.

Verified with the real binary (0.163): ``turn/steer {threadId, expectedTurnId, input}``
adds input to the running turn (its next model request carries it);
``thread/compact/start`` runs a compaction turn (``turn/started`` … ``contextCompaction``
item … ``turn/completed``); ``thread/fork`` copies a thread into a new, loaded one;
``thread/revert {threadId, beforeTurnId}`` drops a turn and later ones from the history
but leaves files alone, so :meth:`ThreadActions.undo` also reverses the turn's diff
(``turn/diff/updated``, kept in the event log) on disk with ``git apply -R``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from typing import Any, Protocol

from ..errors import ConflictError, InvalidRequestError, RpcError
from ..models import Session
from ..paths import resolve_folder
from ..store import SessionRepository
from ..supervisor import AppServerManager
from .eventlog import EventLog
from .live import LiveTurns

#: Events read back to find the last turn (one page of the log).
_LOOKBACK = 10_000


class SessionHost(Protocol):
    """What the thread actions need from their workspace (``WorkspaceManager`` is one):
    its stores, its per-session lock and checks, and the session's app-server."""

    sessions: SessionRepository
    events: EventLog
    live: LiveTurns

    @property
    def root_dir(self) -> str: ...

    def server(self, target: str) -> AppServerManager: ...

    def session_lock(self, session_id: str) -> asyncio.Lock: ...

    def check_idle(self, session_id: str) -> None: ...

    async def ensure_thread(self, session: Session) -> str: ...

    def public(self, session: Session) -> dict[str, Any]: ...


class ThreadActions:
    """Steer, compact, fork and undo on one workspace's sessions."""

    def __init__(self, workspace: SessionHost) -> None:
        self._ws = workspace

    async def steer(self, session_id: str, input_items: list[dict[str, Any]]) -> dict[str, Any]:
        """Add input to the running turn; 409 when none runs (send a message instead)."""
        ws = self._ws
        session = await ws.sessions.get(session_id)
        turn_id = ws.live.runtime_of(session_id, session.target).active_turn
        if turn_id is None or turn_id == "pending" or not session.thread_id:
            raise ConflictError("No turn is running in this session: send a message instead.")
        try:
            result = await ws.server(session.target).request(
                "turn/steer",
                {"threadId": session.thread_id, "expectedTurnId": turn_id, "input": input_items},
            )
        except RpcError as e:
            # codex refuses a steer whose turn is not its active one (it has just ended,
            # or another began before our events caught up): a conflict, never a 5xx.
            if e.rpc_code == -32600:
                raise ConflictError(
                    "The running turn changed while you steered (it ended or another began): "
                    "send your text as a new message instead."
                ) from e
            raise
        return {"turn_id": result.get("turnId") or turn_id, "steered": True}

    async def compact(self, session_id: str) -> dict[str, Any]:
        """Summarize the conversation so far into a shorter context (a turn of its own)."""
        ws = self._ws
        async with ws.session_lock(session_id):
            session = await ws.sessions.get(session_id)
            ws.check_idle(session_id)
            if not session.thread_id:
                raise ConflictError("This session has no conversation to compact yet.")
            thread_id = await ws.ensure_thread(session)
            # The compaction runs as a turn: its turn/started marks the session running.
            await ws.server(session.target).request("thread/compact/start", {"threadId": thread_id})
            ws.events.append(session_id, "session.compacting", {})
            return {"compacting": True}

    async def fork(
        self, session_id: str, *, turn_id: str | None = None, title: str | None = None
    ) -> Session:
        """A new session whose thread is a copy of this one's (through ``turn_id``)."""
        ws = self._ws
        parent = await ws.sessions.get(session_id)
        if not parent.thread_id:
            raise ConflictError("This session has no conversation to fork yet.")
        thread_id = await ws.ensure_thread(parent)
        params: dict[str, Any] = {"threadId": thread_id}
        if turn_id:
            params["lastTurnId"] = turn_id
        result = await ws.server(parent.target).request("thread/fork", params)
        now = time.time()
        child = parent.model_copy(
            update={
                "id": uuid.uuid4().hex,
                "thread_id": (result.get("thread") or {}).get("id"),
                "title": title or f"{parent.title} (fork)",
                "created_at": now,
                "updated_at": now,
                "last_seq": 0,
                "archived": False,
                "state": "idle",
                "active_turn_id": None,
            }
        )
        await ws.sessions.insert(child)
        ws.live.mark_loaded(child)
        ws.events.append(
            child.id, "session.created", {**ws.public(child), "forked_from": parent.id}
        )
        ws.events.append(parent.id, "session.forked", {"new_session_id": child.id})
        return ws.live.with_state(child)

    async def undo(self, session_id: str) -> dict[str, Any]:
        """Drop the last turn from the conversation and reverse its file changes."""
        ws = self._ws
        async with ws.session_lock(session_id):
            session = await ws.sessions.get(session_id)
            ws.check_idle(session_id)
            turn_id, diff = await self._last_turn(session_id)
            if turn_id is None or not session.thread_id:
                raise ConflictError("There is no turn to undo in this session.")
            if diff.get("truncated"):
                raise ConflictError(
                    "The last turn changed too much to undo here (its diff was truncated)."
                )
            folder, _ = resolve_folder(ws.root_dir, session.cwd)
            patch = str(diff.get("diff") or "")
            # Check first, so a refused reversal leaves both the files and the history as
            # they were; then drop the turn from the history, then restore the files.
            await _reverse_apply(patch, str(folder), check=True)
            thread_id = await ws.ensure_thread(session)
            await ws.server(session.target).request(
                "thread/revert", {"threadId": thread_id, "beforeTurnId": turn_id}
            )
            reverted_files = await _reverse_apply(patch, str(folder))
            ws.events.append(session_id, "turn.undone", {"files": reverted_files}, turn_id=turn_id)
            return {"undone": turn_id, "files": reverted_files}

    async def _last_turn(self, session_id: str) -> tuple[str | None, dict[str, Any]]:
        """The last turn not undone yet, and its final diff (``{}``: no file changes)."""
        ws = self._ws
        after = max(0, ws.events.last_seq(session_id) - _LOOKBACK)
        bodies = await ws.events.replay(session_id, after, _LOOKBACK)
        undone: set[str] = set()
        turn_id: str | None = None
        diffs: dict[str, dict[str, Any]] = {}
        for body in bodies:
            event = json.loads(body)
            tid = event.get("turn_id")
            if event["type"] == "turn.undone" and tid:
                undone.add(tid)
            elif event["type"] == "turn.started" and tid:
                turn_id = tid
            elif event["type"] == "diff.updated" and tid:
                diffs[tid] = event.get("data") or {}
        if turn_id is not None and turn_id in undone:
            return None, {}
        return turn_id, diffs.get(turn_id or "", {})


async def _reverse_apply(diff: str, folder: str, *, check: bool = False) -> list[str]:
    """Reverse a unified diff in ``folder`` (with ``check``, only see that it would
    apply); the files it touched. ``git apply`` refuses paths that leave the folder, and
    checks the whole patch before changing anything."""
    if not diff.strip():
        return []
    git = shutil.which("git")
    if git is None:
        raise InvalidRequestError("Undo needs git on the server to reverse file changes.")
    files = [
        line[len("+++ b/") :] if line.startswith("+++ b/") else line[len("--- a/") :]
        for line in diff.splitlines()
        if line.startswith(("+++ b/", "--- a/"))
    ]
    proc = await asyncio.create_subprocess_exec(
        git,
        "apply",
        "-R",
        *(["--check"] if check else []),
        "--whitespace=nowarn",
        "-",
        cwd=folder,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(diff.encode())
    if proc.returncode != 0:
        raise ConflictError(
            "The files changed since that turn, so its changes cannot be reversed: "
            + err.decode(errors="replace").strip()[:300]
        )
    return sorted(set(files))


__all__ = ["ThreadActions"]
