"""``client.jobs``: the durable job queue (``codex/api/jobs``) from Python.

:class:`AsyncJobs` is the implementation; :class:`Jobs` is its blocking flavour
on the sync client's loop thread. Both speak only the public REST API.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..errors import TurnTimeoutError
from ..models import Job
from ._http import HttpTransport
from ._portal import Portal

#: States after which a job never changes again.
FINISHED = frozenset({"succeeded", "failed", "cancelled"})


class AsyncJobs:
    """Submit, list, read, cancel and wait for jobs (``await client.jobs.submit(...)``)."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    async def submit(
        self,
        text: str,
        *,
        session_id: str | None = None,
        cwd: str | None = None,
        dedupe_key: str | None = None,
        max_attempts: int = 1,
        not_before: float | None = None,
    ) -> Job:
        """Queue ``text`` for a session (or a new one in ``cwd``). A live job with the
        same ``dedupe_key`` is returned instead of a new one."""
        body: dict[str, Any] = {"text": text, "max_attempts": max_attempts}
        for key, value in (
            ("session_id", session_id),
            ("cwd", cwd),
            ("dedupe_key", dedupe_key),
            ("not_before", not_before),
        ):
            if value is not None:
                body[key] = value
        return Job.model_validate(await self._http.request("POST", "jobs", body=body))

    async def list(
        self, *, state: str | None = None, session_id: str | None = None, limit: int | None = None
    ) -> list[Job]:
        """Jobs, newest first, optionally of one state and/or session."""
        params = {
            k: v
            for k, v in (("state", state), ("session_id", session_id), ("limit", limit))
            if v is not None
        }
        answer = await self._http.request("GET", "jobs", params=params)
        return [Job.model_validate(j) for j in answer["jobs"]]

    async def get(self, job_id: str) -> Job:
        """One job."""
        return Job.model_validate(await self._http.request("GET", f"jobs/{job_id}"))

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued job or stop a running one (``ConflictError`` once finished)."""
        return Job.model_validate(await self._http.request("POST", f"jobs/{job_id}/cancel"))

    async def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.5) -> Job:
        """Wait until the job succeeded, failed or was cancelled; ``TurnTimeoutError``
        after ``timeout`` seconds (the job keeps going)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = await self.get(job_id)
            if job.state in FINISHED:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TurnTimeoutError(
                    f"Job {job_id} is still {job.state} after {timeout:g} s; it keeps going."
                )
            await asyncio.sleep(poll)


class Jobs:
    """Blocking ``client.jobs`` of :class:`~jupyter_codex.kernel.CodexClient`."""

    def __init__(self, portal: Portal, jobs: AsyncJobs) -> None:
        self._portal = portal
        self._jobs = jobs

    def submit(self, text: str, **kwargs: Any) -> Job:
        """See :meth:`AsyncJobs.submit`."""
        return self._portal.call(self._jobs.submit(text, **kwargs))

    def list(self, **kwargs: Any) -> list[Job]:
        """See :meth:`AsyncJobs.list`."""
        return self._portal.call(self._jobs.list(**kwargs))

    def get(self, job_id: str) -> Job:
        """See :meth:`AsyncJobs.get`."""
        return self._portal.call(self._jobs.get(job_id))

    def cancel(self, job_id: str) -> Job:
        """See :meth:`AsyncJobs.cancel`."""
        return self._portal.call(self._jobs.cancel(job_id))

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.5) -> Job:
        """See :meth:`AsyncJobs.wait`."""
        return self._portal.call(self._jobs.wait(job_id, timeout, poll))


__all__ = ["FINISHED", "AsyncJobs", "Jobs"]
