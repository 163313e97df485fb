"""Subagents: a thread the agent spawns asks the human like its parent, and its events
are kept (and replayed) in the session's log, tagged with the spawning call."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fakes import FakeUpstream, exec_command, text, tool_call
from helpers import Api, turn_completed


async def test_subagent_approval_waits_for_a_human_and_its_events_replay(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    spawn = {"task_name": "helper", "message": "SUB-CHILD make sub.txt", "fork_turns": "none"}
    fake_upstream.script(
        "SUB-PARENT",
        tool_call("spawn_agent", spawn, namespace="collaboration"),
        tool_call("wait_agent", {"timeout_ms": 60000}, namespace="collaboration"),
        text("parent done"),
    )
    fake_upstream.script(
        "SUB-CHILD", exec_command("touch sub.txt", escalated=True), text("child done")
    )
    (jp_root_dir / "proj").mkdir()
    session = await api.call("POST", "sessions", body={"cwd": "proj"})
    sid = session["id"]
    sent = await api.call("POST", "sessions", sid, "messages", body={"text": "SUB-PARENT go"})

    approval = await api.wait_approval(sid)
    assert approval["kind"] == "command" and "sub.txt" in approval["command"]
    assert approval["thread_id"] != session["thread_id"]  # the subagent asks
    assert approval["turn_id"] == sent["turn_id"]  # on the turn that spawned it
    await asyncio.sleep(1.0)
    assert not (jp_root_dir / "proj" / "sub.txt").exists()  # it waits for the human
    assert (await api.call("GET", "sessions", sid))["state"] == "waiting_approval"
    await api.call("POST", "approvals", approval["id"], body={"decision": "accept"})
    await api.wait_event(sid, turn_completed, timeout=60)
    assert (jp_root_dir / "proj" / "sub.txt").exists()

    events = await api.events(sid)  # read back from the store: what a reload replays
    spawned = [
        e
        for e in events
        if e["type"] == "item.started"
        and e["data"].get("item", {}).get("type") == "subAgentActivity"
    ]
    assert spawned, [e["type"] for e in events]
    spawn_item = spawned[0]["item_id"]
    nested = [e for e in events if "subagent" in e["data"]]
    assert {e["data"]["subagent"]["parent_item_id"] for e in nested} == {spawn_item}
    types = [e["type"] for e in nested]
    assert "subagent.started" in types and "subagent.completed" in types
    done = [e for e in nested if e["type"] == "command.completed"]
    assert done and done[-1]["data"]["exit_code"] == 0
    assert any(
        e["type"] == "assistant.message" and e["data"]["text"] == "child done" for e in nested
    )
    # Only the session's own turn reads as a turn; the parent's reply is its own.
    assert [e["turn_id"] for e in events if e["type"] == "turn.completed"] == [sent["turn_id"]]
    finals = [e for e in events if e["type"] == "assistant.message" and "subagent" not in e["data"]]
    assert finals[-1]["data"]["text"] == "parent done"
