"""Replay across a real Jupyter server restart, and the live WebSocket protocol."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from fakes import FakeUpstream, hang, text
from helpers import Api, extension_config, sign_in_cli_target, turn_completed
from server_process import JupyterServerProcess


def wait_completed(
    client: httpx.Client, sid: str, count: int, timeout: float = 40
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = client.get(f"/codex/api/sessions/{sid}/events").json()["events"]
        if sum(1 for e in events if e["type"] == "turn.completed") >= count:
            return events  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("turn did not complete")


def test_replay_after_jupyter_restart_keeps_every_event_and_sequence(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    data_dir, root = tmp_path / "data", tmp_path / "root"
    (root / "proj").mkdir(parents=True)
    sign_in_cli_target(fake_upstream, data_dir)
    codex = extension_config(fake_upstream, data_dir)
    fake_upstream.script("first", text("One."))
    fake_upstream.script("second", text("Two."))

    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        r = client.post("/codex/api/sessions", json={"cwd": "proj"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert (
            client.post(f"/codex/api/sessions/{sid}/messages", json={"text": "first"}).status_code
            == 202
        )
        before = wait_completed(client, sid, 1)

    with JupyterServerProcess(root, tmp_path / "cfg", codex) as server, server.client() as client:
        after = client.get(f"/codex/api/sessions/{sid}/events").json()["events"]
        assert after == before  # every event, same seq, same content
        tail = client.get(f"/codex/api/sessions/{sid}/events", params={"after": 3}).json()["events"]
        assert [e["seq"] for e in tail] == [e["seq"] for e in before[3:]]
        # The thread resumes in the new app-server and numbering continues.
        r = client.post(f"/codex/api/sessions/{sid}/messages", json={"text": "second"})
        assert r.status_code == 202, r.text
        events = wait_completed(client, sid, 2)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[len(before)]["seq"] == before[-1]["seq"] + 1
        second_request = fake_upstream.responses_requests()[-1].body
        assert "first" in json.dumps(second_request)  # the history came along


async def _recv(ws: Any, predicate: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no matching websocket message"
        raw = await asyncio.wait_for(ws.read_message(), remaining)
        assert raw is not None, "websocket closed"
        message = json.loads(raw)
        if predicate(message):
            return message  # type: ignore[no-any-return]


async def test_websocket_replays_then_streams_live_without_gaps(
    api: Api, jp_ws_fetch: Any, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    fake_upstream.script("warm up", text("Warm."))
    fake_upstream.script("live one", text("streaming ", chunks=2) + hang())
    session = await api.call("POST", "sessions", body={"cwd": "proj"})
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "warm up"})
    await api.wait_event(sid, turn_completed)
    history = await api.events(sid)

    ws = await jp_ws_fetch("codex", "api", "events")
    hello = json.loads(await ws.read_message())
    assert hello["type"] == "hello"
    ws.write_message(json.dumps({"type": "ping", "id": 7}))
    pong = await _recv(ws, lambda m: m["type"] == "pong")
    assert pong["id"] == 7

    ws.write_message(json.dumps({"type": "subscribe", "session_id": sid, "after": 2}))
    subscribed = await _recv(ws, lambda m: m["type"] == "subscribed")
    assert subscribed["last_seq"] == history[-1]["seq"]

    await api.call("POST", "sessions", sid, "messages", body={"text": "live one"})
    live = await _recv(
        ws, lambda m: m["type"] == "event" and m["event"]["type"] == "assistant.delta"
    )
    await api.call("POST", "sessions", sid, "stop", body={})
    await _recv(ws, lambda m: m["type"] == "event" and m["event"]["type"] == "turn.completed")
    ws.close()

    # Everything the socket delivered, replayed and live, equals the log: no gap, no duplicate.
    ws2 = await jp_ws_fetch("codex", "api", "events")
    await ws2.read_message()
    ws2.write_message(json.dumps({"type": "subscribe", "session_id": sid, "after": 0}))
    seqs = []
    while True:
        message = json.loads(await asyncio.wait_for(ws2.read_message(), 10))
        if message["type"] == "subscribed":
            break
        if message["type"] == "events":
            seqs += [e["seq"] for e in message["events"]]
        else:
            seqs.append(message["event"]["seq"])
    log = await api.events(sid)
    assert seqs == [e["seq"] for e in log]
    assert live["event"]["seq"] > history[-1]["seq"]

    ws2.write_message(json.dumps({"type": "subscribe", "session_id": "nope"}))
    error = await _recv(ws2, lambda m: m["type"] == "error")
    assert error["error"]["code"] == "not_found"
    ws2.write_message("{broken")
    error = await _recv(ws2, lambda m: m["type"] == "error")
    assert error["error"]["code"] == "invalid_message"
    ws2.close()


async def test_one_socket_on_star_and_a_session_gets_each_event_once(
    api: Api, jp_ws_fetch: Any, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    fake_upstream.script("twice?", text("Once only, please.", chunks=3))
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    ws = await jp_ws_fetch("codex", "api", "events")
    await ws.read_message()  # hello
    ws.write_message(json.dumps({"type": "subscribe", "session_id": "*"}))
    await _recv(ws, lambda m: m["type"] == "subscribed")
    ws.write_message(json.dumps({"type": "subscribe", "session_id": sid, "after": 0}))
    replayed: list[int] = []
    while True:
        message = await _recv(ws, lambda m: m["type"] in ("events", "event", "subscribed"))
        if message["type"] == "subscribed":
            break
        events = message["events"] if message["type"] == "events" else [message["event"]]
        replayed += [e["seq"] for e in events if e["session_id"] == sid]

    await api.call("POST", "sessions", sid, "messages", body={"text": "twice?"})
    live: list[int] = []
    while True:
        message = await _recv(ws, lambda m: m["type"] == "event")
        if message["event"]["session_id"] == sid:
            live.append(message["event"]["seq"])
            if message["event"]["type"] == "turn.completed":
                break
    # A frame nested past the limit is refused in words, and the socket stays usable.
    ws.write_message('{"type": "ping", "x": ' + "[" * 50_000 + "]" * 50_000 + "}")
    error = await _recv(ws, lambda m: m["type"] == "error")
    assert error["error"]["code"] == "invalid_message" and "deep" in error["error"]["message"]
    ws.write_message(json.dumps({"type": "ping", "id": 1}))
    await _recv(ws, lambda m: m["type"] == "pong")
    ws.close()
    log = [e["seq"] for e in await api.events(sid)]
    assert len(live) == len(set(live)), live  # once each
    assert replayed + live == log[: len(replayed) + len(live)]  # and none missing
