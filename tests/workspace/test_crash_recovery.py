"""Crash recovery, live: SIGKILL the real Jupyter server mid-turn and mid-approval (real
codex app-server, fake upstream), restart it on the same data dir, and check that what
the dead server left open is closed, said, and that the session works on."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, exec_command, hang, text
from helpers import Api, extension_config, sign_in_cli_target, turn_completed
from server_process import JupyterServerProcess
from tornado.httpclient import HTTPClientError


def _events(client: httpx.Client, sid: str) -> list[dict[str, Any]]:
    r = client.get(f"/codex/api/sessions/{sid}/events")
    assert r.status_code == 200, r.text
    return r.json()["events"]  # type: ignore[no-any-return]


def _wait(client: httpx.Client, sid: str, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _events(client, sid):
            if predicate(event):
                return event
        time.sleep(0.2)
    raise AssertionError(f"no matching event in {sid}")


def _turns_balanced(events: list[dict[str, Any]]) -> None:
    started = Counter(e["turn_id"] for e in events if e["type"] == "turn.started")
    completed = Counter(e["turn_id"] for e in events if e["type"] == "turn.completed")
    assert started, "no turn started"
    for turn_id, count in started.items():
        assert completed[turn_id] == count, f"turn {turn_id} has no turn.completed: {events}"


def test_jupyter_sigkill_mid_turn_and_mid_approval_closes_both_on_restart(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    data_dir, root = tmp_path / "data", tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    sign_in_cli_target(fake_upstream, data_dir)
    codex = extension_config(fake_upstream, data_dir)
    fake_upstream.script("park here", text("thinking ", chunks=1) + hang())
    fake_upstream.script("ask me", exec_command("touch asked.txt", escalated=True), text("Ok."))
    fake_upstream.script("after restart", text("Back again."))

    server = JupyterServerProcess(root, tmp_path / "cfg", codex).start()
    try:
        with server.client() as client:
            busy = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
            asking = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
            r = client.post(f"/codex/api/sessions/{busy}/messages", json={"text": "park here"})
            assert r.status_code == 202, r.text
            r = client.post(f"/codex/api/sessions/{asking}/messages", json={"text": "ask me"})
            assert r.status_code == 202, r.text
            _wait(client, busy, lambda e: e["type"] == "assistant.delta")
            approval = _wait(client, asking, lambda e: e["type"] == "approval.requested")["data"]
            time.sleep(0.2)  # the event writer commits within 20 ms; leave it room
        server.crash()
    finally:
        server.stop()

    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        for sid in (busy, asking):
            events = _events(client, sid)
            _turns_balanced(events)
            completed = [e for e in events if e["type"] == "turn.completed"][-1]
            assert completed["data"]["status"] == "failed"
            assert completed["data"]["error"]["code"] == "server_restarted"
            errors = [e for e in events if e["type"] == "error"]
            assert errors and errors[-1]["data"]["code"] == "server_restarted"
            assert "send your message again" in errors[-1]["data"]["message"].lower()
            assert errors[-1]["seq"] < completed["seq"]

        # The approval is recorded as expired: an event, its REST state, a 410 on decide.
        resolved = [e["data"] for e in _events(client, asking) if e["type"] == "approval.resolved"]
        assert resolved and resolved[-1]["id"] == approval["id"]
        assert resolved[-1]["by"] == "expired" and resolved[-1]["reason"]
        state = client.get(f"/codex/api/approvals/{approval['id']}")
        assert state.status_code == 200 and state.json()["state"] == "expired", state.text
        decided = client.post(f"/codex/api/approvals/{approval['id']}", json={"decision": "accept"})
        assert decided.status_code == 410, decided.text
        error = decided.json()["error"]
        assert error["code"] == "approval_expired" and "Jupyter server stopped" in error["message"]
        assert client.get("/codex/api/approvals").json()["approvals"] == []
        assert not (root / "proj" / "asked.txt").exists()

        # Both sessions are idle and the next message works.
        for sid in (busy, asking):
            assert client.get(f"/codex/api/sessions/{sid}").json()["state"] == "idle"
        last = _events(client, busy)[-1]["seq"]
        r = client.post(f"/codex/api/sessions/{busy}/messages", json={"text": "after restart"})
        assert r.status_code == 202, r.text
        done = _wait(client, busy, lambda e: e["type"] == "turn.completed" and e["seq"] > last)
        assert done["data"]["status"] == "completed"
        _turns_balanced(_events(client, busy))
        messages = [e for e in _events(client, busy) if e["type"] == "assistant.message"]
        assert messages[-1]["data"]["text"] == "Back again."

    # A third start finds nothing left to close (recovery is idempotent) and remembers
    # the expired approval.
    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        for sid in (busy, asking):
            events = _events(client, sid)
            _turns_balanced(events)
            assert sum(1 for e in events if e["type"] == "error") == 1
        decided = client.post(f"/codex/api/approvals/{approval['id']}", json={"decision": "accept"})
        assert decided.status_code == 410, decided.text
    fake_upstream.release()


async def test_app_server_sigkill_mid_approval_expires_it(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("ask first", exec_command("touch never.txt", escalated=True), text("Ok."))
    fake_upstream.script("then this", text("Still here."))
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "ask first"})
    approval = await api.wait_approval(sid)
    pid = (await api.call("GET", "status"))["targets"]["cli"]["pid"]

    os.kill(pid, signal.SIGKILL)
    resolved = await api.wait_event(
        sid, lambda e: e["type"] == "approval.resolved" and e["data"]["id"] == approval["id"]
    )
    assert resolved["data"]["by"] == "expired"
    assert "app-server" in resolved["data"]["reason"]
    done = await api.wait_event(sid, turn_completed)
    assert done["data"]["error"]["code"] == "app_server_died"
    state = await api.call("GET", "approvals", approval["id"])
    assert state["state"] == "expired"
    with pytest.raises(HTTPClientError) as e:
        await api.call("POST", "approvals", approval["id"], body={"decision": "accept"})
    assert e.value.code == 410
    assert b"approval_expired" in e.value.response.body

    last = (await api.events(sid))[-1]["seq"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "then this"})
    done = await api.wait_event(sid, lambda ev: turn_completed(ev) and ev["seq"] > last)
    assert done["data"]["status"] == "completed"
    assert not (jp_root_dir / "proj" / "never.txt").exists()


def test_a_clean_stop_mid_approval_expires_it_and_the_restart_closes_the_turn(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    data_dir, root = tmp_path / "data", tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    sign_in_cli_target(fake_upstream, data_dir)
    codex = extension_config(fake_upstream, data_dir)
    fake_upstream.script("ask then stop", exec_command("touch x.txt", escalated=True), text("."))
    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        sid = client.post("/codex/api/sessions", json={"cwd": "proj"}).json()["id"]
        r = client.post(f"/codex/api/sessions/{sid}/messages", json={"text": "ask then stop"})
        assert r.status_code == 202, r.text
        approval = _wait(client, sid, lambda e: e["type"] == "approval.requested")["data"]
    # (leaving the block stopped the server with SIGTERM: its shutdown ran)
    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        events = _events(client, sid)
        _turns_balanced(events)
        resolved = [e["data"] for e in events if e["type"] == "approval.resolved"]
        assert resolved[-1]["id"] == approval["id"] and resolved[-1]["by"] == "expired"
        assert "Jupyter server stopped" in resolved[-1]["reason"]
        decided = client.post(f"/codex/api/approvals/{approval['id']}", json={"decision": "accept"})
        assert decided.status_code == 410, decided.text
        assert "no longer be decided" in decided.json()["error"]["message"]
