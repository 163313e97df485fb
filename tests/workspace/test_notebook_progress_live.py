"""Progress of notebook tool calls a client serves (the browser, while the notebook is open
in JupyterLab), spoken here by a raw events socket that plays the browser's part: with the
real codex binary calling the tools, a ``tool_progress`` of a running ``notebook_run_cell``
becomes ``notebook.run_output`` events while the call still runs, an edit's cell change
becomes ``notebook.cell_changed``, and the stored history (what a reopened session
replays) keeps the calls' arguments, results (images included) and those events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nbformat
from fakes import FakeUpstream, text, tool_call
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError

#: A 1x1 PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


async def _recv(ws: Any, kind: str, timeout: float = 60) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source="for i in range(3): print(i)")
    cell["id"] = "r1"
    nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


async def test_a_browser_served_run_streams_its_outputs_as_run_output_events(
    api: Api, jp_ws_fetch: Any, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    _notebook(jp_root_dir / "open" / "live.ipynb")
    marker = "NB-PROGRESS run and edit while open"
    fake_upstream.script(
        marker,
        tool_call("notebook_run_cell", {"cell_id": "r1"}),
        tool_call("notebook_edit_cell", {"cell_id": "r1", "source": "print('edited')"}),
        text("Done."),
    )
    session = await api.call(
        "POST", "sessions", body={"notebook": "open/live.ipynb", "approval_policy": "never"}
    )
    sid = session["id"]
    ws = await jp_ws_fetch("codex", "api", "events")
    await _recv(ws, "hello")
    names = [f"notebook_{n}" for n in ("read", "run_cell", "edit_cell")]
    ws.write_message(json.dumps({"type": "register_tools", "session_id": sid, "tools": names}))
    await _recv(ws, "tools_registered")
    await api.call("POST", "sessions", sid, "messages", body={"text": marker})

    run = await _recv(ws, "tool_call")
    assert run["tool"] == "notebook_run_cell"
    call_id = run["call_id"]
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "0\n1\n"},
        {"output_type": "clear_output"},  # the cell cleared what it showed
        {"output_type": "stream", "name": "stdout", "text": "2\n"},
        {"output_type": "display_data", "data": {"image/png": PNG}, "metadata": {}},
    ]
    for output in outputs:
        ws.write_message(
            json.dumps({"type": "tool_progress", "call_id": call_id, "output": output})
        )
    # Bad reports are refused with a readable error frame, and change nothing.
    for bad, why in (
        ({"output": {"output_type": "stream", "name": "stdout", "text": 5}}, "nbformat"),
        ({"output": {"output_type": "clear"}}, "output_type"),
        ({"cell_change": {"action": "edited", "cell_id": "r1", "index": 0}}, "edit tool"),
        ({}, "exactly one"),
    ):
        ws.write_message(json.dumps({"type": "tool_progress", "call_id": call_id, **bad}))
        error = await _recv(ws, "error")
        assert error["error"]["code"] == "invalid_request", error
        assert why in error["error"]["message"], error
    ws.write_message(json.dumps({"type": "tool_progress", "call_id": "nope", "message": "x"}))
    assert (await _recv(ws, "error"))["error"]["code"] == "not_found"
    # A polling client cannot report for a call a connected client runs.
    try:
        await api.call("POST", "tool-calls", call_id, "progress", body={"message": "hi"})
        raise AssertionError("a call run by a socket takes no REST progress")
    except HTTPClientError as e:
        assert e.code == 404 and "error" in json.loads(e.response.body)

    # The outputs are in the log while the call still runs (no result sent yet).
    async def progress() -> list[dict[str, Any]]:
        return [e for e in await api.events(sid) if e["type"] == "notebook.run_output"]

    for _ in range(100):
        if len(await progress()) == len(outputs):
            break
        await asyncio.sleep(0.05)
    seen = await progress()
    assert [e["data"]["output"] for e in seen] == outputs
    assert {e["data"]["notebook"] for e in seen} == {"open/live.ipynb"}
    assert {e["data"]["cell_id"] for e in seen} == {"r1"}
    assert {e["item_id"] for e in seen} == {call_id}
    assert not any(e["type"] == "tool_call.completed" for e in await api.events(sid))

    ran = "Ran cell r1 (execution_count=1): completed.\n[stdout]\n0\n1\n2\n"
    ws.write_message(
        json.dumps(
            {
                "type": "tool_result",
                "call_id": call_id,
                "success": True,
                "content_items": [
                    {"type": "inputText", "text": ran},
                    {"type": "inputImage", "imageUrl": f"data:image/png;base64,{PNG}"},
                ],
            }
        )
    )
    edit = await _recv(ws, "tool_call")
    assert edit["tool"] == "notebook_edit_cell"
    change = {
        "action": "edited",
        "cell_id": "r1",
        "index": 0,
        "source_before": "for i in range(3): print(i)",
        "source_after": "print('edited')",
    }
    ws.write_message(
        json.dumps({"type": "tool_progress", "call_id": edit["call_id"], "cell_change": change})
    )
    ws.write_message(
        json.dumps(
            {
                "type": "tool_result",
                "call_id": edit["call_id"],
                "success": True,
                "content_items": [{"type": "inputText", "text": "Edited cell r1 at index 0."}],
            }
        )
    )
    await api.wait_event(sid, turn_completed, timeout=60)
    ws.close()

    # The stored history, as a reopened session replays it.
    events = await api.events(sid)
    changed = [e for e in events if e["type"] == "notebook.cell_changed"]
    assert [e["data"] for e in changed] == [{"notebook": "open/live.ipynb", **change, "live": True}]
    assert changed[0]["item_id"] == edit["call_id"]
    completed = {e["item_id"]: e["data"] for e in events if e["type"] == "tool_call.completed"}
    assert completed[call_id]["arguments"] == {"cell_id": "r1"}
    assert completed[call_id]["result"] == [
        {"type": "inputText", "text": ran},
        {"type": "inputImage", "imageUrl": f"data:image/png;base64,{PNG}"},
    ]
    assert completed[edit["call_id"]]["arguments"]["source"] == "print('edited')"
    order = [e["type"] for e in events if e["item_id"] == call_id]
    assert order.index("notebook.run_output") < order.index("tool_call.completed")


async def test_a_polling_client_reports_progress_over_rest(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    tool = {"name": "train", "description": "Train a model", "input_schema": {"type": "object"}}
    marker = "POLL-PROGRESS train it"
    fake_upstream.script(marker, tool_call("train", {"epochs": 2}), text("Trained."))
    session = await api.call("POST", "sessions", body={"cwd": "proj", "tools": [tool]})
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": marker})
    for _ in range(300):
        pending = (await api.call("GET", "tool-calls", session_id=sid))["tool_calls"]
        if pending:
            break
        await asyncio.sleep(0.1)
    call_id = pending[0]["call_id"]
    answer = await api.call(
        "POST", "tool-calls", call_id, "progress", body={"message": "epoch 1/2"}
    )
    assert answer == {"call_id": call_id, "accepted": True}
    for bad in ({"output": {"output_type": "stream", "name": "stdout", "text": "x"}}, {}):
        try:
            await api.call("POST", "tool-calls", call_id, "progress", body=bad)
            raise AssertionError(f"{bad!r} must be refused")
        except HTTPClientError as e:
            assert e.code == 400 and "error" in json.loads(e.response.body)
    await api.call(
        "POST", "tool-calls", call_id, "response", body={"text": "loss 0.1", "success": True}
    )
    await api.wait_event(sid, turn_completed, timeout=60)
    events = await api.events(sid)
    progress = [e for e in events if e["type"] == "tool_call.progress"]
    assert [(e["data"], e["item_id"]) for e in progress] == [({"message": "epoch 1/2"}, call_id)]
    try:
        await api.call("POST", "tool-calls", call_id, "progress", body={"message": "late"})
        raise AssertionError("a finished call takes no progress")
    except HTTPClientError as e:
        assert e.code == 404
