"""Notebook tool calls in the panel's timeline (real Chromium, real lab, the real codex
binary, the fake upstream scripted to call the ``notebook_*`` tools on a notebook open in
JupyterLab, so this browser serves them): an edit shows as a cell diff with the old and
the new source, "Go to cell" brings the notebook to the front with that cell selected, a
run streams its outputs into the timeline while it runs (text, an image inline, an error
with its traceback), and a reopened session (another browser, replaying the stored
history) shows the same. Calls the server served on a closed notebook render alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, text, tool_call
from server_process import JupyterServerProcess
from test_a11y import serious_violations
from test_notebook_live import open_notebook, turn_done, work_on_notebook
from ui_helpers import bring_into_view, open_lab, screenshot, wait_until, write_notebook

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
NOTEBOOK = "tl/plot.ipynb"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
RUN = (
    "import base64, time\nfrom IPython.display import Image, clear_output, display\n"
    "print('warming up', flush=True)\ntime.sleep(0.3)\nclear_output()\n"  # gone from the timeline
    "for i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(1.0)\n"
    f"display(Image(data=base64.b64decode('{PNG}')))\nprint('done ticking')"
)
EDIT = ".jp-codex-NotebookCall[data-tool=notebook_edit_cell]"
RUN_CALL = ".jp-codex-NotebookCall[data-tool=notebook_run_cell]"

CURRENT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cell = w && w.content && w.content.activeCell;
  return {path: w && w.context ? w.context.path : null, cell: cell ? cell.model.id : null};
}"""


def check_rendered(page: Any) -> None:
    """The edit's diff and the runs' outputs, as the timeline shows them."""
    edit = page.locator(f"{PANEL} {EDIT}")
    edit.wait_for()
    bring_into_view(edit)  # off-screen bubbles have no innerText
    assert "Edited cell e1" in edit.inner_text()
    assert edit.locator(".jp-codex-Diff-del").all_inner_texts() == ["-total = 1"]
    assert edit.locator(".jp-codex-Diff-add").all_inner_texts() == ["+total = 100"]
    assert edit.locator(".jp-codex-Diff-ctx").all_inner_texts() == [" print(total)"]
    run = page.locator(f"{PANEL} {RUN_CALL}[data-cell-id=r1]")
    bring_into_view(run)
    stream = run.locator(".jp-codex-CellStream").first.inner_text()
    assert stream == "tick 0\ntick 1\ntick 2", stream
    assert "done ticking" in run.inner_text()
    assert "warming up" not in run.inner_text()  # the cell cleared it
    image = run.locator("img.jp-codex-CellImage")
    assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
    wait_until(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 1, 10, "image")
    error = page.locator(f"{PANEL} {RUN_CALL}[data-cell-id=z1] .jp-codex-CellError")
    bring_into_view(error)
    assert "ZeroDivisionError" in error.inner_text()
    assert "Traceback" in error.inner_text() and "\x1b" not in error.inner_text()


def test_notebook_calls_show_diffs_outputs_and_go_to_cell_live_and_replayed(
    browser: Any,
    lab: JupyterServerProcess,
    rest: httpx.Client,
    lab_root: Path,
    ui_fake: FakeUpstream,
) -> None:
    write_notebook(
        lab_root / NOTEBOOK,
        ("r1", RUN),
        ("z1", "1 / 0"),
        ("e1", "total = 1\nprint(total)"),
    )
    (lab_root / "tl" / "notes.txt").write_text("elsewhere\n")
    marker = "NB-TIMELINE edit then run"
    ui_fake.script(
        marker,
        tool_call("notebook_read", {}),
        tool_call("notebook_edit_cell", {"cell_id": "e1", "source": "total = 100\nprint(total)"}),
        tool_call("notebook_run_cell", {"cell_id": "r1"}),
        tool_call("notebook_run_cell", {"cell_id": "z1"}),
        text("Edited and ran."),
    )
    page = open_lab(browser, lab)
    try:
        open_notebook(page, NOTEBOOK, 3)
        sid = work_on_notebook(page)
        rest.post(f"/codex/api/sessions/{sid}/messages", json={"text": marker}).raise_for_status()

        # The run asks first (default policy): the run's own bubble is the card, and
        # shows the cell it will run. Approve it for the session in the panel.
        card = page.locator(f"{PANEL} {RUN_CALL}.jp-codex-ApprovalCard.jp-mod-waiting")
        card.wait_for(timeout=60_000)
        assert "waiting for approval" in card.inner_text()
        assert "print('tick', i, flush=True)" in card.locator(".jp-codex-CellText").inner_text()
        assert page.locator(f"{PANEL} .jp-codex-ApprovalCard").count() == 1  # no second card
        screenshot(page, "notebook-run-approval", PANEL)
        card.get_by_role("button", name="Approve for session").click()
        # Its outputs stream in while the call still runs (the browser serves it).
        page.locator(
            f"{PANEL} {RUN_CALL}[data-status=in_progress] .jp-codex-CellStream:has-text('tick 0')"
        ).wait_for(timeout=30_000)
        wait_until(lambda: turn_done(rest, sid), what="the turn")
        page.locator(f"{PANEL} {RUN_CALL}[data-cell-id=z1][data-status=completed]").wait_for()
        read = page.locator(f"{PANEL} .jp-codex-NotebookCall[data-tool=notebook_read]")
        assert read.inner_text().startswith("Read cells 1–3 of 3")
        check_rendered(page)
        screenshot(page, "notebook-timeline", PANEL)
        page.locator(f"{PANEL} .jp-codex-Timeline").hover()
        page.mouse.wheel(0, -1200)  # the user's scroll: the timeline stops following
        page.wait_for_timeout(300)
        screenshot(page, "notebook-timeline-diff", PANEL)

        # "Go to cell": from another document, back to the notebook with e1 selected.
        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute("
            "'docmanager:open', {path: 'tl/notes.txt'}); }"
        )
        wait_until(lambda: page.evaluate(CURRENT)["path"] == "tl/notes.txt", what="the text file")
        page.locator(f"{PANEL} {EDIT}").get_by_role("button", name="Go to cell").click()
        wait_until(
            lambda: page.evaluate(CURRENT) == {"path": NOTEBOOK, "cell": "e1"},
            10,
            "the notebook in front with cell e1 selected",
        )
        selected = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active")
        assert "total = 100" in selected.inner_text()
    finally:
        page.context.close()

    # Reopened elsewhere: the stored history renders the same (no live events, no host
    # for a notebook this browser has not opened).
    again = open_lab(browser, lab)
    try:
        again.evaluate(
            "async () => { await window.jupyterapp.commands.execute('jupyter-codex:open'); }"
        )
        again.wait_for_selector(f"{PANEL}:visible")
        back = again.locator(f"{PANEL} .jp-codex-Back")
        if back.count():
            back.click()
        again.locator(
            f"{PANEL} .jp-codex-SessionItem[data-session-id='{sid}'] .jp-codex-SessionOpen"
        ).click()
        again.wait_for_selector(f"{PANEL} .jp-codex-Timeline[data-ready=true]")
        check_rendered(again)
        screenshot(again, "notebook-timeline-replayed", PANEL)
        # Diffs, outputs and the traceback keep to the theme's readable colours.
        assert serious_violations(again, PANEL) == []
    finally:
        again.context.close()


def test_calls_the_server_served_on_a_closed_notebook_render_alike(
    browser: Any,
    lab: JupyterServerProcess,
    rest: httpx.Client,
    lab_root: Path,
    ui_fake: FakeUpstream,
) -> None:
    path = "tl/closed.ipynb"
    write_notebook(lab_root / path, ("c1", "value = 1"), ("c2", "print('from disk', 6 * 7)"))
    marker = "NB-TIMELINE-CLOSED edit and run on disk"
    ui_fake.script(
        marker,
        tool_call("notebook_edit_cell", {"cell_id": "c1", "source": "value = 2"}),
        tool_call("notebook_run_cell", {"cell_id": "c2"}),
        text("Done on disk."),
    )
    session = rest.post(
        "/codex/api/sessions", json={"notebook": path, "approval_policy": "never"}
    ).raise_for_status()
    sid = session.json()["id"]
    rest.post(f"/codex/api/sessions/{sid}/messages", json={"text": marker}).raise_for_status()
    wait_until(lambda: turn_done(rest, sid), 90, "the turn")
    page = open_lab(browser, lab)
    try:
        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute('jupyter-codex:open'); }"
        )
        back = page.locator(f"{PANEL} .jp-codex-Back")
        if back.count():
            back.click()
        page.locator(
            f"{PANEL} .jp-codex-SessionItem[data-session-id='{sid}'] .jp-codex-SessionOpen"
        ).click()
        edit = page.locator(f"{PANEL} {EDIT}")
        edit.wait_for()
        bring_into_view(edit)  # off-screen bubbles have no innerText
        assert edit.locator(".jp-codex-Diff-del").all_inner_texts() == ["-value = 1"]
        assert edit.locator(".jp-codex-Diff-add").all_inner_texts() == ["+value = 2"]
        run = page.locator(f"{PANEL} {RUN_CALL}[data-cell-id=c2]")
        bring_into_view(run)
        assert run.locator(".jp-codex-CellStream").inner_text() == "from disk 42"
        # Go to cell opens the closed notebook with the cell selected.
        run.get_by_role("button", name="Go to cell").click()
        wait_until(
            lambda: page.evaluate(CURRENT) == {"path": path, "cell": "c2"},
            30,
            "the notebook opened at cell c2",
        )
    finally:
        page.context.close()
