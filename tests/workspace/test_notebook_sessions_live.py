"""Notebook sessions end to end, with the notebook closed (no frontend serves the tools):
the real codex calls the ``notebook_*`` tools (scripted in the fake), the server edits
the ``.ipynb`` on disk and runs cells in the notebook's own kernel, and every answer
(outputs, images, tracebacks, errors) reaches the model's next request."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from fakes import FakeUpstream, text, tool_call
from fakes.sse import tool_names
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError

#: A 1x1 PNG, shown by the first cell.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def write_notebook(path: Path, *cells: tuple[str, str, str]) -> None:
    """A notebook with cells ``(id, cell_type, source)`` and the python3 kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell_id, kind, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source=source)
        cell["id"] = cell_id
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def outputs_of(fake: FakeUpstream, marker: str) -> str:
    """Every tool result the model got in the requests of a marker, as one string."""
    return json.dumps([r.function_call_outputs for r in fake.responses_requests(containing=marker)])


async def finish(api: Api, sid: str, timeout: float = 60.0) -> dict[str, Any]:
    return await api.wait_event(sid, turn_completed, timeout=timeout)


async def test_a_closed_notebook_is_edited_on_disk(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    write_notebook(
        jp_root_dir / "nb" / "analysis.ipynb",
        ("a1", "code", "x = 1"),
        ("b2", "markdown", "# Notes"),
        ("c3", "code", "print(x)"),
    )
    marker = "NB-EDIT tidy the notebook"
    fake_upstream.script(
        marker,
        tool_call("notebook_read", {}),
        tool_call("notebook_insert_cell", {"source": "y = 2", "after_cell_id": "a1"}),
        tool_call("notebook_edit_cell", {"cell_id": "a1", "source": "x = 10"}),
        tool_call("notebook_move_cell", {"cell_id": "c3", "index": 0}),
        tool_call("notebook_delete_cell", {"cell_id": "b2"}),
        text("Tidied."),
    )
    session = await api.call("POST", "sessions", body={"notebook": "nb/analysis.ipynb"})
    assert session["notebook"] == "nb/analysis.ipynb" and session["cwd"] == "nb"
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": marker})
    done = await finish(api, sid)
    assert done["data"]["status"] == "completed"

    first = fake_upstream.responses_requests(containing=marker)[0]
    offered = json.dumps(first.body)
    names = tool_names(first.body)
    for tool in ("read", "insert_cell", "edit_cell", "delete_cell", "move_cell", "run_cell"):
        assert f"notebook_{tool}" in names or f"notebook_{tool}" in offered
    seen = outputs_of(fake_upstream, marker)
    assert "id=a1" in seen and "x = 1" in seen and "# Notes" in seen
    assert "Inserted cell" in seen and "Edited cell a1" in seen and "Deleted cell b2" in seen

    nb = nbformat.read(jp_root_dir / "nb" / "analysis.ipynb", as_version=4)
    nbformat.validate(nb)
    assert [c.source for c in nb.cells] == ["print(x)", "x = 10", "y = 2"]
    assert [c.id for c in nb.cells][:2] == ["c3", "a1"]

    events = await api.events(sid)
    changes = [e["data"] for e in events if e["type"] == "notebook.cell_changed"]
    assert [c["action"] for c in changes] == ["inserted", "edited", "moved", "deleted"]
    edited = changes[1]
    assert edited["source_before"] == "x = 1" and edited["source_after"] == "x = 10"


async def test_a_run_waits_for_approval_and_its_outputs_reach_the_model(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    write_notebook(
        jp_root_dir / "plots.ipynb",
        (
            "p1",
            "code",
            (
                "import base64\nfrom IPython.display import Image, display\n"
                f"print('hello from the kernel')\ndisplay(Image(data=base64.b64decode('{PNG}')))"
            ),
        ),
        ("p2", "code", "1 / 0"),
    )
    marker = "NB-RUN run both cells"
    fake_upstream.script(
        marker,
        tool_call("notebook_run_cell", {"cell_id": "p1"}),
        tool_call("notebook_run_cell", {"cell_id": "p2"}),
        text("Ran them."),
    )
    session = await api.call("POST", "sessions", body={"notebook": "plots.ipynb"})
    sid = session["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": marker})

    approval = await api.wait_approval(sid)
    assert approval["kind"] == "notebook_run"
    assert "hello from the kernel" in approval["command"]  # the card shows the cell
    await asyncio.sleep(0.3)
    assert len(fake_upstream.responses_requests(containing=marker)) == 1  # it waits for us
    await api.call("POST", "approvals", approval["id"], body={"decision": "acceptForSession"})
    done = await finish(api, sid, timeout=90)
    assert done["data"]["status"] == "completed"

    requests = fake_upstream.responses_requests(containing=marker)
    after_first = json.dumps(requests[1].function_call_outputs)
    assert "hello from the kernel" in after_first
    assert "data:image/png;base64," in after_first  # the model can see the image
    after_second = json.dumps(requests[2].function_call_outputs)
    assert "ZeroDivisionError" in after_second and "Traceback" in after_second.replace(
        "[error]", "Traceback"
    )
    # Accepted for the session: the second run did not ask again.
    events = await api.events(sid)
    assert [e["data"]["kind"] for e in events if e["type"] == "approval.requested"] == [
        "notebook_run"
    ]
    progress = [e["data"] for e in events if e["type"] == "notebook.run_output"]
    assert any("hello from the kernel" in json.dumps(p["output"]) for p in progress)

    nb = nbformat.read(jp_root_dir / "plots.ipynb", as_version=4)
    nbformat.validate(nb)
    first, second = nb.cells
    assert first.execution_count and "image/png" in json.dumps(first.outputs)
    assert second.outputs[0]["output_type"] == "error"
    assert second.outputs[0]["ename"] == "ZeroDivisionError"


async def test_bad_notebook_paths_are_refused(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "notes.txt").write_text("not a notebook")
    for path, status in (
        ("../outside.ipynb", 403),  # as for a cwd outside the root
        ("/etc/passwd.ipynb", 403),
        ("missing.ipynb", 404),
        ("notes.txt", 400),
    ):
        with pytest.raises(HTTPClientError) as info:
            await api.call("POST", "sessions", body={"notebook": path})
        assert info.value.code == status, path
        assert info.value.response is not None
        assert "error" in json.loads(info.value.response.body)


async def test_a_deleted_cell_and_a_dying_kernel_are_errors_the_model_sees(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    write_notebook(
        jp_root_dir / "fragile.ipynb",
        ("k1", "code", "import os\nprint('going down', flush=True)\nos._exit(1)"),
    )
    marker = "NB-BAD break things"
    fake_upstream.script(
        marker,
        tool_call("notebook_edit_cell", {"cell_id": "gone", "source": "pass"}),
        tool_call("notebook_run_cell", {"cell_id": "k1", "timeout": 60}),
        text("Both failed."),
    )
    session = await api.call(
        "POST", "sessions", body={"notebook": "fragile.ipynb", "approval_policy": "never"}
    )
    sid = session["id"]
    started = time.monotonic()
    await api.call("POST", "sessions", sid, "messages", body={"text": marker})
    done = await finish(api, sid, timeout=60)
    assert done["data"]["status"] == "completed"
    assert time.monotonic() - started < 40  # the dead kernel did not wait for the timeout

    requests = fake_upstream.responses_requests(containing=marker)
    assert "No cell has the id 'gone'" in json.dumps(requests[1].function_call_outputs)
    assert "kernel died" in json.dumps(requests[2].function_call_outputs)
    events = await api.events(sid)
    calls = [e["data"] for e in events if e["type"] == "tool_call.completed"]
    assert [c["success"] for c in calls] == [False, False]
