"""Codex's approval requests, each routed to its session's approval book entry.

An app-server asks (``item/commandExecution/requestApproval`` and the other
:data:`~.approvals.APPROVAL_METHODS`) with a thread id. :class:`ApprovalRequests`
finds the session of that thread -- a subagent thread we were not told about is
looked up once with ``thread/read`` (its ``source`` names the thread that
spawned it) -- and waits for a human in the :class:`~.approvals.ApprovalBook`.
A thread that is no session's (an agent-mode thread without one) is declined.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import AppServerError
from ..supervisor import AppServerManager
from .approvals import APPROVAL_METHODS, ApprovalBook, reply_for
from .live import LiveTurns

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ApprovalRequests:
    """The server-request handlers of the approval methods (``wiring.py`` registers them).

    Parameters
    ----------
    live
        Which session (and running turn) a thread belongs to.
    approvals
        Where a request waits for its answer.
    app_servers
        Asked for a subagent thread's parent (``thread/read``).
    timeout_of
        The approval timeout of a target (read at each request: a trait may change).
    """

    def __init__(
        self,
        *,
        live: LiveTurns,
        approvals: ApprovalBook,
        app_servers: Mapping[str, AppServerManager],
        timeout_of: Callable[[str], float],
    ) -> None:
        self.live = live
        self.approvals = approvals
        self.app_servers = app_servers
        self.timeout_of = timeout_of

    def handler(self, method: str) -> Handler:
        """The handler of one approval request method (a key of ``APPROVAL_METHODS``)."""

        async def handle(params: dict[str, Any]) -> dict[str, Any]:
            thread_id = params.get("threadId")
            thread_id = thread_id if isinstance(thread_id, str) else None
            session_id = self.live.session_of(thread_id) or await self._parent_session(thread_id)
            if session_id is None:
                # Not one of ours (e.g. an agent-mode thread without a session): refuse safely.
                return reply_for(APPROVAL_METHODS[method], "decline", params, None)
            runtime = self.live.runtime_of(session_id)
            timeout = self.timeout_of(runtime.target)
            # A subagent's request belongs to the session's running turn, so a client
            # following that turn (send_and_wait) sees it and answers it.
            sub = self.live.subagent(thread_id)
            turn_id = (sub.parent_turn_id or runtime.active_turn) if sub else None
            return await self.approvals.ask(session_id, method, params, timeout, turn_id=turn_id)

        return handle

    async def _parent_session(self, thread_id: str | None) -> str | None:
        """The session of a subagent thread we were not told about: its ``source`` says
        which thread spawned it (asked once per thread, on each target)."""
        if not thread_id:
            return None
        for server in self.app_servers.values():
            try:
                answer = await server.request("thread/read", {"threadId": thread_id}, timeout=10)
            except AppServerError:
                continue
            sub = self.live.adopt(answer.get("thread") or {})
            if sub is not None:
                return sub.session_id
        return None


__all__ = ["ApprovalRequests"]
