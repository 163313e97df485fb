"""``%codex`` sessions are notebook sessions: a ``%codex`` turn in a notebook can insert
a cell into that notebook and run one of its cells (here the notebook is not open in a
browser, so the server serves the tools: on the file, and in the kernel of the
notebook's Jupyter session)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
from fakes import text, tool_call
from fakes.sse import inserted_cell_id
from jupyter_core.paths import jupyter_runtime_dir
from kernel_driver import KernelDriver, final_plain, kernel
from kernel_live import Live


def test_codex_in_a_notebook_inserts_and_runs_a_cell_of_it(live: Live) -> None:
    path = live.project / "bound.ipynb"
    book = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source="print('base is', 4 * 5)")
    cell["id"] = "n1"
    book.cells.append(cell)
    nbformat.write(book, path)

    marker = "NBBOUND-1 extend this notebook"
    live.fake.script(
        marker,
        tool_call("notebook_insert_cell", {"source": "answer = 42", "after_cell_id": "n1"}),
        tool_call("notebook_run_cell", {"cell_id": "n1"}),
        text("Inserted and ran."),
    )
    with kernel(live.kernel_env(JPY_SESSION_NAME=str(path)), live.project) as nb:
        nb.ok("%load_ext jupyter_codex")
        run = nb.start(f"%codex {marker}")
        # The run asks first (default policy): approve it from outside, as the panel would.
        with live.server.client() as http:
            deadline = time.monotonic() + 60
            pending: list = []
            while not pending and time.monotonic() < deadline:
                pending = [
                    a
                    for a in http.get("/codex/api/approvals").json()["approvals"]
                    if a["kind"] == "notebook_run"
                ]
                time.sleep(0.2)
            assert pending, "the run never asked for approval"
            http.post(
                f"/codex/api/approvals/{pending[0]['id']}", json={"decision": "accept"}
            ).raise_for_status()
            nb.wait(run, timeout=90)
            sessions = http.get("/codex/api/sessions").json()["sessions"]

    assert final_plain(run).rstrip().endswith("Inserted and ran.")
    bound = [s for s in sessions if s.get("notebook") == "proj/bound.ipynb"]
    assert bound, [s.get("notebook") for s in sessions]
    saved = nbformat.read(path, as_version=4)
    nbformat.validate(saved)
    assert [c.source for c in saved.cells] == ["print('base is', 4 * 5)", "answer = 42"]
    requests = live.fake.responses_requests(containing=marker)
    assert "Inserted cell" in json.dumps(requests[1].function_call_outputs)
    assert "base is 20" in json.dumps(requests[2].function_call_outputs)


#: A 1x1 PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
#: The first cell Codex inserts: it reads the kernel's ``base`` and shows a picture.
FIRST = (
    "import base64\nfrom IPython.display import Image, display\n"
    f"print('answer is', base + 22)\ndisplay(Image(data=base64.b64decode('{PNG}')))"
)


#: A cell that outlives a one-second timeout.
SLOW = "import time\ntime.sleep(20)"


def _approve_runs(http: Any, deadline: float) -> None:
    """Accept the first notebook run for the session (acceptForSession: the later run
    goes ahead without asking), as the panel would."""
    while time.monotonic() < deadline:
        pending = [
            a
            for a in http.get("/codex/api/approvals").json()["approvals"]
            if a["kind"] == "notebook_run"
        ]
        if pending:
            http.post(
                f"/codex/api/approvals/{pending[0]['id']}",
                json={"decision": "acceptForSession"},
            ).raise_for_status()
            return
        time.sleep(0.2)
    raise AssertionError("the run never asked for approval")


def test_codex_runs_an_inserted_cell_in_its_own_busy_kernel(live: Live) -> None:
    """The kernel that runs the ``%codex`` cell is the notebook's own (the Jupyter
    session's): the cells Codex inserts run there, beside the waiting ``%codex`` cell,
    see its variables, and their outputs (a traceback too) reach the model."""
    path = live.project / "own.ipynb"
    book = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source="base = 20")
    cell["id"] = "o1"
    book.cells.append(cell)
    nbformat.write(book, path)
    with live.server.client() as http:
        created = http.post(
            "/api/sessions",
            json={
                "path": "proj/own.ipynb",
                "name": "own.ipynb",
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        assert created.status_code == 201, created.text
        kernel_id = created.json()["kernel"]["id"]
    connection = Path(jupyter_runtime_dir()) / f"kernel-{kernel_id}.json"
    deadline = time.monotonic() + 30
    while not connection.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    marker = "NBOWN-1 use the kernel's base"
    live.fake.script(
        marker,
        tool_call("notebook_insert_cell", {"source": FIRST}),
        tool_call("notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body)}),
        tool_call("notebook_insert_cell", {"source": "base / undefined_name_q"}),
        tool_call("notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body)}),
        # A run that outlives its timeout keeps running in its subshell; the kernel
        # stays usable (the next run, and the %codex cell, go on).
        tool_call("notebook_insert_cell", {"source": SLOW}),
        tool_call(
            "notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body), "timeout": 1}
        ),
        tool_call("notebook_insert_cell", {"source": "print('still here', base)"}),
        tool_call("notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body)}),
        text("Both ran."),
    )
    nb = KernelDriver({}, live.project, connection_file=connection)
    try:
        nb.ok("base = 20")  # defined in this kernel only: the file does not run it
        nb.ok("%load_ext jupyter_codex")
        run = nb.start(f"%codex {marker}")
        with live.server.client() as http:
            _approve_runs(http, time.monotonic() + 60)
            nb.wait(run, timeout=120)
            sessions = http.get("/codex/api/sessions").json()["sessions"]
            bound = [s for s in sessions if s.get("notebook") == "proj/own.ipynb"]
            assert bound, [s.get("notebook") for s in sessions]
            events = http.get(f"/codex/api/sessions/{bound[0]['id']}/events").json()["events"]
    finally:
        nb.shutdown()
        with live.server.client() as http:
            http.delete(f"/api/kernels/{kernel_id}")

    assert run.status == "ok", run.describe()
    assert final_plain(run).rstrip().endswith("Both ran.")
    requests = live.fake.responses_requests(containing=marker)
    first_run = json.dumps(requests[2].function_call_outputs)
    assert "answer is 42" in first_run, first_run
    assert "subshell" in first_run
    assert "data:image/png;base64," in first_run  # the picture the cell showed
    second_run = json.dumps(requests[4].function_call_outputs)
    assert "NameError" in second_run and "undefined_name_q" in second_run, second_run
    assert "Traceback" in second_run or "----> 1" in second_run, second_run
    slow = json.dumps(requests[6].function_call_outputs)
    assert "still running after 1 seconds" in slow, slow
    after = json.dumps(requests[8].function_call_outputs)
    assert "still here 20" in after, after
    progress = [e for e in events if e["type"] == "notebook.run_output"]
    assert any("answer is 42" in json.dumps(e["data"]) for e in progress), progress
    assert any(e["data"]["output"].get("ename") == "NameError" for e in progress), progress
    saved = nbformat.read(path, as_version=4)
    nbformat.validate(saved)
    assert [c.source for c in saved.cells] == [
        "base = 20",
        FIRST,
        "base / undefined_name_q",
        SLOW,
        "print('still here', base)",
    ]
    assert "answer is 42" in saved.cells[1].outputs[0]["text"]
    assert "image/png" in saved.cells[1].outputs[1]["data"]
    assert saved.cells[2].outputs[0]["ename"] == "NameError"
