"""Built-in extension ``retry_on_limit``: a turn that failed on a usage limit runs
again, as a job, once an account is available.

It watches the event stream (``read_events``). When a person's turn ends
``failed`` with ``usageLimitExceeded``, it remembers the session and the message;
when an account becomes available (``account.switched`` to an account, or
``account.changed``), it submits that message as a job (``submit_jobs``) in the
same session, deduplicated on the failed turn, to start ``settle_seconds`` (config,
default 3) later: the target signs codex in with the new account right after the
switch, and a turn started before that would not use it. Jobs' own turns are left
to the queue, which already waits out usage limits.
"""

from __future__ import annotations

import time
from typing import Any

from .facade import ExtensionFacade

LIMIT_CODES = frozenset({"usageLimitExceeded", "usage_limit_reached"})
_LIVE_JOB = ("job.queued", "job.started", "job.retrying")
_DONE_JOB = ("job.succeeded", "job.failed", "job.cancelled")


class RetryOnLimit:
    """Requeues usage-limited turns when an account is available."""

    capabilities = ("read_events", "submit_jobs")

    async def run(self, ext: ExtensionFacade) -> None:
        settle = float(ext.config.get("settle_seconds", 3.0))
        last_text: dict[str, str] = {}
        live_jobs: dict[str, set[str]] = {}
        turn_started: dict[str, float] = {}
        switched_at = 0.0  # when an account last became available
        waiting: dict[str, tuple[str, str]] = {}  # session -> (text, failed turn id)
        async for event in ext.events():
            kind, sid = event.get("type"), event.get("session_id")
            data: dict[str, Any] = event.get("data") or {}
            if kind == "turn.started" and sid:
                turn_started[sid] = float(event.get("time") or 0)
            elif kind == "user.message" and sid:
                last_text[sid] = str(data.get("text") or "")
            elif kind in _LIVE_JOB and sid:
                live_jobs.setdefault(sid, set()).add(str(data.get("id")))
            elif kind in _DONE_JOB and sid:
                live_jobs.get(sid, set()).discard(str(data.get("id")))
            elif kind == "turn.completed" and sid and self._limited(data):
                if not live_jobs.get(sid) and last_text.get(sid):
                    waiting[sid] = (last_text[sid], str(event.get("turn_id")))
                    ext.log.info("retry_on_limit: session %s waits for an account", sid)
                    if switched_at >= turn_started.get(sid, 0):
                        # The router already moved on while the turn failed.
                        await self._submit(ext, waiting, settle)
            elif self._account_available(kind, data):
                switched_at = float(event.get("time") or time.time())
                await self._submit(ext, waiting, settle)

    @staticmethod
    async def _submit(
        ext: ExtensionFacade, waiting: dict[str, tuple[str, str]], settle: float
    ) -> None:
        for session_id, (text, turn_id) in list(waiting.items()):
            await ext.submit_job(
                text,
                session_id=session_id,
                dedupe_key=f"retry_on_limit:{turn_id}",
                not_before=time.time() + settle,
            )
        waiting.clear()

    @staticmethod
    def _limited(data: dict[str, Any]) -> bool:
        return (
            data.get("status") == "failed" and (data.get("error") or {}).get("code") in LIMIT_CODES
        )

    @staticmethod
    def _account_available(kind: Any, data: dict[str, Any]) -> bool:
        if kind == "account.switched":
            return bool(data.get("to"))
        return kind == "account.changed" and data.get("kind") in ("added", "updated")


__all__ = ["RetryOnLimit"]
