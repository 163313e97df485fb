"""Idle shutdown with the real codex: the app-server stops after the idle time and the
next message starts it again, resuming the session with its history."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import text
from ops_server import Ops, ops_server

from jupyter_codex.kernel import CodexClient

IDLE = 4.0  # long enough that a loaded machine still sees codex up between two calls


@pytest.fixture(scope="module")
def idle_ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    extra = {"IdleShutdown": {"timeout": IDLE, "check_interval": 0.25}}
    with ops_server(tmp_path_factory.mktemp("idle"), extra) as found:
        yield found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purpose once reaped.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_idle_app_server_stops_and_the_next_message_resumes_the_session(idle_ops: Ops) -> None:
    fake = idle_ops.fake
    fake.script("IDLE-1 remember", text("I will remember the word teapot."))
    fake.script("IDLE-1 recall", text("The word was teapot."))
    with CodexClient(idle_ops.url, idle_ops.server.token) as client:
        session = client.create_session("proj")
        first = client.send_and_wait(session.id, "IDLE-1 remember teapot", timeout=90)
        assert first.status == "completed"
        cli = client.status().targets["cli"]
        pid = cli["pid"]
        assert cli["state"] == "running" and pid and _alive(pid)
        assert cli["idle_shutdown"]["timeout"] == IDLE

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.status().targets["cli"]["state"] != "stopped":
            time.sleep(0.2)
        cli = client.status().targets["cli"]
        assert cli["state"] == "stopped" and cli["pid"] is None
        assert cli["idle_shutdown"]["stopped_idle_at"] is not None
        assert not _alive(pid), "the codex process is gone"

        health = json.loads(idle_ops.cli("system", "health", "--json").stdout)
        assert health["ready"] is True and health["targets"]["cli"]["state"] == "stopped"

        second = client.send_and_wait(session.id, "IDLE-1 recall the word", timeout=90)
        assert second.status == "completed" and second.text == "The word was teapot."
        cli = client.status().targets["cli"]
        assert cli["state"] == "running" and cli["pid"] != pid
        assert cli["idle_shutdown"]["stopped_idle_at"] is None
        events = client.history(session.id)
    request = fake.responses_requests(containing="IDLE-1 recall")[0]
    history = json.dumps(request.body.get("input"))
    assert "IDLE-1 remember teapot" in history and "I will remember the word teapot." in history
    assert [e.type for e in events].count("turn.completed") == 2
