"""The tool messages of the events WebSocket, spoken directly (docs/websocket.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from helpers import Api


async def _recv(ws: Any, kind: str, timeout: float = 30) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


async def test_register_unregister_and_bad_messages(
    api: Api, jp_ws_fetch: Any, jp_root_dir: Path
) -> None:
    (jp_root_dir / "proj").mkdir()
    tool = {
        "name": "lookup_ticket",
        "description": "Fetch a ticket",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}},
    }
    session = await api.call("POST", "sessions", body={"cwd": "proj", "tools": [tool]})
    sid = session["id"]
    ws = await jp_ws_fetch("codex", "api", "events")
    await _recv(ws, "hello")

    ws.write_message(
        json.dumps(
            {"type": "register_tools", "session_id": sid, "tools": ["lookup_ticket"], "id": 1}
        )
    )
    done = await _recv(ws, "tools_registered")
    assert done == {
        "type": "tools_registered",
        "session_id": sid,
        "tools": ["lookup_ticket"],
        "id": 1,
    }

    ws.write_message(json.dumps({"type": "register_tools", "session_id": "nope", "tools": []}))
    error = await _recv(ws, "error")
    assert error["error"]["code"] == "not_found"

    ws.write_message(json.dumps({"type": "register_tools", "session_id": sid, "tools": "x"}))
    error = await _recv(ws, "error")
    assert error["error"]["code"] == "invalid_request"

    ws.write_message(json.dumps({"type": "tool_result", "call_id": "unknown", "success": True}))
    error = await _recv(ws, "error")
    assert error["error"]["code"] == "invalid_request" and "call_id" in error["error"]["message"]

    ws.write_message(json.dumps({"type": "unregister_tools", "session_id": sid, "id": "u"}))
    done = await _recv(ws, "tools_unregistered")
    assert done["id"] == "u" and done["session_id"] == sid
    ws.close()


async def test_bad_tool_declarations_are_rejected(api: Api, jp_root_dir: Path) -> None:
    from tornado.httpclient import HTTPClientError

    (jp_root_dir / "proj").mkdir()
    for tools in ([{"name": "has.dot"}], [{"name": "a"}, {"name": "a"}], "nope"):
        try:
            await api.call("POST", "sessions", body={"cwd": "proj", "tools": tools})
            raise AssertionError(f"{tools!r} must be refused")
        except HTTPClientError as e:
            assert e.code == 400
            assert json.loads(e.response.body)["error"]["code"] == "invalid_request"
