"""Slash commands, skills, rename/archive/delete, with the real app-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, text
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError


async def test_status_model_new_and_unknown_commands(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "proj").mkdir()
    session = await api.call("POST", "sessions", body={"cwd": "proj", "effort": "low"})
    sid = session["id"]

    status = await api.call("POST", "sessions", sid, "messages", body={"text": "/status"})
    assert status["command"] == "status"
    info = status["status"]
    assert info["cwd"] == "proj" and info["effort"] == "low"
    assert info["account"]["type"] == "chatgpt"  # read from the live app-server
    assert info["app_server"]["state"] == "running"
    events = await api.events(sid)
    assert events[-1]["type"] == "status" and events[-1]["data"]["cwd"] == "proj"

    shown = await api.call("POST", "sessions", sid, "messages", body={"text": "/model"})
    assert shown["command"] == "model" and isinstance(shown["models"], list)
    changed = await api.call(
        "POST", "sessions", sid, "messages", body={"text": "/model my-model high"}
    )
    assert (changed["model"], changed["effort"]) == ("my-model", "high")
    assert (await api.call("GET", "sessions", sid))["model"] == "my-model"
    with pytest.raises(HTTPClientError) as info_err:
        await api.call("POST", "sessions", sid, "messages", body={"text": "/model a b c"})
    assert info_err.value.code == 400

    new = await api.call("POST", "sessions", sid, "messages", body={"text": "/new Second try"})
    assert new["session"]["id"] != sid and new["session"]["title"] == "Second try"
    assert new["session"]["cwd"] == "proj" and new["session"]["model"] == "my-model"

    with pytest.raises(HTTPClientError) as unknown:
        await api.call("POST", "sessions", sid, "messages", body={"text": "/frobnicate"})
    body = json.loads(unknown.value.response.body)
    assert unknown.value.code == 400 and "/status" in body["error"]["message"]


async def test_review_runs_a_turn_and_paths_are_not_commands(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    review = await api.call(
        "POST", "sessions", sid, "messages", body={"text": "/review focus on tests"}
    )
    assert review["command"] == "review" and review["turn_id"]
    await api.wait_event(sid, turn_completed)
    assert "focus on tests" in json.dumps(fake_upstream.responses_requests()[-1].body)

    fake_upstream.script("/usr/bin", text("A path, not a command."))
    answer = await api.call("POST", "sessions", sid, "messages", body={"text": "/usr/bin is odd"})
    assert "command" not in answer and answer["turn_id"]


async def test_skills_are_listed_and_dollar_refs_become_skill_inputs(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    skill_dir = jp_root_dir / "proj" / ".codex" / "skills" / "tidy-data"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text(
        "---\nname: tidy-data\ndescription: Tidy a data frame.\n---\n\nMelt wide tables.\n"
    )
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    skills = (await api.call("GET", "sessions", sid, "skills"))["skills"]
    names = [s["name"] for s in skills]
    assert "tidy-data" in names, names

    await api.call("POST", "sessions", sid, "messages", body={"text": "use $tidy-data please"})
    await api.wait_event(sid, turn_completed)
    request = json.dumps(fake_upstream.responses_requests()[-1].body)
    assert "Melt wide tables" in request  # codex injected the skill's instructions


async def test_rename_archive_and_delete(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj", "title": "First"}))["id"]
    renamed = await api.call("PATCH", "sessions", sid, body={"title": "Renamed"})
    assert renamed["title"] == "Renamed"
    await api.call("PATCH", "sessions", sid, body={"archived": True})
    assert (await api.call("GET", "sessions"))["sessions"] == []
    archived = (await api.call("GET", "sessions", archived="true"))["sessions"]
    assert [s["id"] for s in archived] == [sid] and archived[0]["archived"] is True
    types = [e["type"] for e in await api.events(sid)]
    assert types.count("session.updated") == 2

    await api.call("DELETE", "sessions", sid)
    with pytest.raises(HTTPClientError) as gone:
        await api.call("GET", "sessions", sid)
    assert gone.value.code == 404


async def test_session_restarted_before_its_first_message_still_works(
    api: Api, jp_root_dir: Path, jp_serverapp: Any, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "fresh").mkdir()
    session = await api.call("POST", "sessions", body={"cwd": "fresh"})
    old_thread = session["thread_id"]
    # The app-server restarts before the thread ever ran a turn (codex saved nothing).
    await jp_serverapp.web_app.settings["codex_app"].app_servers["cli"].restart(reason="test")
    fake_upstream.script("first words", text("Still here."))
    await api.call("POST", "sessions", session["id"], "messages", body={"text": "first words"})
    done = await api.wait_event(session["id"], turn_completed)
    assert done["data"]["status"] == "completed"
    reply = [e for e in await api.events(session["id"]) if e["type"] == "assistant.message"]
    assert reply[-1]["data"]["text"] == "Still here."
    assert (await api.call("GET", "sessions", session["id"]))["thread_id"] != old_thread
