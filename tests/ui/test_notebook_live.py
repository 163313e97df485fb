"""Codex works on a notebook that is open in JupyterLab (real Chromium, real lab, the
real codex binary and the fake upstream scripted to call the ``notebook_*`` tools):
the browser serves the tools on the live document, so edits appear at once with no
"changed on disk" dialog, the user's unsaved cell stays, each edit is one undo step,
and a run waits for approval under the default policy and runs in the notebook's
own kernel."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from fakes import FakeUpstream, text, tool_call
from fakes.sse import inserted_cell_id
from ui_helpers import screenshot, wait_until, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "live/work.ipynb"
#: The notebook panel in front (earlier tests' notebooks stay open behind it).
CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"

SOURCES = """([path]) => {
  const panel = [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === path);
  return panel ? panel.context.model.sharedModel.cells.map(c => c.getSource()) : null;
}"""


def sources(page: Any, path: str = NOTEBOOK) -> list[str] | None:
    return page.evaluate(SOURCES, [path])  # type: ignore[no-any-return]


def turn_done(rest: httpx.Client, sid: str) -> bool:
    events = rest.get(f"/codex/api/sessions/{sid}/events").raise_for_status().json()["events"]
    return any(e["type"] == "turn.completed" for e in events)


KERNEL_READY = """async ([path]) => {
  const panel = [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === path);
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""


def open_notebook(page: Any, path: str, cells: int) -> None:
    page.evaluate(
        "async ([path]) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }",
        [path],
    )
    wait_until(lambda: (sources(page, path) or []).__len__() == cells, what="the notebook")
    page.wait_for_selector(f"{CURRENT} .jp-Cell")
    wait_until(lambda: page.evaluate(KERNEL_READY, [path]), what="the notebook's kernel")


def work_on_notebook(page: Any) -> str:
    """The panel's "Work on this notebook" command on the active notebook."""
    sid = page.evaluate(
        "() => window.jupyterapp.commands.execute('jupyter-codex:work-on-notebook')"
    )
    assert isinstance(sid, str) and sid
    return sid


def test_codex_edits_the_open_notebook_live_and_undo_reverts_one_edit(
    page: Any, rest: httpx.Client, lab_root: Path, ui_fake: FakeUpstream
) -> None:
    write_notebook(lab_root / NOTEBOOK, ("w1", "a = 1"), ("w2", "b = 2"))
    on_disk = (lab_root / NOTEBOOK).read_text()
    open_notebook(page, NOTEBOOK, 2)
    # The user adds a cell and types into it without saving.
    page.locator(f"{CURRENT} .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("user_unsaved = 42")
    page.keyboard.press("Escape")
    wait_until(lambda: "user_unsaved = 42" in (sources(page) or []), what="the typed cell")

    marker = "NB-LIVE edit the open notebook"
    ui_fake.script(
        marker,
        tool_call("notebook_insert_cell", {"source": "c = a + b", "after_cell_id": "w2"}),
        tool_call("notebook_edit_cell", {"cell_id": "w1", "source": "a = 100"}),
        text("Edited live."),
    )
    sid = work_on_notebook(page)
    rest.post(f"/codex/api/sessions/{sid}/messages", json={"text": marker}).raise_for_status()
    wait_until(lambda: turn_done(rest, sid), what="the turn")

    live = sources(page)
    assert live == ["a = 100", "b = 2", "c = a + b", "user_unsaved = 42"], live
    assert page.locator(".jp-Dialog").count() == 0  # no "file changed on disk"
    assert (lab_root / NOTEBOOK).read_text() == on_disk  # live, not on disk
    assert page.locator(".jp-codex-changed-cell").count() >= 1
    # From the tool call's arrival in the browser to the frame that shows the edit. Only
    # that it is measured: the 100 ms target is benchmarks/live_edit.py's (no timed tests).
    latency = float(page.locator(CURRENT).get_attribute("data-codex-last-edit-ms") or "nan")
    print(f"live edit visible {latency:.1f} ms after the tool call reached the browser")
    assert math.isfinite(latency) and latency >= 0, latency
    results = json.dumps(
        [r.function_call_outputs for r in ui_fake.responses_requests(containing=marker)]
    )
    assert "Inserted cell" in results and "Edited cell w1" in results
    screenshot(page, "notebook-live-edit", CURRENT)

    # Undo reverts the last Codex edit, and only that one.
    page.evaluate(
        """([path]) => {
          const panel = [...window.jupyterapp.shell.widgets('main')]
            .find(w => w.context && w.context.path === path);
          panel.context.model.sharedModel.undo();
        }""",
        [NOTEBOOK],
    )
    assert sources(page) == ["a = 1", "b = 2", "c = a + b", "user_unsaved = 42"]


def test_a_live_run_waits_for_approval_and_runs_in_the_notebook_kernel(
    page: Any, rest: httpx.Client, lab_root: Path, ui_fake: FakeUpstream
) -> None:
    path = "live/run.ipynb"
    write_notebook(lab_root / path, ("r1", "print('ran live', 6 * 7)"))
    open_notebook(page, path, 1)
    marker = "NB-LIVE-RUN run the cell"
    ui_fake.script(marker, tool_call("notebook_run_cell", {"cell_id": "r1"}), text("Ran."))
    sid = work_on_notebook(page)
    rest.post(f"/codex/api/sessions/{sid}/messages", json={"text": marker}).raise_for_status()

    def pending() -> list[dict[str, Any]]:
        approvals = rest.get("/codex/api/approvals").json()["approvals"]
        return [a for a in approvals if a["session_id"] == sid]

    approval = wait_until(pending, what="the run's approval")[0]
    assert approval["kind"] == "notebook_run" and "ran live" in approval["command"]
    assert len(ui_fake.responses_requests(containing=marker)) == 1  # waiting for us
    rest.post(
        f"/codex/api/approvals/{approval['id']}", json={"decision": "accept"}
    ).raise_for_status()
    wait_until(lambda: turn_done(rest, sid), what="the turn")
    follow_up = json.dumps(ui_fake.responses_requests(containing=marker)[1].function_call_outputs)
    assert "ran live 42" in follow_up
    # The outputs are in the live document (every view shows them), not only sent back.
    outputs = """([path]) => {
      const panel = [...window.jupyterapp.shell.widgets('main')]
        .find(w => w.context && w.context.path === path);
      return JSON.stringify(panel.context.model.sharedModel.cells[0].getOutputs());
    }"""
    wait_until(lambda: "ran live 42" in page.evaluate(outputs, [path]), what="the cell's output")


def test_inline_edit_accept_and_reject(
    page: Any, rest: httpx.Client, lab_root: Path, ui_fake: FakeUpstream
) -> None:
    path = "live/inline.ipynb"
    write_notebook(lab_root / path, ("i1", "total = 0\nfor v in values:\n    total += v"))
    open_notebook(page, path, 1)
    ui_fake.script("INLINE-ACCEPT", text("```python\ntotal = sum(values)\n```"))
    ui_fake.script("INLINE-REJECT", text("```python\ntotal = 0  # rejected\n```"))

    def edit(instruction: str, button: str) -> None:
        page.locator(f"{CURRENT} .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+i")  # the shortcut of jupyter-codex:inline-edit
        page.wait_for_selector(".jp-Dialog input")
        page.fill(".jp-Dialog input", instruction)
        page.keyboard.press("Enter")
        box = page.locator(".jp-codex-InlineEdit[data-state=proposed]")
        box.wait_for(timeout=60_000)
        assert box.locator(".jp-codex-DiffRemoved").count() >= 1  # a diff, in place
        screenshot(page, f"inline-edit-{button.lower()}", CURRENT)
        box.get_by_role("button", name=button).click()
        page.wait_for_selector(".jp-codex-InlineEdit", state="detached")

    edit("INLINE-REJECT make it shorter", "Reject")
    assert sources(page, path) == ["total = 0\nfor v in values:\n    total += v"]
    edit("INLINE-ACCEPT use sum", "Accept")
    assert sources(page, path) == ["total = sum(values)"]
    assert page.locator(".jp-Dialog").count() == 0
    titles = [s["title"] for s in rest.get("/codex/api/sessions").json()["sessions"]]
    assert f"Inline edit: {path}" in titles  # in the session history


FILE_EDITOR = ".jp-Document:not(.lm-mod-hidden) .jp-FileEditor"

FILE_SOURCE = """([path]) => {
  const widget = [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === path);
  return widget ? widget.context.model.sharedModel.getSource() : null;
}"""

SELECT = """([path, from, to]) => {
  const widget = [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === path);
  const editor = widget.content.editor;
  editor.focus();
  editor.setSelection({start: from, end: to});
}"""


def test_inline_edit_of_a_file_editor_selection_accept_and_reject(
    page: Any, rest: httpx.Client, lab_root: Path, ui_fake: FakeUpstream
) -> None:
    """Ctrl/Cmd+I in a file editor: the selection (or, with none, the cursor's line) is
    rewritten in place; Accept replaces only that range, as one undo step."""
    path = "live/inline_file.py"
    original = "values = [1, 2, 3]\ntotal = 0\nfor v in values:\n    total += v\nprint(total)\n"
    (lab_root / path).parent.mkdir(parents=True, exist_ok=True)
    (lab_root / path).write_text(original)
    page.evaluate(
        "async ([path]) => { await window.jupyterapp.commands.execute("
        "'docmanager:open', {path, factory: 'Editor'}); }",
        [path],
    )
    page.wait_for_selector(f"{FILE_EDITOR} .cm-content")
    wait_until(lambda: page.evaluate(FILE_SOURCE, [path]) == original, what="the file")
    ui_fake.script("FILE-REJECT", text("```python\nprint('total:', total)\n```"))
    ui_fake.script("FILE-ACCEPT", text("```python\ntotal = sum(values)\n```"))

    def edit(instruction: str, button: str) -> Any:
        page.keyboard.press("Control+i")  # the shortcut of jupyter-codex:inline-edit
        page.wait_for_selector(".jp-Dialog input")
        page.fill(".jp-Dialog input", instruction)
        page.keyboard.press("Enter")
        box = page.locator(f"{FILE_EDITOR} > .jp-codex-InlineEdit[data-state=proposed]")
        box.wait_for(timeout=60_000)
        assert box.locator(".jp-codex-DiffRemoved").count() >= 1  # a diff, in place
        screenshot(page, f"inline-file-edit-{button.lower()}", FILE_EDITOR)
        shown = box.inner_text()
        box.get_by_role("button", name=button).click()
        page.wait_for_selector(f"{FILE_EDITOR} > .jp-codex-InlineEdit", state="detached")
        return shown

    # No selection: the cursor's line (print(total)) is what Codex rewrites; rejected.
    page.evaluate(SELECT, [path, {"line": 4, "column": 3}, {"line": 4, "column": 3}])
    shown = edit("FILE-REJECT label the total", "Reject")
    assert "- print(total)" in shown and "+ print('total:', total)" in shown, shown
    assert "total += v" not in shown  # only the line, not the file
    assert page.evaluate(FILE_SOURCE, [path]) == original
    asked = ui_fake.responses_requests(containing="FILE-REJECT")[-1].body
    assert "Rewrite only the selected part" in json.dumps(asked)

    # A selection of three lines: only they are replaced, as one undo step.
    page.evaluate(SELECT, [path, {"line": 1, "column": 0}, {"line": 3, "column": 14}])
    edit("FILE-ACCEPT use sum", "Accept")
    expected = "values = [1, 2, 3]\ntotal = sum(values)\nprint(total)\n"
    wait_until(lambda: page.evaluate(FILE_SOURCE, [path]) == expected, what="the accepted edit")
    assert page.locator(".jp-Dialog").count() == 0
    page.locator(f"{FILE_EDITOR} .cm-content").click()
    page.keyboard.press("Control+z")
    wait_until(lambda: page.evaluate(FILE_SOURCE, [path]) == original, what="one undo step")
    titles = [s["title"] for s in rest.get("/codex/api/sessions").json()["sessions"]]
    assert f"Inline edit: {path}" in titles  # in the session history


OUTPUTS = """([path]) => {
  const panel = [...window.jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === path);
  return JSON.stringify(panel.context.model.sharedModel.cells.map(c => c.getOutputs()));
}"""


def test_codex_cell_runs_a_cell_of_its_open_notebook(
    page: Any, rest: httpx.Client, lab_root: Path, ui_fake: FakeUpstream
) -> None:
    """A ``%codex`` cell in a notebook open in Lab: the browser serves the tools, and the
    cell Codex inserts runs in the notebook's kernel beside the busy ``%codex`` cell
    (a subshell), with its outputs in that cell and in the model's next request."""
    path = "live/codex_own.ipynb"
    marker = "UI-OWN-1 use base"
    write_notebook(
        lab_root / path,
        ("k1", "base = 20"),
        ("k2", "%load_ext jupyter_codex"),
        ("k3", f"%codex {marker}"),
    )
    ui_fake.script(
        marker,
        tool_call("notebook_insert_cell", {"source": "print('answer is', base + 22)"}),
        tool_call("notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body)}),
        tool_call("notebook_insert_cell", {"source": "base / undefined_name_q"}),
        tool_call("notebook_run_cell", lambda body: {"cell_id": inserted_cell_id(body)}),
        text("Both ran."),
    )
    open_notebook(page, path, 3)
    # Not awaited: the command resolves when the %codex cell is done, after the approval.
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def pending() -> list[Any]:
        approvals = rest.get("/codex/api/approvals").json()["approvals"]
        return [a for a in approvals if a["kind"] == "notebook_run"]

    approval = wait_until(pending, what="the run's approval")[0]
    rest.post(
        f"/codex/api/approvals/{approval['id']}", json={"decision": "acceptForSession"}
    ).raise_for_status()
    wait_until(
        lambda: "Both ran." in page.evaluate(OUTPUTS, [path]), 90, what="the end of the turn"
    )
    cells = sources(page, path)
    assert cells is not None and cells[3:] == [
        "print('answer is', base + 22)",
        "base / undefined_name_q",
    ]
    outputs = json.loads(page.evaluate(OUTPUTS, [path]))
    assert "answer is 42" in json.dumps(outputs[3]), outputs[3]  # in the inserted cell
    assert outputs[4] and outputs[4][0]["ename"] == "NameError", outputs[4]
    on_disk = nbformat.read(lab_root / path, as_version=4)
    assert len(on_disk.cells) == 3  # live edits only: nothing written behind Lab's back
    requests = ui_fake.responses_requests(containing=marker)
    first = json.dumps(requests[2].function_call_outputs)
    assert "answer is 42" in first and "subshell" in first, first
    second = json.dumps(requests[4].function_call_outputs)
    assert "NameError" in second and "undefined_name_q" in second, second
    sid = next(
        x["id"] for x in rest.get("/codex/api/sessions").json()["sessions"] if x["notebook"] == path
    )
    events = rest.get(f"/codex/api/sessions/{sid}/events").json()["events"]
    progress = [e["data"]["output"] for e in events if e["type"] == "notebook.run_output"]
    assert any("answer is 42" in json.dumps(o) for o in progress), progress  # streamed
    assert any(o.get("ename") == "NameError" for o in progress), progress
