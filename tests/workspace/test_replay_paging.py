"""Replay of logs longer than one page (REST pages, the WebSocket pages for you)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, text
from helpers import Api
from traitlets.config import Config


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.WorkspaceManager.max_events_per_page = 3
    return jp_server_config


async def test_long_logs_replay_completely(
    api: Api, jp_ws_fetch: Any, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    fake_upstream.script("many", text("a b c d e f g h", chunks=8))
    await api.call("POST", "sessions", sid, "messages", body={"text": "many"})

    seqs: list[int] = []
    for _ in range(300):  # REST: page with after= until the turn is complete
        page = await api.events(sid, after=seqs[-1] if seqs else 0)
        assert len(page) <= 3
        seqs += [e["seq"] for e in page]
        if page and page[-1]["type"] == "turn.completed":
            break
        if not page:
            await asyncio.sleep(0.05)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 10

    ws = await jp_ws_fetch("codex", "api", "events")
    await ws.read_message()
    ws.write_message(json.dumps({"type": "subscribe", "session_id": sid, "after": 0}))
    got: list[int] = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
        if message["type"] == "subscribed":
            break
        assert message["type"] == "events"
        got += [e["seq"] for e in message["events"]]
    assert got == seqs and message["last_seq"] == seqs[-1]
    ws.close()
