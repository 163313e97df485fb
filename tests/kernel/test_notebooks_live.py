"""The demo notebooks in notebooks/ run top to bottom (nbclient) against a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from fakes import text
from helpers import cell_with, outputs_text
from kernel_live import Live
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(live: Live, name: str) -> Any:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    path = live.project / name
    env = live.kernel_env(JPY_SESSION_NAME=str(path))
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(live.project)}},
    )
    client.execute(env=env)
    return notebook


@pytest.mark.parametrize("name", ["getting-started.ipynb", "accounts-and-usage.ipynb"])
def test_notebooks_are_clean(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_getting_started_runs_top_to_bottom(live: Live) -> None:
    live.fake.script("What is in sales", text("**sales** has 4 regions; a bar chart fits."))
    live.fake.script("why might", text("North has the lowest price but one."))
    code = "sales['revenue'] = sales.units * sales.price\nsales.sort_values('revenue')"
    live.fake.script("Add a revenue column", text(f"```python\n{code}\n```"))
    live.fake.script("Fix the error raised", text("Create the revenue column first."))

    notebook = execute(live, "getting-started.ipynb")

    assert "a bar chart fits" in outputs_text(cell_with(notebook, "--context vars"))
    assert "lowest price" in outputs_text(cell_with(notebook, "--format text"))
    assert "sort_values" in outputs_text(cell_with(notebook, "--insert"))
    assert "KeyError" in outputs_text(cell_with(notebook, "sales['revenue'].sum()"))
    assert "revenue column first" in outputs_text(cell_with(notebook, "%codex_fix"))
    assert "getting-started.ipynb" in outputs_text(cell_with(notebook, "%codex_sessions"))
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in live.fake.responses_requests()]
    assert any("sales: pandas.DataFrame with 4 rows × 3 columns" in b for b in bodies)
    assert any("KeyError" in b and "Traceback" in b for b in bodies)
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "TextareaModel" for m in state.values())  # the chat widget


def test_accounts_and_usage_runs_top_to_bottom(live: Live) -> None:
    notebook = execute(live, "accounts-and-usage.ipynb")
    listed = outputs_text(next(c for c in notebook.cells if c.source == "%codex_accounts"))
    assert live.account_id in listed and "tester@example.com" in listed
    mine = outputs_text(cell_with(notebook, "client.accounts()"))
    assert "Work: " in mine and "cli" in mine and "70% of 5 h, 90% of the week" in mine
    used = outputs_text(cell_with(notebook, "--target cli"))
    assert f"Target cli now uses account {live.account_id}" in used
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert bars and {round(b["state"]["value"]) for b in bars} >= {70, 90}
    assert any("<svg" in str(m["state"].get("value", "")) for m in state.values())
