"""The durable job queue: turns that run later, in order, and again when they fail.

A job is a row in SQLite (:class:`~jupyter_codex.store.jobs.JobRepository`) and,
while it may still run, an entry in memory. One dispatcher task starts the
oldest queued job of every idle session, within the workspace's
``max_concurrent_turns``. It drives the workspace only through its public
surface: ``send_message``, ``stop_turn``, ``is_running``, ``running_turns`` and the
event stream, which tells it when a turn ends (``turn.completed``) and what it
answered. Lifecycle events (``job.*``) go to the session's log, so every
subscriber of the session and of ``"*"`` sees them.

A job that was running when the server stopped (a crash, a kill) is found at
start-up in state ``running``: it is failed with reason ``interrupted`` and
queued again if attempts remain.

Why this module is long: the job state machine -- submit, dispatch, run, retry,
cancel, recover -- reads best in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from ..errors import (
    CodexError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    TooManyTurnsError,
)
from ..models import Job, JobCreate, Session, SessionCreate
from ..store import Database
from ..store.jobs import LIVE_STATES, JobRepository
from ..tasks import TaskOwner, within
from .eventlog import ALL_SESSIONS
from .manager import SYSTEM_CHANNEL

#: ``turn.completed`` error codes that mean "no quota now": wait, do not burn an attempt.
USAGE_LIMIT_CODES = frozenset({"usageLimitExceeded", "usage_limit_reached"})
#: System events after which a job waiting for quota may try again at once.
ACCOUNT_EVENTS = ("account.switched", "account.changed")


class EventAppender(Protocol):
    def append(
        self, session_id: str, type: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


class Workspace(Protocol):
    """What the queue needs of :class:`~jupyter_codex.workspace.WorkspaceManager`."""

    max_concurrent_turns: int

    @property
    def events(self) -> Any: ...

    async def send_message(
        self, session_id: str, text: str, images: list[str] | None = None
    ) -> dict[str, Any]: ...
    async def stop_turn(self, session_id: str, *, force: bool = False) -> dict[str, Any]: ...
    async def get_session(self, session_id: str) -> Session: ...
    async def create_session(self, body: SessionCreate, *, owner: str | None = None) -> Session: ...
    def is_running(self, session_id: str) -> bool: ...
    def running_turns(self) -> int: ...
    def check_images(self, session_id: str, image_ids: list[str]) -> None: ...
    def subscribe(self, session_id: str, subscriber: Any) -> Any: ...


@dataclass
class _Run:
    """A job between its start and the end of its turn (in memory only)."""

    job: Job
    done: asyncio.Future[dict[str, Any]]
    sent: bool = False
    cancel_requested: bool = False
    turn_id: str | None = None
    text: str | None = None
    usage: dict[str, Any] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class JobQueue(LoggingConfigurable):
    """Stores jobs, runs them one at a time per session, retries and cancels them."""

    max_attempts_limit = Int(
        10, config=True, help="Largest accepted max_attempts of a job (default 10)."
    )
    retry_backoff = Float(
        2.0,
        config=True,
        help="Seconds before the first retry of a failed job; doubled for each further "
        "attempt, up to max_retry_backoff.",
    )
    max_retry_backoff = Float(300.0, config=True, help="Longest wait between two attempts.")
    usage_limit_wait = Float(
        300.0,
        config=True,
        help="Seconds a job whose turn hit a usage limit waits before trying again "
        "(an account switch or change wakes it earlier). Such a try does not count as "
        "an attempt.",
    )
    max_delay_days = Float(
        366.0, config=True, help="not_before further ahead than this many days is refused."
    )

    def __init__(self, *, workspace: Workspace, database: Database, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.repo = JobRepository(database)
        self._live: dict[str, Job] = {}  # queued and running jobs, in submission order
        self._runs: dict[str, _Run] = {}  # session id -> its running job
        self._wake = asyncio.Event()
        self._submit_lock = asyncio.Lock()
        # The dispatcher and one task per running job; stop() cancels and awaits them.
        self._tasks = TaskOwner("codex-jobs", self.log)
        self._unsubscribe: Any = None

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Load live jobs (failing those a dead server left running) and start dispatching."""
        now = time.time()
        for job in await self.repo.list(states=LIVE_STATES, newest_first=False):
            try:
                await self.workspace.get_session(job.session_id)
            except NotFoundError as e:
                await self._fail_orphan(job, e.message)
                continue
            if job.state == "running":
                job.error = {
                    "reason": "interrupted",
                    "message": "The server stopped while this job's turn ran.",
                }
                if job.attempts < job.max_attempts:
                    job.state, job.next_attempt_at = "queued", now
                    await self._save_and_emit(job, "retrying", delay=0.0)
                else:
                    job.state, job.finished_at = "failed", now
                    await self._save_and_emit(job, "failed")
                    continue
            self._live[job.id] = job
        self._unsubscribe = self.workspace.subscribe(ALL_SESSIONS, self._on_event)
        self._tasks.start_soon(self._dispatch_forever, name="codex-jobs")

    async def stop(self) -> None:
        """Stop dispatching. Running jobs stay ``running`` in the store: their turns die
        with the app-server, and the next start finds them interrupted."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._tasks.aclose()

    # -- public API ----------------------------------------------------------

    async def submit(self, body: JobCreate, *, submitted_by: str | None = None) -> tuple[Job, bool]:
        """Queue a job; ``(job, created)``. A live job with the same ``dedupe_key`` is
        returned instead of a new one (``created`` False)."""
        now = time.time()
        if not 1 <= body.max_attempts <= self.max_attempts_limit:
            raise InvalidRequestError(
                f"max_attempts must be between 1 and {self.max_attempts_limit}; "
                f"got {body.max_attempts}."
            )
        next_at = None
        if body.not_before is not None:
            horizon = now + self.max_delay_days * 86400
            if not math.isfinite(body.not_before) or body.not_before > horizon:
                raise InvalidRequestError(
                    "not_before must be a Unix time (seconds) at most "
                    f"{self.max_delay_days:g} days ahead; got {body.not_before}."
                )
            next_at = body.not_before if body.not_before > now else None
        async with self._submit_lock:
            if body.dedupe_key is not None:
                for live in self._live.values():
                    if live.dedupe_key == body.dedupe_key:
                        return live, False
            session_id = await self._session_for(body, submitted_by)
            if body.images:
                if body.session_id is None:
                    raise InvalidRequestError(
                        "images need a session_id: upload them to that session first "
                        "(POST codex/api/sessions/{id}/images)."
                    )
                self.workspace.check_images(session_id, body.images)
            job = Job(
                id=uuid.uuid4().hex,
                session_id=session_id,
                text=body.text,
                state="queued",
                max_attempts=body.max_attempts,
                dedupe_key=body.dedupe_key,
                not_before=body.not_before,
                next_attempt_at=next_at,
                created_at=now,
                submitted_by=submitted_by,
                images=body.images or None,
            )
            await self.repo.insert(job)
            self._live[job.id] = job
        self._emit(job, "queued")
        self._wake.set()
        return job, True

    async def send_or_queue(
        self, session_id: str, text: str, images: list[str] | None = None
    ) -> dict[str, Any]:
        """``when_busy: "queue"``: start the turn now if the session is idle and has no
        queued job (so order holds), else queue it (also when the server is at
        ``max_concurrent_turns``); ``{"turn_id"}`` or ``{"job_id"}``."""
        if not self.workspace.is_running(session_id) and not self.has_live(session_id):
            with contextlib.suppress(ConflictError, TooManyTurnsError):
                return await self.workspace.send_message(session_id, text, images)
        job, _ = await self.submit(JobCreate(text=text, session_id=session_id, images=images))
        return {"job_id": job.id}

    async def get(self, job_id: str) -> Job:
        """One job (404 if unknown)."""
        return self._live.get(job_id) or await self.repo.get(job_id)

    async def list_json(
        self, *, state: str | None = None, session_id: str | None = None, limit: int = 0
    ) -> list[str]:
        """Stored jobs, newest first, as JSON texts (the REST listing)."""
        if state is not None and state not in ("queued", "running", *FINISHED):
            raise InvalidRequestError(
                f"Unknown job state {state!r}; use one of queued, running, " + ", ".join(FINISHED)
            )
        return await self.repo.list_json(
            states=(state,) if state else (), session_id=session_id, limit=limit
        )

    def has_live(self, session_id: str) -> bool:
        """Whether the session has a queued or running job."""
        return any(j.session_id == session_id for j in self._live.values())

    async def cancel(self, job_id: str, *, wait: float = 10.0) -> Job:
        """Cancel a queued job, or stop a running job's turn (409 once it finished)."""
        job = await self.get(job_id)
        if job.state not in LIVE_STATES:
            raise ConflictError(f"Job {job_id} already finished ({job.state}); nothing to cancel.")
        run = self._runs.get(job.session_id)
        if run is None or run.job.id != job_id:
            job.state, job.finished_at = "cancelled", time.time()
            self._live.pop(job_id, None)
            await self._save_and_emit(job, "cancelled")
            self._wake.set()
            return job
        run.cancel_requested = True
        if run.sent and run.turn_id is not None:
            with contextlib.suppress(CodexError):
                await self.workspace.stop_turn(job.session_id)
        with contextlib.suppress(asyncio.TimeoutError):
            await within(run.finished.wait(), wait)
        return job

    # -- dispatching ---------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            self._wake.clear()
            delay = self._dispatch()
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self._wake.wait(), delay)

    def _dispatch(self) -> float | None:
        """Start what can start now; seconds until a waiting job is due (None: none)."""
        now = time.time()
        due: float | None = None
        heads: dict[str, Job] = {}
        for job in self._live.values():
            heads.setdefault(job.session_id, job)
        limit = self.workspace.max_concurrent_turns
        for session_id, job in heads.items():
            if session_id in self._runs or job.state != "queued":
                continue
            if job.next_attempt_at is not None and job.next_attempt_at > now:
                wait = job.next_attempt_at - now
                due = wait if due is None else min(due, wait)
                continue
            if self.workspace.is_running(session_id):
                continue  # a person's turn: its turn.completed wakes us
            reserved = sum(1 for r in self._runs.values() if not r.sent)
            if limit and self.workspace.running_turns() + reserved >= limit:
                break  # any turn.completed wakes us
            run = _Run(job=job, done=asyncio.get_running_loop().create_future())
            self._runs[session_id] = run
            self._tasks.start_soon(self._run, run, name=f"codex-job-{job.id}")
        return due

    async def _run(self, run: _Run) -> None:
        job = run.job
        try:
            await self._run_once(run)
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken job must not stop the queue
            self.log.exception("Job %s failed unexpectedly", job.id)
            await self._finish_attempt(
                job, {"reason": "internal_error", "message": "See the server log."}
            )
        finally:
            if self._runs.get(job.session_id) is run:
                del self._runs[job.session_id]
            run.finished.set()
            self._wake.set()

    async def _run_once(self, run: _Run) -> None:
        job = run.job
        try:
            answer = await self.workspace.send_message(job.session_id, job.text, job.images)
        except (ConflictError, TooManyTurnsError):
            return  # someone else's turn got there first; it stays queued
        except NotFoundError as e:
            await self._fail_orphan(job, e.message)
            return
        except CodexError as e:
            job.attempts += 1
            job.started_at = time.time()
            await self._finish_attempt(job, {"reason": "start_failed", "message": e.message})
            return
        run.sent = True
        run.turn_id = answer.get("turn_id")
        job.state, job.started_at = "running", time.time()
        job.attempts += 1
        await self._save_and_emit(job, "started", turn_id=run.turn_id)
        if run.turn_id is None:  # a slash command: done when it answered
            await self._succeed(job, {"turn_id": None, "text": None, "usage": None, **answer})
            return
        if run.cancel_requested:
            with contextlib.suppress(CodexError):
                await self.workspace.stop_turn(job.session_id)
        completed = await run.done
        data = completed.get("data") or {}
        status = data.get("status")
        if status == "completed":
            await self._succeed(job, {"turn_id": run.turn_id, "text": run.text, "usage": run.usage})
        elif run.cancel_requested or status == "interrupted":
            job.state, job.finished_at = "cancelled", time.time()
            if not run.cancel_requested:
                job.error = {"reason": "stopped", "message": "The turn was stopped."}
            self._live.pop(job.id, None)
            await self._save_and_emit(job, "cancelled")
        else:
            error = data.get("error") or {}
            code = error.get("code")
            reason = "usage_limit" if code in USAGE_LIMIT_CODES else "turn_failed"
            await self._finish_attempt(
                job,
                {
                    "reason": reason,
                    "message": error.get("message") or f"The turn ended {status}.",
                    "code": code,
                    "turn_id": run.turn_id,
                },
            )

    async def _succeed(self, job: Job, result: dict[str, Any]) -> None:
        job.state, job.finished_at, job.result, job.error = "succeeded", time.time(), result, None
        self._live.pop(job.id, None)
        await self._save_and_emit(job, "succeeded")

    async def _finish_attempt(self, job: Job, error: dict[str, Any]) -> None:
        """After a failed attempt: queue again with backoff, wait for quota, or fail."""
        job.error = error
        now = time.time()
        if error["reason"] == "usage_limit":
            job.attempts -= 1  # no quota is not the job's fault
            job.state, job.next_attempt_at = "queued", now + self.usage_limit_wait
            await self._save_and_emit(job, "retrying", delay=self.usage_limit_wait)
        elif job.attempts < job.max_attempts:
            delay = min(self.max_retry_backoff, self.retry_backoff * 2 ** (job.attempts - 1))
            job.state, job.next_attempt_at = "queued", now + delay
            await self._save_and_emit(job, "retrying", delay=delay)
        else:
            job.state, job.finished_at = "failed", now
            self._live.pop(job.id, None)
            await self._save_and_emit(job, "failed")

    # -- the event stream ----------------------------------------------------

    def _on_event(self, session_id: str, body: str) -> None:
        """Every workspace event (``"*"``): wake on a finished turn, collect a running
        job's answer, wake quota waiters on an account switch."""
        if session_id == SYSTEM_CHANNEL:
            if json.loads(body).get("type") in ACCOUNT_EVENTS:  # rare: parse them
                self._retry_usage_limited()
            return
        if '"type":"turn.completed"' in body:
            self._wake.set()
        run = self._runs.get(session_id)
        if run is None:
            return
        if not any(
            f'"type":"{t}"' in body for t in ("turn.completed", "assistant.message", "token_usage")
        ):
            return
        event = json.loads(body)
        kind, data = event.get("type"), event.get("data") or {}
        if kind == "assistant.message":
            run.text = data.get("text", run.text)
        elif kind == "token_usage":
            run.usage = data.get("last") or data
        elif kind == "turn.completed" and not run.done.done():
            # Before turn/start answered, the turn id is unknown: the session was idle,
            # so the first turn.completed is this job's.
            run.done.set_result(event)

    def _retry_usage_limited(self) -> None:
        now = time.time()
        for job in self._live.values():
            if job.state == "queued" and (job.error or {}).get("reason") == "usage_limit":
                job.next_attempt_at = now
        self._wake.set()

    # -- helpers -------------------------------------------------------------

    async def _session_for(self, body: JobCreate, submitted_by: str | None) -> str:
        if body.session_id is not None:
            return (await self.workspace.get_session(body.session_id)).id
        if body.cwd is None:
            raise InvalidRequestError("Give a session_id, or a cwd for a new session.")
        # An extension's jobs get a system-owned session, hidden from the default list.
        session = await self.workspace.create_session(
            SessionCreate(cwd=body.cwd), owner=submitted_by
        )
        return session.id

    async def _fail_orphan(self, job: Job, message: str) -> None:
        """Fail a job whose session was deleted (no session log to tell)."""
        job.error = {"reason": "session_gone", "message": message}
        job.state, job.finished_at = "failed", time.time()
        self._live.pop(job.id, None)
        await self.repo.save(job)

    async def _save_and_emit(self, job: Job, kind: str, **extra: Any) -> None:
        await self.repo.save(job)
        self._emit(job, kind, **extra)

    def _emit(self, job: Job, kind: str, **extra: Any) -> None:
        self.workspace.events.append(job.session_id, f"job.{kind}", {**public(job), **extra})


FINISHED = ("succeeded", "failed", "cancelled")


def public(job: Job) -> dict[str, Any]:
    """A job as the REST API and the events show it."""
    return job.model_dump()


__all__ = ["FINISHED", "JobQueue", "public"]
