"""docs/examples/github-code-review.yml: valid against the workflow schema this test ships
(GitHub's syntax, strict about unknown keys), wired as documented, and its review step's
script, run here with bash, reviews a change through the proxy with a proxy key."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fakes import text
from ops_server import Ops, proxy_key

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "examples" / "github-code-review.yml"
SCHEMA = json.loads((Path(__file__).parent / "github-workflow.schema.json").read_text())


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    steps = workflow["jobs"]["review"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def test_the_workflow_is_valid_and_wired_as_documented() -> None:
    workflow = load()
    jsonschema.validate(workflow, SCHEMA)
    triggers = workflow["on"]
    assert "pull_request" in triggers
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"target_ref", "review_scope", "review_focus"}
    assert inputs["review_scope"]["options"] == ["diff", "full"]
    assert workflow["permissions"]["pull-requests"] == "write"
    review = step(workflow, "Review")
    assert review["env"]["JUPYTER_CODEX_URL"] == "${{ secrets.JUPYTER_CODEX_URL }}"
    assert review["env"]["JUPYTER_CODEX_KEY"] == "${{ secrets.JUPYTER_CODEX_KEY }}"
    assert "jupyter codex" in review["run"] and "--remote" in review["run"]
    assert "gh pr comment" in step(workflow, "Post the review on the pull request")["run"]

    broken = copy.deepcopy(workflow)  # the schema does reject mistakes
    broken["jobs"]["review"]["steps"][0]["run"] = "echo both uses and run"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    broken = copy.deepcopy(workflow)
    broken["jobs"]["review"]["runs_on"] = broken["jobs"]["review"].pop("runs-on")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_the_review_step_reviews_a_pull_request_through_the_proxy(ops: Ops, tmp_path: Path) -> None:
    repo = tmp_path / "pr"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=T"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "app.py").write_text("print('hello')\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    subprocess.run([*git, "checkout", "-qb", "pr"], cwd=repo, check=True)
    (repo / "app.py").write_text("print('hello')  # WORKFLOW-MARK\n")
    subprocess.run([*git, "commit", "-qam", "change"], cwd=repo, check=True)
    ops.fake.script("WORKFLOW-MARK", text("Looks fine. No findings."))

    summary = tmp_path / "summary.md"
    bin_dir = str(Path(sys.executable).parent)
    env = ops.env(
        JUPYTER_RUNTIME_DIR=str(tmp_path / "no-jupyter-here"),
        JUPYTER_CODEX_URL=ops.url,
        JUPYTER_CODEX_KEY=proxy_key(ops),
        REVIEW_BASE="main",
        REVIEW_SCOPE="diff",
        REVIEW_FOCUS="",
        GITHUB_STEP_SUMMARY=str(summary),
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    script = step(load(), "Review")["run"]
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    review = (repo / "review.md").read_text()
    assert review.startswith("# Codex review") and "No findings." in review
    assert summary.read_text() == review
    sent = json.dumps(ops.fake.responses_requests(containing="WORKFLOW-MARK")[-1].body)
    assert "app.py" in sent
