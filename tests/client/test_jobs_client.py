"""``client.jobs`` (sync and async) and ``jupyter codex jobs`` against a real server,
the real codex binary and the fake upstream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fakes import hang, text
from live_server import Live

from jupyter_codex.cli import main
from jupyter_codex.kernel import AsyncCodexClient, CodexClient, ConflictError, TurnTimeoutError


def test_sync_jobs_submit_list_get_wait_cancel(live: Live) -> None:
    live.fake.script("JOBS-1 queued work", text("queued reply"))
    live.fake.script("JOBS-1 long work", hang() + text("never"))
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj")
        job = client.jobs.submit("JOBS-1 queued work", session_id=session.id, max_attempts=2)
        assert job.state == "queued" and job.max_attempts == 2
        done = client.jobs.wait(job.id, timeout=60, poll=0.1)
        assert done.state == "succeeded" and done.result and done.result["text"] == "queued reply"
        assert job.id in [j.id for j in client.jobs.list(session_id=session.id)]
        assert client.jobs.get(job.id).finished_at

        long = client.jobs.submit("JOBS-1 long work", session_id=session.id)
        with pytest.raises(TurnTimeoutError):
            client.jobs.wait(long.id, timeout=0.3, poll=0.1)
        client.jobs.cancel(long.id)
        assert client.jobs.wait(long.id, timeout=30, poll=0.1).state == "cancelled"
        with pytest.raises(ConflictError):
            client.jobs.cancel(long.id)


def test_async_jobs(live: Live) -> None:
    live.fake.script("JOBS-2 async", text("async reply"))

    async def scenario() -> Any:
        async with AsyncCodexClient(live.url, live.token) as client:
            job = await client.jobs.submit("JOBS-2 async", cwd="proj", dedupe_key="jobs-2")
            again = await client.jobs.submit("JOBS-2 async", cwd="proj", dedupe_key="jobs-2")
            assert again.id == job.id
            return await client.jobs.wait(job.id, timeout=60, poll=0.1)

    done = asyncio.run(scenario())
    assert done.state == "succeeded" and done.result["text"] == "async reply"


def test_cli_jobs_commands(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    live.fake.script("JOBS-3 from the cli", text("cli reply"))
    auth = ["--url", live.url, "--token", live.token]
    assert (
        main(["jobs", "submit", "JOBS-3 from the cli", "--cwd", "proj", "--wait", "--json", *auth])
        == 0
    )
    job = json.loads(capsys.readouterr().out)
    assert job["state"] == "succeeded" and job["result"]["text"] == "cli reply"

    assert main(["jobs", "show", job["id"], *auth]) == 0
    shown = capsys.readouterr().out
    assert f"Job {job['id']}: succeeded" in shown and "cli reply" in shown
    assert main(["jobs", "list", "--state", "succeeded", *auth]) == 0
    assert job["id"] in capsys.readouterr().out
    assert main(["jobs", "list", "--json", *auth]) == 0
    assert job["id"] in [j["id"] for j in json.loads(capsys.readouterr().out)]

    # Errors: one readable line, status 1.
    assert main(["jobs", "cancel", job["id"], *auth]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "already finished" in err and "\n" not in err
    assert main(["jobs", "submit", "x", "--session", "nosuch", "--max-attempts", "99", *auth]) == 1
    assert "max_attempts" in capsys.readouterr().err
    assert main(["jobs", "show", "nosuchjob", *auth]) == 1
    assert "No job" in capsys.readouterr().err
