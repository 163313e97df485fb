"""Jobs are durable: queued jobs survive a Jupyter restart, and a job whose server was
SIGKILLed mid-turn is failed "interrupted" and retried (real server processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from fakes import FakeUpstream, hang, text
from helpers import extension_config, sign_in_cli_target
from server_process import JupyterServerProcess


def wait_job(client: httpx.Client, job_id: str, state: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/codex/api/jobs/{job_id}").json()
        if job["state"] == state:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job stayed {job.get('state')}, wanted {state}: {job}")


def setup(tmp_path: Path, fake: FakeUpstream) -> tuple[Path, dict[str, Any]]:
    data_dir, root = tmp_path / "data", tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    sign_in_cli_target(fake, data_dir)
    return root, extension_config(fake, data_dir)


def test_jobs_survive_a_sigkill_of_the_server(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    """One restart for both properties (server starts are the slow part): a queued job
    runs after it; a running one is failed "interrupted", retried if attempts remain."""
    root, codex = setup(tmp_path, fake_upstream)
    fake_upstream.script("durable job", text("still here"))
    fake_upstream.script("crashy job", hang() + text("lost"), text("recovered"))
    fake_upstream.script("single shot", hang() + text("lost too"))
    server = JupyterServerProcess(root, tmp_path / "cfg", codex).start()
    app_server_pid = None
    try:
        with server.client() as client:
            sid = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
            other = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
            retried = client.post(
                "/codex/api/jobs", json={"session_id": sid, "text": "crashy job", "max_attempts": 2}
            ).json()
            single = client.post(
                "/codex/api/jobs", json={"session_id": other, "text": "single shot"}
            ).json()
            third = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
            r = client.post(
                "/codex/api/jobs",
                json={"session_id": third, "text": "durable job", "not_before": time.time() + 3},
            )
            assert r.status_code == 201, r.text
            durable = r.json()
            fake_upstream.wait_for(lambda f: f.hanging >= 2, timeout=30)
            assert wait_job(client, retried["id"], "running")["attempts"] == 1
            app_server_pid = client.get("/codex/api/status").json()["targets"]["cli"]["pid"]
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
    finally:
        server.stop()
        if app_server_pid:  # its own process group: a killed server cannot take it along
            with contextlib.suppress(ProcessLookupError):
                os.killpg(app_server_pid, signal.SIGKILL)
        fake_upstream.release()

    assert not fake_upstream.responses_requests("durable job")  # it never ran before the kill
    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        done = wait_job(client, durable["id"], "succeeded")
        assert done["result"]["text"] == "still here" and done["attempts"] == 1
        done = wait_job(client, retried["id"], "succeeded")
        assert done["attempts"] == 2 and done["result"]["text"] == "recovered"
        failed = wait_job(client, single["id"], "failed")
        assert failed["error"]["reason"] == "interrupted" and failed["attempts"] == 1
        events = client.get(f"/codex/api/sessions/{sid}/events").json()["events"]
        retrying = [e for e in events if e["type"] == "job.retrying"]
        assert retrying and retrying[0]["data"]["error"]["reason"] == "interrupted"
        other_events = client.get(f"/codex/api/sessions/{other}/events").json()["events"]
        assert [e for e in other_events if e["type"] == "job.failed"]
