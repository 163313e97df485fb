"""The model service goes away mid-turn (real codex, the fake upstream stopped): the
session says so within seconds, with the cause and the retry plan, and Stop ends it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, hang, text
from helpers import Api, extension_config, sign_in_cli_target
from server_process import free_port
from traitlets.config import Config


@pytest.fixture
def jp_server_config(fake_upstream: FakeUpstream, codex_data_dir: Path) -> Config:
    """As tests/conftest.py, with codex's own retries on (the tests' provider turns them
    off; the built-in provider retries 4-5 times, then waits for the network)."""
    sign_in_cli_target(fake_upstream, codex_data_dir)
    codex = extension_config(fake_upstream, codex_data_dir)
    codex["codex_config_overrides"] = {
        **codex["codex_config_overrides"],
        "model_providers.fake.stream_max_retries": 2,
        "model_providers.fake.request_max_retries": 2,
    }
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_codex": True}},
            "CodexExtensionApp": {**codex, "browser_login_port": free_port()},
        }
    )


async def test_upstream_killed_mid_turn_gives_an_error_with_cause_and_plan_and_stop_ends_it(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    fake_upstream.script("stay a while", text("thinking ", chunks=1) + hang())
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "stay a while"})
    await api.wait_event(sid, lambda e: e["type"] == "assistant.delta")
    before = (await api.events(sid))[-1]["seq"]

    killed = time.monotonic()
    fake_upstream.stop()  # the service is gone: its streams are cut, its port closed
    error = await api.wait_event(
        sid, lambda e: e["type"] == "error" and e["seq"] > before, timeout=10
    )
    assert time.monotonic() - killed < 10
    data = error["data"]
    assert data["will_retry"] is True and data["retry"], data  # the plan, in words
    assert "Stop" in data["retry"]
    assert data["details"] or data["message"]  # the cause
    assert (await api.call("GET", "sessions", sid))["state"] == "running"

    # The upstream stays down: codex moves on to waiting for the network, and says so.
    waiting = await api.wait_event(
        sid,
        lambda e: e["type"] == "error" and "network" in (e["data"]["message"] or ""),
        timeout=20,
    )
    assert "until the connection comes back" in waiting["data"]["retry"]
    assert "error sending request" in (waiting["data"]["details"] or "")

    # Stop always works, also while codex waits for the network.
    stopped = time.monotonic()
    await api.call("POST", "sessions", sid, "stop", body={})
    done = await api.wait_event(
        sid, lambda e: e["type"] == "turn.completed" and e["seq"] > before, timeout=10
    )
    assert time.monotonic() - stopped < 10
    assert done["data"]["status"] == "interrupted"
    assert (await api.call("GET", "sessions", sid))["state"] == "idle"


async def test_a_stalled_stream_gets_a_warning_and_stop_ends_it(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream, jp_serverapp: Any
) -> None:
    """The upstream keeps the stream open and sends nothing (codex would wait 5 min)."""
    workspace = jp_serverapp.web_app.settings["codex_workspace"]
    workspace.turn_silence_warning = 1.5
    (jp_root_dir / "proj").mkdir()
    fake_upstream.script("stall now", hang())
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "stall now"})
    started = await api.wait_event(sid, lambda e: e["type"] == "turn.started")
    warning = await api.wait_event(
        sid, lambda e: e["type"] == "warning" and e["data"].get("code") == "turn_silent"
    )
    assert warning["data"]["source"] == "workspace" and "Stop" in warning["data"]["message"]
    assert warning["time"] - started["time"] < 10
    await asyncio.sleep(2.0)  # still silent: no second warning for the same silence
    events = await api.events(sid)
    assert sum(1 for e in events if e["data"].get("code") == "turn_silent") == 1
    await api.call("POST", "sessions", sid, "stop", body={})
    done = await api.wait_event(sid, lambda e: e["type"] == "turn.completed")
    assert done["data"]["status"] == "interrupted"
    fake_upstream.release()
