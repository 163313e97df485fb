"""REST handlers of the job queue (``codex/api/jobs``); thin over :class:`JobQueue`."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import JobCreate
from ..workspace.jobs import public
from .base import CodexAPIHandler

_ID = r"(?P<job_id>[A-Za-z0-9_-]{1,64})"
#: Most jobs one listing returns.
MAX_LIST = 10_000


class _JobsHandler(CodexAPIHandler):
    """Base of the job handlers (``self.jobs`` comes from ``CodexServices``)."""


class JobsHandler(_JobsHandler):
    """Submit a job; list jobs (filters ``state``, ``session_id``, ``limit``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_argument("limit", 1000)
        limit = MAX_LIST if limit <= 0 else min(limit, MAX_LIST)
        jobs = await self.jobs.list_json(
            state=self.get_argument("state", None),
            session_id=self.get_argument("session_id", None),
            limit=limit,
        )
        # Each job is JSON already (built by SQLite): join instead of re-encoding.
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish('{"jobs":[' + ",".join(jobs) + "]}")

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(JobCreate)
        job, created = await self.jobs.submit(body)
        self.write_json(public(job), status=201 if created else 200)


class JobHandler(_JobsHandler):
    """One job."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(public(await self.jobs.get(job_id)))


class JobCancelHandler(_JobsHandler):
    """Cancel a queued job or stop a running one (409 once finished)."""

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        self.write_json(public(await self.jobs.cancel(job_id)))


def job_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the job queue."""
    return [
        (r"codex/api/jobs", JobsHandler),
        (rf"codex/api/jobs/{_ID}", JobHandler),
        (rf"codex/api/jobs/{_ID}/cancel", JobCancelHandler),
    ]


__all__ = ["job_handlers"]
