"""What a Binder visitor gets: the environment has what the notebooks import, and the
getting-started notebook, opened by default, runs top to bottom (nbclient, a real
kernel) in DEMO MODE against ``jupyter lab`` configured by binder/, every answer
coming from the bundled fake and labelled as such."""

from __future__ import annotations

import ast
import os
import re
import shutil
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from demo_helpers import BINDER, DEMO_REPLY, start_env
from helpers import cell_with, outputs_text
from nbclient import NotebookClient
from server_process import JupyterServerProcess, lab_settings

pytestmark = pytest.mark.timeout(300)

NOTEBOOKS = BINDER.parent / "notebooks"
GETTING_STARTED = "getting-started.ipynb"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(spec: list[Any]) -> set[str]:
    """Distribution names of environment.yml's conda and pip dependencies."""
    names = set()
    for item in spec:
        for requirement in item["pip"] if isinstance(item, dict) else [item]:
            names.add(normalized(re.split(r"[\s<>=!~\[]", requirement, maxsplit=1)[0]))
    return names


def notebook_imports(path: Path) -> set[str]:
    """Modules a notebook's code cells import (magic lines skipped)."""
    modules = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or cell.source.startswith("%%"):
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
    return modules


def test_binder_environment_has_what_the_notebooks_import() -> None:
    env = yaml.safe_load((BINDER / "environment.yml").read_text())
    listed = requirement_names(env["dependencies"])
    post_build = (BINDER / "postBuild").read_text()
    installs = r"pip install [^\n]*?\"?\.(\[(?P<extras>[^\]]*)\])?\"?\s*$"  # . or ".[a,b]"
    install = re.search(installs, post_build, re.MULTILINE)
    assert install, post_build
    extras = {e.strip() for e in (install["extras"] or "").split(",")}
    dists = packages_distributions()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert GETTING_STARTED in [n.name for n in notebooks]
    for notebook in notebooks:
        for module in notebook_imports(notebook):
            top = module.split(".")[0]
            if module.startswith("jupyter_codex.kernel.widgets"):
                assert "widgets" in extras, f"{notebook.name} needs .[widgets] in postBuild"
            elif top != "jupyter_codex":
                providers = {normalized(d) for d in dists.get(top, [top])}
                assert providers & listed, f"{notebook.name} imports {top}: not in environment.yml"


def test_getting_started_runs_in_demo_mode(tmp_path: Path) -> None:
    root = tmp_path / "repo"  # Binder serves the checkout: notebooks/ at its root
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    home = tmp_path / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        for key, value in start_env().items():
            env.setenv(key, value)
        env.setenv("JUPYTER_CODEX_DATA_DIR", str(tmp_path / "data"))
        env.setenv("HOME", str(home))
        lab = JupyterServerProcess(
            root,
            tmp_path / "config",
            {},
            app="jupyterlab",
            extra_config={"LabApp": lab_settings(tmp_path)},
        )
        with lab.start(timeout=120), lab.client() as http:
            # The notebook opens by default, and the server says it runs the demo.
            r = http.get("/", follow_redirects=False)
            assert r.status_code in (301, 302), r.text
            location = r.headers["location"].split("?")[0]
            assert location.endswith(f"/lab/tree/notebooks/{GETTING_STARTED}"), location
            status = http.get("codex/api/status").json()
            assert status["demo_mode"] is True and status["banner"].startswith("DEMO MODE")

            # A kernel as the server starts it: pointed at this server, in notebooks/.
            notebook_path = root / "notebooks" / GETTING_STARTED
            kernel_env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("JUPYTER_CODEX_", "JPY_SESSION_NAME", "JUPYTERHUB_"))
            }
            kernel_env.update(
                JUPYTER_CODEX_SERVER_URL=lab.url + "/",
                JUPYTER_CODEX_SERVER_TOKEN=lab.token,
                JPY_SESSION_NAME=str(notebook_path),
            )
            notebook = nbformat.read(notebook_path, as_version=4)
            NotebookClient(
                notebook,
                timeout=180,
                kernel_name="python3",
                resources={"metadata": {"path": str(notebook_path.parent)}},
            ).execute(env=kernel_env)

            sessions = http.get("codex/api/sessions").json()["sessions"]

    demo = " ".join(DEMO_REPLY.split())
    shown = outputs_text(cell_with(notebook, "%codex_status"))
    assert "Target cli: codex" in shown and "account demo@example.com" in shown, shown
    assert shown.lstrip().startswith("DEMO MODE"), shown  # %codex_status leads with the banner
    # Every answer is the bundled fake's, and says so.
    for source in ("--context vars", "--format text", "%%codex --insert", "%codex_fix"):
        answer = outputs_text(cell_with(notebook, source))
        assert demo in answer and answer.count("DEMO MODE") >= 1, (source, answer)
    assert "KeyError" in outputs_text(cell_with(notebook, "sales['revenue'].sum()"))
    assert GETTING_STARTED in outputs_text(cell_with(notebook, "%codex_sessions"))
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "TextareaModel" for m in state.values())  # the chat widget
    # One session, the notebook's, with the fake's answers.
    assert [s["title"] for s in sessions] and all(GETTING_STARTED in str(s) for s in sessions)
    assert "DEMO MODE" in lab.log_path.read_text()
