"""Workspace sessions end to end: real Jupyter server, real codex app-server, fake upstream."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from fakes import FakeUpstream, apply_patch, exec_command, hang, text
from helpers import Api, turn_completed


async def new_session(api: Api, root: Path, folder: str = "proj", **extra: Any) -> dict[str, Any]:
    (root / folder).mkdir(exist_ok=True)
    return await api.call("POST", "sessions", body={"cwd": folder, **extra})  # type: ignore[no-any-return]


async def test_plain_reply_streams_deltas_and_final_text(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("say hello", text("Hello there, world!", chunks=4))
    session = await new_session(api, jp_root_dir)
    assert session["cwd"] == "proj" and session["thread_id"]

    answer = await api.call(
        "POST", "sessions", session["id"], "messages", body={"text": "say hello"}
    )
    assert answer["turn_id"]
    await api.wait_event(session["id"], turn_completed)

    events = await api.events(session["id"])
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[0] == "session.created"
    assert "turn.started" in types and "user.message" in types
    deltas = [e["data"]["delta"] for e in events if e["type"] == "assistant.delta"]
    assert len(deltas) >= 2 and "".join(deltas) == "Hello there, world!"
    final = [e for e in events if e["type"] == "assistant.message"]
    assert final[-1]["data"]["text"] == "Hello there, world!"
    done = [e for e in events if e["type"] == "turn.completed"][-1]
    assert done["data"]["status"] == "completed"
    # The upstream saw our account's token, through the configured CA.
    assert fake_upstream.responses_requests()[-1].account_id == "acct-test-1"

    listed = await api.call("GET", "sessions")
    assert [s["id"] for s in listed["sessions"]] == [session["id"]]
    assert listed["sessions"][0]["state"] == "idle"
    assert listed["sessions"][0]["title"] == "say hello"  # titled from the first message


async def test_approved_command_runs_and_declined_does_not(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(
        "make a file", exec_command("touch approved.txt", escalated=True), text("Done.")
    )
    fake_upstream.script(
        "other file", exec_command("touch declined.txt", escalated=True), text("Ok.")
    )
    session = await new_session(api, jp_root_dir)
    sid = session["id"]

    await api.call("POST", "sessions", sid, "messages", body={"text": "make a file"})
    approval = await api.wait_approval(sid)
    assert approval["kind"] == "command" and "approved.txt" in approval["command"]
    assert (await api.call("GET", "sessions", sid))["state"] == "waiting_approval"
    assert not (jp_root_dir / "proj" / "approved.txt").exists()  # it waits for us
    await api.call("POST", "approvals", approval["id"], body={"decision": "accept"})
    await api.wait_event(sid, turn_completed)
    assert (jp_root_dir / "proj" / "approved.txt").exists()
    events = await api.events(sid)
    types = [e["type"] for e in events]
    assert "approval.requested" in types and "approval.resolved" in types
    completed = [e for e in events if e["type"] == "command.completed"]
    assert completed and completed[-1]["data"]["exit_code"] == 0

    last = events[-1]["seq"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "other file"})
    approval = await api.wait_approval(sid)
    await api.call("POST", "approvals", approval["id"], body={"decision": "decline"})
    await api.wait_event(sid, lambda e: e["type"] == "turn.completed" and e["seq"] > last)
    assert not (jp_root_dir / "proj" / "declined.txt").exists()
    declined = [e for e in await api.events(sid, after=last) if e["type"] == "command.completed"]
    assert declined and declined[-1]["data"]["status"] == "declined"
    assert (await api.call("GET", "approvals"))["approvals"] == []


async def test_file_change_shows_its_diff(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello from codex\n*** End Patch\n"
    fake_upstream.script("write hello", apply_patch(patch), text("Wrote it."))
    session = await new_session(api, jp_root_dir)
    await api.call("POST", "sessions", session["id"], "messages", body={"text": "write hello"})
    await api.wait_event(session["id"], turn_completed)
    events = await api.events(session["id"])
    changes = [e for e in events if e["type"] == "file_change.completed"]
    assert changes, [e["type"] for e in events]
    change = changes[-1]["data"]["changes"][0]
    assert change["path"].endswith("hello.txt") and change["kind"] == "add"
    assert "hello from codex" in change["diff"]
    assert (jp_root_dir / "proj" / "hello.txt").read_text() == "hello from codex\n"


async def test_second_message_while_running_is_rejected_and_stop_interrupts(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    from tornado.httpclient import HTTPClientError

    fake_upstream.script("slow one", text("partial ") + hang())
    session = await new_session(api, jp_root_dir)
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "slow one"})
    await api.wait_event(sid, lambda e: e["type"] == "assistant.delta")
    assert (await api.call("GET", "sessions", sid))["state"] == "running"

    try:
        await api.call("POST", "sessions", sid, "messages", body={"text": "again"})
        raise AssertionError("a second message during a turn must be refused")
    except HTTPClientError as e:
        assert e.code == 409

    stopped = await api.call("POST", "sessions", sid, "stop", body={"force": False})
    assert stopped["stopped"] is True
    done = await api.wait_event(sid, turn_completed, timeout=20)
    assert done["data"]["status"] == "interrupted"
    # The session accepts the next message.
    await api.call("POST", "sessions", sid, "messages", body={"text": "after stop"})
    await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > done["seq"])


async def test_force_stop_recovers_a_hung_command(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("hang forever", exec_command("sleep 600", escalated=False), text("never"))
    session = await new_session(
        api, jp_root_dir, sandbox="danger-full-access", approval_policy="never"
    )
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "hang forever"})
    await api.wait_event(sid, lambda e: e["type"] == "command.started")

    await api.call("POST", "sessions", sid, "stop", body={"force": True})
    done = await api.wait_event(sid, turn_completed, timeout=20)
    assert done["data"]["status"] == "interrupted"
    types = [e["type"] for e in await api.events(sid)]
    assert "turn.force_stopped" in types
    assert not _sleepers(), "the hung command must be killed"

    await api.call("POST", "sessions", sid, "messages", body={"text": "are you back"})
    await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > done["seq"], timeout=30)
    final = [e for e in await api.events(sid) if e["type"] == "turn.completed"][-1]
    assert final["data"]["status"] == "completed"


def _sleepers() -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", b"600"] or b"sleep 600" in b" ".join(cmdline):
            found.append(int(pid))
    return found


async def test_sigkill_mid_turn_gives_error_restart_and_usable_session(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("long task", text("working ") + hang())
    session = await new_session(api, jp_root_dir)
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "long task"})
    await api.wait_event(sid, lambda e: e["type"] == "assistant.delta")
    status = await api.call("GET", "status")
    pid = status["targets"]["cli"]["pid"]
    assert pid

    os.kill(pid, signal.SIGKILL)
    error = await api.wait_event(sid, lambda e: e["type"] == "error", timeout=20)
    assert "stopped unexpectedly" in error["data"]["message"]
    failed = await api.wait_event(sid, turn_completed)
    assert failed["data"]["status"] == "failed"

    for _ in range(100):  # the restarter brings a new process up
        status = await api.call("GET", "status")
        if (
            status["targets"]["cli"]["state"] == "running"
            and status["targets"]["cli"]["pid"] != pid
        ):
            break
        await asyncio.sleep(0.1)
    assert status["targets"]["cli"]["pid"] not in (None, pid)

    fake_upstream.script("next please", text("Back again."))
    await api.call("POST", "sessions", sid, "messages", body={"text": "next please"})
    done = await api.wait_event(
        sid, lambda e: turn_completed(e) and e["seq"] > failed["seq"], timeout=30
    )
    assert done["data"]["status"] == "completed"
