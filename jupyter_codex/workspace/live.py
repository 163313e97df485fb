"""What runs where, in this process: the live state of sessions and turns.

Nothing here is stored. It maps Codex threads to sessions, remembers which
app-server generation loaded each thread (a restarted process knows none) and
which turn runs in each session, and turns the app-server's notifications and
deaths into workspace events. The manager asks it; the app-servers feed it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..models import Session
from .approvals import ApprovalBook
from .eventlog import EventLog
from .events import normalize, thread_id_of
from .recovery import APP_SERVER_APPROVAL_MESSAGE
from .stall import StallWatch


@dataclass
class SessionRuntime:
    """What we know about a session in this process (never stored)."""

    target: str = "cli"  # whose app-server runs the session's thread
    generation: int = -1  # app-server generation the thread is loaded in
    active_turn: str | None = None  # a turn id, "pending" while turn/start is answered
    last_completed_turn: str | None = None
    force_stopping: bool = False
    token_usage: dict[str, Any] | None = None


@dataclass
class SubAgent:
    """A subagent thread spawned by a session's thread (or by another subagent)."""

    session_id: str
    thread_id: str
    parent_thread_id: str
    parent_item_id: str | None  # the spawning tool call, in the parent's timeline
    parent_turn_id: str | None
    path: str | None

    def tag(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "path": self.path,
            "parent_thread_id": self.parent_thread_id,
            "parent_item_id": self.parent_item_id,
            "parent_turn_id": self.parent_turn_id,
        }


#: A subagent's own lifecycle, renamed so it never reads as the session's turn.
_SUBAGENT_TYPES = {"turn.started": "subagent.started", "turn.completed": "subagent.completed"}
#: Subagent events not shown: its token counts and thread status are not the session's.
_SUBAGENT_SKIP = frozenset({"token_usage", "thread.status", "rate_limits", "thread.started"})


class LiveTurns:
    """Threads, loaded generations and running turns of every session."""

    def __init__(
        self, targets: list[str], events: EventLog, approvals: ApprovalBook, log: logging.Logger
    ) -> None:
        self.events = events
        self.approvals = approvals
        self.log = log
        self.runtimes: dict[str, SessionRuntime] = {}
        self.generations: dict[str, int] = dict.fromkeys(targets, 0)
        self.starting: set[str] = set()  # sessions between the turn limit check and turn/start
        self.rate_limits: dict[str, Any] | None = None
        self._by_thread: dict[str, str] = {}
        self._subagents: dict[str, SubAgent] = {}
        #: Warns when a running turn goes silent (seconds set by the workspace).
        self.stall = StallWatch(events, approvals.has_pending)

    # -- lookups ---------------------------------------------------------------

    def runtime_of(self, session_id: str, target: str | None = None) -> SessionRuntime:
        runtime = self.runtimes.get(session_id)
        if runtime is None:
            runtime = self.runtimes[session_id] = SessionRuntime(target=target or "cli")
        elif target is not None:
            runtime.target = target
        return runtime

    def session_of(self, thread_id: str | None) -> str | None:
        """The session a Codex thread belongs to, a subagent's thread included (None: not
        one of ours)."""
        if not thread_id:
            return None
        sub = self._subagents.get(thread_id)
        return sub.session_id if sub else self._by_thread.get(thread_id)

    def subagent(self, thread_id: str | None) -> SubAgent | None:
        """The subagent running ``thread_id``, if it is one of a session's subagents."""
        return self._subagents.get(thread_id) if thread_id else None

    def register(self, session: Session) -> None:
        if session.thread_id:
            self._by_thread[session.thread_id] = session.id

    def forget_thread(self, thread_id: str | None) -> None:
        if thread_id:
            self._by_thread.pop(thread_id, None)

    def forget(self, session_id: str, thread_id: str | None) -> None:
        self.forget_thread(thread_id)
        self.runtimes.pop(session_id, None)

    def is_loaded(self, session: Session) -> bool:
        """Whether the session's thread is loaded in its app-server's current process."""
        runtime = self.runtime_of(session.id, session.target)
        return bool(session.thread_id) and runtime.generation == self.generations[session.target]

    def mark_loaded(self, session: Session) -> None:
        self.register(session)
        self.runtime_of(session.id, session.target).generation = self.generations[session.target]

    def is_running(self, session_id: str) -> bool:
        runtime = self.runtimes.get(session_id)
        return runtime is not None and runtime.active_turn is not None

    def running_turns(self) -> int:
        """Turns running (or being started) now, across sessions and targets."""
        running = {sid for sid, r in self.runtimes.items() if r.active_turn is not None}
        return len(running | self.starting)

    def turns_running_on(self, target: str) -> bool:
        """Whether a turn runs on ``target``'s codex, or any turn is being started (its
        target is not known here yet)."""
        return bool(self.starting) or any(
            r.active_turn is not None and r.target == target for r in self.runtimes.values()
        )

    def with_state(self, session: Session) -> Session:
        """``session`` with its live state filled in."""
        runtime = self.runtimes.get(session.id)
        session.last_seq = max(session.last_seq, self.events.last_seq(session.id))
        if runtime and runtime.active_turn:
            session.state = (
                "waiting_approval" if self.approvals.has_pending(session.id) else "running"
            )
            session.active_turn_id = (
                None if runtime.active_turn == "pending" else runtime.active_turn
            )
        return session

    # -- app-server callbacks ----------------------------------------------------

    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        """Normalize a notification into events of the session its thread belongs to."""
        if method == "account/rateLimits/updated":
            self.rate_limits = {**(self.rate_limits or {}), **(params.get("rateLimits") or {})}
            # Process-wide: show it in every session that is working right now.
            for event in normalize(method, params):
                for sid, runtime in self.runtimes.items():
                    if runtime.active_turn:
                        self.events.append(sid, event.type, event.data, turn_id=runtime.active_turn)
            return
        thread_id = thread_id_of(method, params)
        session_id = self.session_of(thread_id)
        if session_id is None or thread_id is None:
            return
        self._watch_spawns(session_id, thread_id, method, params)
        sub = self._subagents.get(thread_id)
        if sub is not None:
            self._on_subagent(sub, method, params)
            return
        runtime = self.runtime_of(session_id)
        for event in normalize(method, params):
            if event.type == "turn.started":
                runtime.active_turn = event.turn_id or runtime.active_turn
            elif event.type == "token_usage":
                runtime.token_usage = event.data
            elif event.type == "turn.completed":
                runtime.active_turn = None
                runtime.last_completed_turn = event.turn_id
                self.approvals.cancel_session(session_id)
                self.stall.ended(session_id)
            if event.type != "turn.completed":
                self.stall.seen(session_id, event.type, event.turn_id, event.item_id)
            self.events.append(
                session_id, event.type, event.data, turn_id=event.turn_id, item_id=event.item_id
            )

    def _watch_spawns(
        self, session_id: str, thread_id: str, method: str, params: dict[str, Any]
    ) -> None:
        """Learn a subagent's thread from the ``subAgentActivity`` item of its parent
        (codex sends it before the subagent's first turn)."""
        if method != "item/started":
            return
        item = params.get("item") or {}
        child = item.get("agentThreadId")
        if item.get("type") != "subAgentActivity" or not child or child in self._subagents:
            return
        self._subagents[child] = SubAgent(
            session_id=session_id,
            thread_id=child,
            parent_thread_id=thread_id,
            parent_item_id=item.get("id"),
            parent_turn_id=params.get("turnId"),
            path=item.get("agentPath"),
        )

    def adopt(self, thread: dict[str, Any]) -> SubAgent | None:
        """Register a subagent thread found by ``thread/read`` (its source names its
        parent); None when its parent is none of our sessions' threads."""
        source = thread.get("source")
        spawn = (
            ((source.get("subAgent") or {}).get("thread_spawn") or {})
            if isinstance(source, dict)
            else {}
        )
        parent = str(thread.get("parentThreadId") or spawn.get("parent_thread_id") or "")
        session_id = self.session_of(parent)
        if session_id is None or not thread.get("id"):
            return None
        return self._subagents.setdefault(
            thread["id"],
            SubAgent(session_id, thread["id"], parent, None, None, spawn.get("agent_path")),
        )

    def _on_subagent(self, sub: SubAgent, method: str, params: dict[str, Any]) -> None:
        """A subagent's events go to its session's log, tagged with ``subagent`` (who,
        and under which tool call of the parent), keeping the subagent's own turn id."""
        for event in normalize(method, params):
            if event.type in _SUBAGENT_SKIP:
                continue
            self.events.append(
                sub.session_id,
                _SUBAGENT_TYPES.get(event.type, event.type),
                {**event.data, "subagent": sub.tag()},
                turn_id=event.turn_id,
                item_id=event.item_id,
            )

    def lifecycle_listener(self, target: str) -> Any:
        def listener(kind: str, info: dict[str, Any]) -> None:
            self.on_lifecycle(target, kind, info)

        return listener

    def on_lifecycle(self, target: str, kind: str, info: dict[str, Any]) -> None:
        """A new process loads no thread; a dead one ends every turn it ran."""
        if kind == "started":
            self.generations[target] += 1
            return
        if kind not in ("died", "dead"):
            return
        for session_id, runtime in self.runtimes.items():
            if runtime.active_turn is None or runtime.target != target:
                continue
            turn_id = None if runtime.active_turn == "pending" else runtime.active_turn
            if runtime.force_stopping:
                self.approvals.cancel_session(session_id)
            else:
                self.approvals.expire_session(session_id, APP_SERVER_APPROVAL_MESSAGE)
            if runtime.force_stopping:
                status, error = "interrupted", None
            else:
                message = (
                    f"The Codex app-server stopped unexpectedly (exit code {info.get('returncode')})"
                    "; it is being restarted. Send your message again to continue."
                    if info.get("unexpected", True)
                    else "The Codex app-server was restarted (Force Stop in another session); "
                    "send your message again to continue."
                )
                error = {"message": message, "code": "app_server_died"}
                self.events.append(
                    session_id, "error", {**error, "will_retry": False}, turn_id=turn_id
                )
                status = "failed"
            self.events.append(
                session_id, "turn.completed", {"status": status, "error": error}, turn_id=turn_id
            )
            self.stall.ended(session_id)
            runtime.active_turn = None


__all__ = ["LiveTurns", "SessionRuntime", "SubAgent"]
