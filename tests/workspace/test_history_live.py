"""Steer, compact, fork and undo through REST with the real app-server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fakes import FakeUpstream, apply_patch, hang, text
from helpers import Api
from tornado.httpclient import HTTPClientError


async def _session(api: Api, root: Path) -> str:
    (root / "proj").mkdir(exist_ok=True)
    return str((await api.call("POST", "sessions", body={"cwd": "proj"}))["id"])


async def _turns_done(api: Api, sid: str, n: int, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        done = [e for e in await api.events(sid) if e["type"] == "turn.completed"]
        if len(done) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{n} turns did not complete")


async def _status(api: Api, *path: str, body: object = None) -> int:
    try:
        await api.call("POST", *path, body=body)
    except HTTPClientError as e:
        return int(e.code)
    return 200


async def test_steer_reaches_the_running_turn(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("STEER-ME", hang() + text("first"), text("steered reply"))
    sid = await _session(api, jp_root_dir)
    assert await _status(api, "sessions", sid, "steer", body={"text": "x"}) == 409
    await api.call("POST", "sessions", sid, "messages", body={"text": "STEER-ME go"})
    await asyncio.to_thread(fake_upstream.wait_for, lambda f: f.hanging, 30)
    answer = await api.call(
        "POST", "sessions", sid, "steer", body={"text": "STEERED: use blue instead"}
    )
    assert answer["steered"] is True and answer["turn_id"]
    fake_upstream.release()
    await _turns_done(api, sid, 1)
    last = fake_upstream.responses_requests("STEER-ME")[-1]
    assert "STEERED: use blue instead" in json.dumps(last.body)
    turns = {e["turn_id"] for e in await api.events(sid) if e["type"] == "turn.started"}
    assert turns == {answer["turn_id"]}  # no new turn: the running one took it


async def test_compact_fork_and_undo(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("HIST-1", text("remembered"))
    fake_upstream.script(
        "HIST-MAKE",
        apply_patch("*** Begin Patch\n*** Add File: made.txt\n+hello\n*** End Patch"),
        text("made it"),
    )
    fake_upstream.script("HIST-AFTER", text("after undo"))
    fake_upstream.script("HIST-FORK", text("in the fork"))
    sid = await _session(api, jp_root_dir)
    assert await _status(api, "sessions", sid, "undo") == 409  # nothing to undo yet
    await api.call("POST", "sessions", sid, "messages", body={"text": "HIST-1 remember"})
    await _turns_done(api, sid, 1)

    # Compact: a turn of its own that asks the model for a summary.
    answer = await api.call("POST", "sessions", sid, "compact")
    assert answer == {"compacting": True}
    await _turns_done(api, sid, 2)
    assert any(
        "CONTEXT CHECKPOINT COMPACTION" in json.dumps(r.body)
        for r in fake_upstream.responses_requests("HIST-1")
    )

    # Undo: the file the last turn created is gone, and so is the turn from the history.
    await api.call("POST", "sessions", sid, "messages", body={"text": "HIST-MAKE a file"})
    await _turns_done(api, sid, 3)
    made = jp_root_dir / "proj" / "made.txt"
    assert made.read_text() == "hello\n"
    made.write_text("edited by hand\n")  # changed since: nothing is touched, 409
    assert await _status(api, "sessions", sid, "undo") == 409
    assert made.read_text() == "edited by hand\n"
    made.write_text("hello\n")
    undone = await api.call("POST", "sessions", sid, "undo")
    assert undone["files"] == ["made.txt"] and not made.exists()
    assert await _status(api, "sessions", sid, "undo") == 409  # undone already
    await api.call("POST", "sessions", sid, "messages", body={"text": "HIST-AFTER"})
    await _turns_done(api, sid, 4)
    after = json.dumps(fake_upstream.responses_requests("HIST-AFTER")[-1].body)
    assert "HIST-MAKE" not in after

    # Fork: a new session that continues from a copy of the conversation.
    fork = await api.call("POST", "sessions", sid, "fork", body={"title": "Forked"})
    assert fork["id"] != sid and fork["title"] == "Forked"
    parent = await api.call("GET", "sessions", sid)
    assert fork["thread_id"] and fork["thread_id"] != parent["thread_id"]
    await api.call("POST", "sessions", fork["id"], "messages", body={"text": "HIST-FORK"})
    await _turns_done(api, fork["id"], 1)
    forked = json.dumps(fake_upstream.responses_requests("HIST-FORK")[-1].body)
    assert "HIST-AFTER" in forked  # the parent's history came along
    created = (await api.events(fork["id"]))[0]
    assert created["type"] == "session.created" and created["data"]["forked_from"] == sid


@pytest.mark.parametrize("action", ["steer", "compact", "fork", "undo"])
async def test_unknown_session_is_404(api: Api, action: str) -> None:
    assert await _status(api, "sessions", "nope", action, body={"text": "x"}) == 404
