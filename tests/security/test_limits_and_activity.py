"""Administrator limits and defaults, each a documented trait, on a real server:
allowed folders, session count, concurrent turns, event-log size, the proxy switch,
browser sign-in, and the culler keep-alive while a turn runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, hang, text
from helpers import Api, extension_config, sign_in_cli_target, turn_completed
from server_process import free_port
from tornado.httpclient import HTTPClientError
from traitlets.config import Config


@pytest.fixture
def jp_server_config(fake_upstream: FakeUpstream, codex_data_dir: Path) -> Config:
    sign_in_cli_target(fake_upstream, codex_data_dir)
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_codex": True}},
            "CodexExtensionApp": {
                **extension_config(fake_upstream, codex_data_dir),
                "browser_login_port": free_port(),
                "activity_interval": 0.2,
                "proxy_enabled": False,
                "allow_browser_sign_in": False,
            },
            "WorkspaceManager": {
                "approval_timeout": 60.0,
                "max_sessions": 3,
                "max_concurrent_turns": 1,
                "max_events_per_session": 30,
                "allowed_folders": ["projects"],
                "default_approval_policy": "never",
            },
            "AccountRouter": {
                "target_defaults": {
                    "api": {"strategy": "round_robin", "rotation_seconds": 600},
                    "cli": {"threshold_percent": 25},
                }
            },
        }
    )


async def expect(
    api: Api, status: int, code: str, method: str, *path: str, body: Any = None
) -> str:
    with pytest.raises(HTTPClientError) as info:
        await api.call(method, *path, body=body)
    assert info.value.code == status, info.value.response.body
    error = json.loads(info.value.response.body)["error"]
    assert error["code"] == code, error
    return str(error["message"])


async def test_status_tells_clients_the_deployment(api: Api) -> None:
    status = await api.call("GET", "status")
    assert status["hub"] is False and status["demo_mode"] is False and status["banner"] is None
    assert status["default_sign_in"] == "device" and status["sign_in_flows"] == ["device"]
    assert status["proxy_enabled"] is False
    assert status["defaults"]["allowed_folders"] == ["projects"]
    assert status["defaults"]["approval_policy"] == "never"
    assert status["limits"] == {
        "max_sessions": 3,
        "max_concurrent_turns": 1,
        "max_events_per_session": 30,
        "max_body_bytes": 4 * 1024 * 1024,
    }
    message = await expect(
        api, 400, "invalid_request", "POST", "accounts", "login", body={"flow": "browser"}
    )
    assert '"flow": "device"' in message
    # The administrator's target defaults applied to the fresh store.
    targets = {t["name"]: t for t in (await api.call("GET", "targets"))["targets"]}
    assert targets["api"]["strategy"] == "round_robin"
    assert targets["api"]["rotation_seconds"] == 600
    assert targets["cli"]["strategy"] == "manual" and targets["cli"]["threshold_percent"] == 25


async def test_allowed_folders_and_session_count(api: Api, jp_root_dir: Path) -> None:
    for folder in ("projects/a", "other", "projectsX"):
        (jp_root_dir / folder).mkdir(parents=True)
    for folder in ("other", "projectsX", ""):
        message = await expect(
            api, 403, "path_outside_root", "POST", "sessions", body={"cwd": folder}
        )
        assert "'projects'" in message and "administrator" in message
    for folder in ("projects", "projects/a", "./projects/a/"):
        session = await api.call("POST", "sessions", body={"cwd": folder})
        assert session["approval_policy"] == "never"  # the administrator's default
    message = await expect(api, 409, "conflict", "POST", "sessions", body={"cwd": "projects"})
    assert "3 sessions" in message


async def test_concurrent_turn_limit_and_activity_while_a_turn_runs(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream, jp_serverapp: Any
) -> None:
    (jp_root_dir / "projects").mkdir()
    settings = jp_serverapp.web_app.settings
    first = (await api.call("POST", "sessions", body={"cwd": "projects"}))["id"]
    second = (await api.call("POST", "sessions", body={"cwd": "projects"}))["id"]
    assert settings.get("codex_last_activity") is None  # idle: nothing reported

    fake_upstream.script("LONG-TURN", text("working ") + hang())
    await api.call("POST", "sessions", first, "messages", body={"text": "LONG-TURN"})
    await api.wait_event(first, lambda e: e["type"] == "assistant.delta")
    message = await expect(
        api, 429, "too_many_turns", "POST", "sessions", second, "messages", body={"text": "hi"}
    )
    assert "max_concurrent_turns" in message

    # While the turn runs and nobody calls the API, the reporter keeps the server active.
    await asyncio.sleep(0.5)
    stamp = settings["codex_last_activity"]
    await asyncio.sleep(0.6)
    later = settings["codex_last_activity"]
    assert later > stamp and later.tzinfo is not None
    assert jp_serverapp.web_app.last_activity() >= later
    assert dt.datetime.now(dt.timezone.utc) - later < dt.timedelta(seconds=5)

    await api.call("POST", "sessions", first, "stop", body={"force": False})
    await api.wait_event(first, turn_completed, timeout=30)
    idle_stamp = settings["codex_last_activity"]
    await asyncio.sleep(0.8)
    assert settings["codex_last_activity"] == idle_stamp  # idle again: no more reports

    await api.call("POST", "sessions", second, "messages", body={"text": "now me"})
    done = await api.wait_event(second, turn_completed, timeout=30)
    assert done["data"]["status"] == "completed"


async def test_event_log_keeps_the_newest_events(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream, jp_serverapp: Any
) -> None:
    (jp_root_dir / "projects").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "projects"}))["id"]
    words = " ".join(f"w{i}" for i in range(80))
    fake_upstream.script("MANY-EVENTS", text(words, chunks=80))
    await api.call("POST", "sessions", sid, "messages", body={"text": "MANY-EVENTS"})
    await api.wait_event(sid, turn_completed, timeout=30)
    last_seq = (await api.call("GET", "sessions", sid))["last_seq"]
    assert last_seq > 80
    kept = await api.events(sid)
    # Pruned in slices of a tenth of the limit: between 30 and 30 + 3 + one batch remain.
    assert 30 <= len(kept) < 60, len(kept)
    seqs = [e["seq"] for e in kept]
    assert seqs == list(range(seqs[0], last_seq + 1))  # the newest, contiguous, unrenumbered
    assert kept[-1]["type"] == "turn.completed"
    # The session goes on working after pruning.
    await api.call("POST", "sessions", sid, "messages", body={"text": "again"})
    await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > last_seq, timeout=30)


async def test_proxy_can_be_turned_off(
    jp_fetch: Any, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    import anthropic
    import openai

    base = f"http://localhost:{jp_http_port}{jp_base_url}codex"
    token = str(jp_serverapp.identity_provider.token)
    client = openai.AsyncOpenAI(base_url=base + "/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as info:
        await client.models.list()
    assert info.value.code == "proxy_disabled"
    claude = anthropic.AsyncAnthropic(base_url=base + "/claude", api_key=token, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as info2:
        await claude.messages.create(
            model="gpt-5.2-codex", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert info2.value.body["type"] == "error"  # type: ignore[index]
    # Without credentials it is still a plain 401: the switch reveals nothing.
    anonymous = openai.AsyncOpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await anonymous.models.list()


async def test_simultaneous_starts_cannot_overshoot_the_turn_limit(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "projects").mkdir()
    sids = [(await api.call("POST", "sessions", body={"cwd": "projects"}))["id"] for _ in "ab"]
    fake_upstream.script("RACE", text("racing ") + hang())

    async def send(sid: str) -> int:
        try:
            await api.call("POST", "sessions", sid, "messages", body={"text": "RACE"})
        except HTTPClientError as e:
            return e.code
        return 202

    codes = await asyncio.gather(*(send(sid) for sid in sids))
    assert sorted(codes) == [202, 429], codes
    started = sids[codes.index(202)]
    await api.wait_event(started, lambda e: e["type"] == "assistant.delta")
    await api.call("POST", "sessions", started, "stop", body={"force": False})
    await api.wait_event(started, turn_completed, timeout=30)
