"""What an extension may touch: exactly the capabilities it declared.

An extension never gets the workspace or the queue; it gets an
:class:`ExtensionFacade`, whose every method checks one capability and raises
:class:`~jupyter_codex.errors.CapabilityError` without it. Everything it does is
attributed to ``extension:<name>`` (jobs' ``submitted_by``, approvals' ``by``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from ..errors import CapabilityError, InvalidRequestError
from ..models import Approval, Job, JobCreate

#: Every capability an extension may declare.
CAPABILITIES = frozenset({"read_events", "submit_jobs", "decide_approvals", "answer_questions"})
#: Events an extension may fall behind by before the oldest are dropped.
EVENT_BUFFER = 10_000
_QUESTION_KINDS = ("user_input", "elicitation")

#: ``rule(approval) -> (decision, reason)`` to decide, ``None`` to leave it to a human.
ApprovalRule = Callable[[Approval], Awaitable[tuple[str, str] | None]]


class Workspace(Protocol):
    approvals: Any

    def subscribe(self, session_id: str, subscriber: Any) -> Any: ...


class Jobs(Protocol):
    async def submit(
        self, body: JobCreate, *, submitted_by: str | None = None
    ) -> tuple[Job, bool]: ...
    async def get(self, job_id: str) -> Job: ...


class ExtensionFacade:
    """The one object an extension's ``run`` receives."""

    def __init__(
        self,
        name: str,
        capabilities: frozenset[str],
        *,
        workspace: Workspace,
        jobs: Jobs,
        log: logging.Logger,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self.config: dict[str, Any] = dict(config or {})
        self.log = log
        self._workspace = workspace
        self._jobs = jobs
        self._cleanups: list[Callable[[], None]] = []

    @property
    def owner(self) -> str:
        """How the event log names this extension."""
        return f"extension:{self.name}"

    def _require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise CapabilityError(
                f"Extension {self.name!r} did not declare the {capability!r} capability "
                f"(it declared: {', '.join(sorted(self.capabilities)) or 'none'})."
            )

    # -- read_events ---------------------------------------------------------

    async def events(self, session_id: str = "*") -> AsyncIterator[dict[str, Any]]:
        """Every workspace event (or one session's), as envelopes, until cancelled."""
        self._require("read_events")
        queue: asyncio.Queue[str] = asyncio.Queue()

        def deliver(_session: str, body: str) -> None:
            if queue.qsize() >= EVENT_BUFFER:
                queue.get_nowait()  # a slow extension loses its oldest events, not the server
            queue.put_nowait(body)

        unsubscribe = self._workspace.subscribe(session_id, deliver)
        try:
            while True:
                yield json.loads(await queue.get())
        finally:
            unsubscribe()

    # -- submit_jobs ---------------------------------------------------------

    async def submit_job(
        self,
        text: str,
        *,
        session_id: str | None = None,
        cwd: str | None = None,
        dedupe_key: str | None = None,
        max_attempts: int = 1,
        not_before: float | None = None,
    ) -> Job:
        """Queue a job attributed to this extension. A new session (``cwd``) is
        system-owned: hidden from the default session list."""
        self._require("submit_jobs")
        body = JobCreate(
            text=text,
            session_id=session_id,
            cwd=cwd,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            not_before=not_before,
        )
        job, _ = await self._jobs.submit(body, submitted_by=self.owner)
        return job

    async def get_job(self, job_id: str) -> Job:
        """One job (any submitter's)."""
        self._require("submit_jobs")
        return await self._jobs.get(job_id)

    # -- decide_approvals / answer_questions -----------------------------------

    def add_approval_rule(self, rule: ApprovalRule) -> None:
        """Consult ``rule`` for every approval before a human is asked; removed when
        the extension stops."""
        self._require("decide_approvals")

        async def decider(approval: Approval) -> tuple[str, str, str] | None:
            if approval.kind == "user_input":
                return None  # a question needs answers, not a rule
            verdict = await rule(approval)
            if verdict is None:
                return None
            decision, reason = verdict
            if decision not in ("accept", "acceptForSession", "decline", "cancel"):
                raise InvalidRequestError(f"Unknown decision {decision!r} from {self.name}.")
            if (
                approval.kind == "elicitation"
                and decision.startswith("accept")
                and "answer_questions" not in self.capabilities
            ):
                # Accepting an MCP elicitation answers it: that takes answer_questions.
                self.log.warning(
                    "Extension %s may not accept MCP requests (no answer_questions); "
                    "asking a human",
                    self.name,
                )
                return None
            self.log.info(
                "Extension %s decided approval %s: %s (%s)",
                self.name,
                approval.id,
                decision,
                reason,
            )
            return decision, self.owner, reason

        deciders = self._workspace.approvals.deciders
        deciders.append(decider)
        self._cleanups.append(lambda: deciders.remove(decider))

    def decide_approval(self, approval_id: str, decision: str, reason: str = "") -> Approval:
        """Decide a pending command/file/permission approval."""
        self._require("decide_approvals")
        if decision not in ("accept", "acceptForSession", "decline", "cancel"):
            raise InvalidRequestError(f"Unknown decision {decision!r}.")
        pending = {a.id: a for a in self._workspace.approvals.pending()}
        if approval_id in pending and pending[approval_id].kind in _QUESTION_KINDS:
            self._require("answer_questions")
        return self._resolve(approval_id, decision, reason)

    def answer_question(
        self,
        approval_id: str,
        answers: dict[str, list[str]] | None = None,
        content: dict[str, Any] | None = None,
        reason: str = "",
    ) -> Approval:
        """Answer a user-input question (``answers``) or an MCP elicitation (``content``)."""
        self._require("answer_questions")
        extra: dict[str, Any] = {}
        if answers is not None:
            extra["answers"] = answers
        if content is not None:
            extra["content"] = content
        return self._resolve(approval_id, "accept", reason, extra)

    def _resolve(
        self, approval_id: str, decision: str, reason: str, extra: dict[str, Any] | None = None
    ) -> Approval:
        attribution = {"_by": self.owner, "_reason": reason or None, **(extra or {})}
        approval: Approval = self._workspace.approvals.resolve(approval_id, decision, attribution)
        return approval

    # -- lifecycle (the host's) --------------------------------------------------

    def close(self) -> None:
        """Undo what the extension registered (called when it stops or crashes)."""
        while self._cleanups:
            cleanup = self._cleanups.pop()
            with contextlib.suppress(ValueError):
                cleanup()


__all__ = ["CAPABILITIES", "ApprovalRule", "ExtensionFacade"]
