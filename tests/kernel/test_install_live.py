"""What a plain ``pip install jupyter-codex`` gives a notebook: approval buttons
(ipywidgets and a click-capable ipykernel are core dependencies), and, where buttons
cannot work, a text that says where to decide and goes once it is decided."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

from fakes import exec_command, text
from kernel_driver import KernelDriver, final_plain
from kernel_live import Live
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: What only the text fallback says (the widget's own title also "asks for approval").
FALLBACK = "Decide in the Codex panel"
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def core_requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return {r.name.lower(): r for r in map(Requirement, project["dependencies"])}


def test_core_dependencies_bring_clickable_widgets() -> None:
    """No extra needed: the dependency set of ``pip install .`` has both, at versions
    that deliver clicks while a cell waits, and this environment satisfies it."""
    reqs = core_requirements()
    assert "ipywidgets" in reqs and "ipykernel" in reqs, sorted(reqs)
    assert not reqs["ipykernel"].specifier.contains("7.3.0")
    assert reqs["ipykernel"].specifier.contains("7.4.0")
    assert not reqs["ipywidgets"].specifier.contains("7.8.0")
    for name in ("ipywidgets", "ipykernel"):
        assert reqs[name].specifier.contains(version(name)), (name, version(name))


def test_buttons_in_a_cell_and_the_fallback_text_goes_after_the_decision(
    live: Live, nb: KernelDriver
) -> None:
    live.fake.script(
        "INSTALL-BUTTONS", exec_command("touch via-button.txt", escalated=True), text("Done.")
    )
    before = set(nb.widget_ids("ButtonModel", description="Accept"))
    run = nb.start("%codex INSTALL-BUTTONS")
    fresh = nb.wait_for(
        lambda: set(nb.widget_ids("ButtonModel", description="Accept")) - before,
        timeout=60,
        what="approval buttons",
    )
    assert not any(FALLBACK in t for t in run.plain_outputs() + [run.stdout]), run.describe()
    nb.click(next(iter(fresh)))
    nb.wait(run, timeout=60)
    assert run.status == "ok", run.describe()
    assert (live.project / "via-button.txt").exists()
    assert "exit 0" in final_plain(run)

    # %codex in a loop cannot take clicks: the text says where to decide, then goes.
    live.fake.script(
        "INSTALL-TEXT", exec_command("touch via-panel.txt", escalated=True), text("Ok.")
    )
    run = nb.start("for _ in range(1):\n    %codex INSTALL-TEXT")
    nb.wait_for(
        lambda: any(FALLBACK in t for t in run.plain_outputs()),
        timeout=60,
        what="the approval text",
    )
    shown = next(m for m in run.of_type("display_data") if FALLBACK in str(m))
    display_id = shown["content"]["transient"]["display_id"]
    with live.server.client() as http:
        pending = http.get("/codex/api/approvals").json()["approvals"]
        assert len(pending) == 1
        http.post(f"/codex/api/approvals/{pending[0]['id']}", json={"decision": "accept"})
    nb.wait(run, timeout=60)
    assert run.status == "ok", run.describe()
    assert not run.stdout.strip(), run.stdout
    updates = [
        m["content"]["data"].get("text/plain", "")
        for m in run.of_type("update_display_data")
        if m["content"]["transient"]["display_id"] == display_id
    ]
    assert updates == [""], updates  # the paragraph is gone from the cell
    assert (live.project / "via-panel.txt").exists()
