"""Pending approvals: the agent asks, a human decides, the turn waits.

Each server→client approval request from the app-server becomes an
:class:`~jupyter_codex.models.Approval` that clients list and resolve. A
request nobody answers is declined when its timeout passes, so a forgotten
approval never hangs a turn forever; the default outcome is always the safe one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ApprovalExpiredError, ConflictError, InvalidRequestError, NotFoundError
from ..models import Approval
from ..tasks import within
from .eventlog import EventLog

#: App-server request method → our approval kind.
APPROVAL_METHODS: dict[str, str] = {
    "item/commandExecution/requestApproval": "command",
    "item/fileChange/requestApproval": "file_change",
    "item/permissions/requestApproval": "permissions",
    "item/tool/requestUserInput": "user_input",
    "mcpServer/elicitation/request": "elicitation",
}
#: Approvals the workspace asks for itself (not app-server requests) → our kind.
LOCAL_APPROVAL_METHODS: dict[str, str] = {"notebook/runCell": "notebook_run"}

#: Why a request the app-server stopped waiting for can no longer be decided.
WITHDRAWN_MESSAGE = (
    "This approval can no longer be decided: the Codex app-server stopped waiting for it "
    "before anyone answered (the app-server or the Jupyter server stopped or restarted, or "
    "the turn ended). Send your message again to continue."
)


#: A rule consulted before a human is asked (an extension's): ``(decision, by, reason)``
#: to decide, ``None`` to pass.
Decider = Callable[[Approval], Awaitable[tuple[str, str, str] | None]]
#: Seconds one decider may think before it is skipped.
DECIDER_TIMEOUT = 5.0


@dataclass
class _Pending:
    approval: Approval
    future: asyncio.Future[tuple[str, dict[str, Any] | None]] = field(repr=False)


def reply_for(
    kind: str, decision: str, params: dict[str, Any], extra: dict[str, Any] | None
) -> dict[str, Any]:
    """The JSON-RPC result the app-server expects for a decision on ``kind``."""
    accepted = decision in ("accept", "acceptForSession")
    if kind in ("command", "file_change", "notebook_run"):
        return {"decision": decision}
    if kind == "permissions":
        return {
            "permissions": params.get("permissions") or {} if accepted else {},
            "scope": "session" if decision == "acceptForSession" else "turn",
        }
    if kind == "user_input":
        answers = (extra or {}).get("answers") or {}
        return {
            "answers": {
                k: {"answers": [v] if isinstance(v, str) else list(v)} for k, v in answers.items()
            }
            if accepted
            else {}
        }
    # elicitation: a form's accept always carries an object (codex's own "may this MCP
    # tool run?" question is a form without fields, answered with {}).
    content = (extra or {}).get("content")
    if content is None and params.get("requestedSchema") is not None:
        content = {}
    return {
        "action": "accept" if accepted else ("cancel" if decision == "cancel" else "decline"),
        "content": content if accepted else None,
        "_meta": None,
    }


def questions_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions of a ``request_user_input`` request, in our snake_case shape."""
    questions = []
    for q in params.get("questions") or []:
        if not isinstance(q, dict) or not q.get("id"):
            continue
        options = q.get("options")
        questions.append(
            {
                "id": str(q["id"]),
                "header": q.get("header") or "",
                "question": q.get("question") or "",
                "options": [
                    {"label": o.get("label", ""), "description": o.get("description") or ""}
                    for o in options
                    if isinstance(o, dict)
                ]
                if isinstance(options, list)
                else None,
                "is_other": bool(q.get("isOther")),
                "is_secret": bool(q.get("isSecret")),
            }
        )
    return questions


def form_of(params: dict[str, Any]) -> dict[str, Any]:
    """What an MCP elicitation asks: its server, mode, message and form schema (or URL)."""
    return {
        "server": params.get("serverName"),
        "mode": params.get("mode") or "form",
        "message": params.get("message") or params.get("description") or "",
        "schema": params.get("requestedSchema"),
        "url": params.get("url"),
    }


def check_answer(approval: Approval, decision: str, extra: dict[str, Any] | None) -> None:
    """Refuse (400) an accept that does not carry what its request needs."""
    if not decision.startswith("accept"):
        return
    extra = extra or {}
    if approval.kind == "user_input":
        answers = extra.get("answers")
        if not answers:
            raise InvalidRequestError("Answer a user-input request with 'answers'.")
        known = {q["id"] for q in approval.questions or []}
        unknown = sorted(set(answers) - known)
        if known and unknown:
            raise InvalidRequestError(
                f"No question with id {unknown[0]!r} in this request; "
                f"questions: {', '.join(sorted(known))}."
            )
    elif approval.kind == "elicitation" and (approval.form or {}).get("schema") is not None:
        content = extra.get("content") or {}
        if not isinstance(content, dict):
            raise InvalidRequestError("Accept an elicitation form with 'content' (an object).")
        schema = (approval.form or {}).get("schema") or {}
        missing = [k for k in schema.get("required") or [] if content.get(k) in (None, "")]
        if missing:
            raise InvalidRequestError(f"The form needs a value for {', '.join(missing)}.")


class ApprovalBook:
    """Holds the pending approvals of every session of one workspace, and remembers
    the ones that expired (their asker went away) so a late decision gets a 410
    that says why instead of a bare 404."""

    #: How many expired approvals are remembered (oldest forgotten first).
    EXPIRED_KEPT = 1000

    def __init__(self, events: EventLog, log: logging.Logger) -> None:
        self._events = events
        self._log = log
        self._pending: dict[str, _Pending] = {}
        self._expired: OrderedDict[str, str] = OrderedDict()
        #: Automatic deciders, consulted in order before a human is asked.
        self.deciders: list[Decider] = []

    def pending(self, session_id: str | None = None) -> list[Approval]:
        """Pending approvals, oldest first, optionally of one session."""
        return [
            p.approval
            for p in self._pending.values()
            if session_id is None or p.approval.session_id == session_id
        ]

    def has_pending(self, session_id: str) -> bool:
        """Whether a session waits for a decision."""
        return any(p.approval.session_id == session_id for p in self._pending.values())

    async def ask(
        self,
        session_id: str,
        method: str,
        params: dict[str, Any],
        timeout: float,
        *,
        turn_id: str | None = None,
    ) -> dict[str, Any]:
        """Publish an approval request and wait for a decision (or the timeout).
        ``turn_id``: the session's turn it belongs to, when not the request's own (a
        subagent's request belongs to the turn that spawned the subagent)."""
        kind = APPROVAL_METHODS.get(method) or LOCAL_APPROVAL_METHODS[method]
        now = time.time()
        approval = Approval(
            id=uuid.uuid4().hex,
            session_id=session_id,
            kind=kind,  # type: ignore[arg-type]
            method=method,
            turn_id=turn_id or params.get("turnId"),
            item_id=params.get("itemId"),
            created_at=now,
            expires_at=now + timeout,
            command=params.get("command"),
            cwd=params.get("cwd"),
            reason=params.get("reason") or params.get("message"),
            changes=params.get("changes"),
            questions=questions_of(params) if kind == "user_input" else None,
            form=form_of(params) if kind == "elicitation" else None,
            thread_id=params.get("threadId"),
            params=params,
        )
        verdict = await self._auto_decide(approval)
        future: asyncio.Future[tuple[str, dict[str, Any] | None]] = (
            asyncio.get_running_loop().create_future()
        )
        if verdict is not None:  # still requested + resolved in the log: the audit trail
            future.set_result((verdict[0], {"_by": verdict[1], "_reason": verdict[2]}))
        self._pending[approval.id] = _Pending(approval, future)
        self._events.append(
            session_id,
            "approval.requested",
            approval.model_dump(exclude={"params"}),
            turn_id=approval.turn_id,
            item_id=approval.item_id,
        )
        try:
            decision, extra = await within(asyncio.shield(future), timeout)
            by = str((extra or {}).get("_by") or "user")
        except asyncio.TimeoutError:
            decision, extra, by = "decline", None, "timeout"
            self._log.warning(
                "Approval %s (%s) in session %s timed out after %.0f s; declined",
                approval.id,
                kind,
                session_id,
                timeout,
            )
        except asyncio.CancelledError:
            # The app-server withdrew the request or its connection closed (it died or
            # was restarted): nobody is left to take an answer.
            self.mark_expired(approval.id, WITHDRAWN_MESSAGE)
            self._resolved_event(approval, "cancel", "expired", WITHDRAWN_MESSAGE)
            raise
        finally:
            self._pending.pop(approval.id, None)
        if by == "server" and (extra or {}).get("_reason"):
            by = "expired"
        self._resolved_event(approval, decision, by, (extra or {}).get("_reason"))
        return reply_for(kind, decision, params, extra)

    async def _auto_decide(self, approval: Approval) -> tuple[str, str, str] | None:
        for decider in list(self.deciders):
            try:
                verdict = await within(decider(approval), DECIDER_TIMEOUT)
            except Exception:  # noqa: BLE001 - an extension's bug must not block the turn
                self._log.exception("An approval rule failed on %s; skipping it", approval.id)
                continue
            if verdict is not None:
                return verdict
        return None

    def _resolved_event(
        self, approval: Approval, decision: str, by: str, reason: str | None = None
    ) -> None:
        data = {"id": approval.id, "decision": decision, "by": by}
        if reason:
            data["reason"] = reason
        self._events.append(
            approval.session_id,
            "approval.resolved",
            data,
            turn_id=approval.turn_id,
            item_id=approval.item_id,
        )

    # -- expiry ----------------------------------------------------------------

    def mark_expired(self, approval_id: str, reason: str) -> None:
        """Remember that ``approval_id`` can no longer be decided, and why."""
        self._expired[approval_id] = reason
        self._expired.move_to_end(approval_id)
        while len(self._expired) > self.EXPIRED_KEPT:
            self._expired.popitem(last=False)

    def state(self, approval_id: str) -> dict[str, Any]:
        """``GET codex/api/approvals/{id}``: a pending approval, or an expired one's reason."""
        pending = self._pending.get(approval_id)
        if pending is not None:
            return {"state": "pending", **pending.approval.model_dump(exclude={"params"})}
        reason = self._expired.get(approval_id)
        if reason is not None:
            return {"id": approval_id, "state": "expired", "reason": reason}
        raise NotFoundError(
            f"No pending approval with id {approval_id!r}; it may have been answered, "
            "timed out, or its turn ended."
        )

    def expire_session(self, session_id: str, reason: str) -> None:
        """The asker of a session's pending approvals is gone (the app-server died):
        answer them ``cancel`` and remember them as expired with ``reason``."""
        for pending in list(self._pending.values()):
            if pending.approval.session_id == session_id and not pending.future.done():
                self.mark_expired(pending.approval.id, reason)
                pending.future.set_result(("cancel", {"_by": "server", "_reason": reason}))

    def resolve(
        self, approval_id: str, decision: str, extra: dict[str, Any] | None = None
    ) -> Approval:
        """Record a human decision; the waiting request replies right away."""
        pending = self._pending.get(approval_id)
        if pending is None and approval_id in self._expired:
            raise ApprovalExpiredError(self._expired[approval_id], approval_id=approval_id)
        if pending is None:
            raise NotFoundError(
                f"No pending approval with id {approval_id!r}; it may have been answered, "
                "timed out, or its turn ended."
            )
        if pending.future.done():
            raise ConflictError("This approval has already been decided.")
        check_answer(pending.approval, decision, extra)
        pending.future.set_result((decision, extra))
        return pending.approval

    def cancel_session(self, session_id: str) -> None:
        """Cancel a session's pending approvals (its turn ended or the server died)."""
        for pending in list(self._pending.values()):
            if pending.approval.session_id == session_id and not pending.future.done():
                pending.future.set_result(("cancel", {"_by": "server"}))
