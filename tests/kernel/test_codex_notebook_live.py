"""``%codex`` sessions are notebook sessions: a ``%codex`` turn in a notebook can insert
a cell into that notebook and run one of its cells (here the notebook is not open in a
browser, so the server serves the tools: on the file, and in the kernel of the
notebook's Jupyter session)."""

from __future__ import annotations

import json
import time

import nbformat
from fakes import text, tool_call
from kernel_driver import final_plain, kernel
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
