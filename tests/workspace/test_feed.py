"""The replay-then-follow protocol without a server: a real WorkspaceManager on a real
SQLite database (its app-server is never started: nothing here needs codex)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_codex.models import Session
from jupyter_codex.store import Database
from jupyter_codex.supervisor import AppServerManager
from jupyter_codex.wiring import wire_workspace
from jupyter_codex.workspace import WorkspaceManager
from jupyter_codex.workspace.feed import EventFeed


@contextlib.asynccontextmanager
async def running_workspace(tmp_path: Path) -> AsyncIterator[WorkspaceManager]:
    db = Database(tmp_path / "codex.db")
    await db.open()
    server = AppServerManager(name="cli", codex_home=str(tmp_path / "home"))
    manager = WorkspaceManager(database=db, app_server=server, root_dir=str(tmp_path))
    await manager.start()
    wire_workspace(manager)
    try:
        yield manager
    finally:
        await manager.stop()
        await db.close()


async def new_session(workspace: WorkspaceManager, sid: str) -> str:
    now = time.time()
    await workspace.sessions.insert(
        Session(
            id=sid,
            target="cli",
            cwd="",
            title=sid,
            approval_policy="never",
            sandbox="read-only",
            created_at=now,
            updated_at=now,
        )
    )
    return sid


class Client:
    """What a socket would have received."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def write(self, text: str) -> None:
        self.frames.append(json.loads(text))

    def seqs(self, session_id: str, kind: str | None = None) -> list[int]:
        found = []
        for frame in self.frames:
            events = frame["events"] if frame["type"] == "events" else [frame.get("event")]
            if kind and frame["type"] != kind:
                continue
            found += [e["seq"] for e in events if e and e["session_id"] == session_id]
        return found


async def test_star_and_session_subscriptions_deliver_each_live_event_once(tmp_path: Path) -> None:
    async with running_workspace(tmp_path) as workspace:
        await _test_star_and_session_subscriptions_deliver_each_live_event_once(workspace)


async def _test_star_and_session_subscriptions_deliver_each_live_event_once(
    workspace: WorkspaceManager,
) -> None:
    a, b = await new_session(workspace, "a"), await new_session(workspace, "b")
    client = Client()
    feed = EventFeed(workspace, client.write)
    await feed.subscribe("*")
    await feed.subscribe(a)
    await feed.subscribe(b)
    for i in range(5):
        workspace.events.append(a, "assistant.delta", {"delta": str(i)})
        workspace.events.append(b, "assistant.delta", {"delta": str(i)})
    workspace.publish_system("account.switched", {"target": "cli"})
    assert client.seqs(a, "event") == [1, 2, 3, 4, 5]
    assert client.seqs(b, "event") == [1, 2, 3, 4, 5]
    system = [f for f in client.frames if f["type"] == "event" and f["event"]["seq"] == 0]
    assert len(system) == 1
    # Dropping "*" keeps the session subscription, still once.
    feed.unsubscribe("*")
    workspace.events.append(a, "assistant.delta", {"delta": "x"})
    assert client.seqs(a, "event") == [1, 2, 3, 4, 5, 6]
    feed.close()
    workspace.events.append(a, "assistant.delta", {"delta": "y"})
    assert client.seqs(a, "event")[-1] == 6


async def test_replay_then_follow_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    async with running_workspace(tmp_path) as workspace:
        await _test_replay_then_follow_has_no_gap_and_no_duplicate(workspace)


async def _test_replay_then_follow_has_no_gap_and_no_duplicate(workspace: WorkspaceManager) -> None:
    a = await new_session(workspace, "a")
    for i in range(30):
        workspace.events.append(a, "assistant.delta", {"delta": str(i)})
    client = Client()
    feed = EventFeed(workspace, client.write)
    await feed.subscribe("*")

    async def writer() -> None:  # live events while the replay pages through the log
        for i in range(30):
            workspace.events.append(a, "assistant.delta", {"delta": f"live {i}"})
            await asyncio.sleep(0)

    workspace.max_events_per_page = 7  # many pages, many chances to interleave
    task = asyncio.ensure_future(writer())
    last = await feed.subscribe(a, after=10)
    await task
    replayed = client.seqs(a, "events")
    live = client.seqs(a, "event")
    assert replayed[0] == 11 and replayed == sorted(replayed)
    assert last >= replayed[-1]
    # every event after 10 reached the client, live ones exactly once
    assert sorted(set(replayed) | set(live)) == list(range(11, 61))
    assert len(live) == len(set(live))


async def test_unknown_session_raises_and_leaves_no_subscription(tmp_path: Path) -> None:
    async with running_workspace(tmp_path) as workspace:
        await _test_unknown_session_raises_and_leaves_no_subscription(workspace)


async def _test_unknown_session_raises_and_leaves_no_subscription(
    workspace: WorkspaceManager,
) -> None:
    client = Client()
    feed = EventFeed(workspace, client.write)
    with pytest.raises(Exception) as info:
        await feed.subscribe("0" * 32)
    assert getattr(info.value, "status_code", None) == 404
    assert feed.sessions == []
