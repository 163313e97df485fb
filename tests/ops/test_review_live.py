"""``jupyter codex review`` in a git repository with a change: locally (``review/start`` in
a session for the folder, real codex) and ``--remote`` through the proxy with a proxy key
(the runner never talks to Jupyter itself)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fakes import text
from ops_server import Ops, proxy_key


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(ops: Ops) -> Path:
    folder = ops.root / "reviewed"
    folder.mkdir()
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "config", "user.email", "t@example.com")
    _git(folder, "config", "user.name", "T")
    (folder / "calc.py").write_text("def div(a, b):\n    return a / b\n")
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "first")
    _git(folder, "checkout", "-qb", "feature")
    (folder / "calc.py").write_text("def div(a, b):\n    return a // b  # REVIEW-DIFF-MARK\n")
    _git(folder, "commit", "-qam", "integer division")
    (folder / "notes.txt").write_text("uncommitted REVIEW-UNCOMMITTED-MARK\n")
    return folder


def test_local_review_runs_review_start_in_a_session_for_the_folder(ops: Ops, repo: Path) -> None:
    ops.fake.script("REVIEW-LOCAL-1", text("Integer division truncates: use `/` (calc.py:2)."))
    out = ops.cli(
        "review",
        "--base",
        "main",
        "--focus",
        "REVIEW-LOCAL-1 division semantics",
        "--json",
        cwd=repo,
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert "Integer division truncates" in answer["review"]
    session = json.loads(ops.cli("sessions", "show", answer["session_id"], "--json").stdout)
    assert session["cwd"] == "reviewed" and session["sandbox"] == "read-only"
    events = json.loads(ops.cli("sessions", "events", answer["session_id"], "--json").stdout)
    kinds = {e["data"].get("item_type") for e in events if e["type"].startswith("item.")}
    assert "entered_review_mode" in kinds, kinds  # codex ran review/start
    request = ops.fake.responses_requests(containing="REVIEW-LOCAL-1")[0]
    assert "main...HEAD" in json.dumps(request.body)

    markdown = ops.cli("review", "--focus", "REVIEW-LOCAL-1 again", cwd=repo)
    assert markdown.returncode == 0 and markdown.stdout.startswith("# Codex review\n")


def test_local_review_against_a_base_branch_uses_codex_base_branch_target(
    ops: Ops, repo: Path
) -> None:
    _git(repo, "branch", "-f", "revbase-mark", "main")
    ops.fake.script("revbase-mark", text("No findings against the base."))
    out = ops.cli("review", "--base", "revbase-mark", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "No findings against the base." in out.stdout
    prompt = json.dumps(ops.fake.responses_requests(containing="revbase-mark")[0].body)
    assert "Focus on" not in prompt  # codex's own base-branch review, no custom text


def test_remote_review_sends_the_diff_through_the_proxy_with_a_key(ops: Ops, repo: Path) -> None:
    key = proxy_key(ops)
    ops.fake.script("REVIEW-DIFF-MARK", text("## Findings\n- `//` truncates (calc.py:2)."))
    env = ops.env(JUPYTER_RUNTIME_DIR=str(repo / "nowhere"), JUPYTER_CODEX_KEY=key)
    out = ops.cli(
        "review", "--remote", ops.url, "--base", "main", "--focus", "division", cwd=repo, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Codex review\n") and "`//` truncates" in out.stdout
    sent = json.dumps(ops.fake.responses_requests(containing="REVIEW-DIFF-MARK")[-1].body)
    assert "REVIEW-UNCOMMITTED-MARK" in sent and "Focus on: division" in sent

    ops.fake.script("def div(a, b)", text("The whole tree looks fine."))
    full = ops.cli("review", "--remote", ops.url, "--scope", "full", "--json", cwd=repo, env=env)
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["review"] == "The whole tree looks fine."
    sent = json.dumps(ops.fake.responses_requests(containing="===== calc.py")[-1].body)
    assert "tracked files" in sent and "notes.txt" not in sent  # untracked: not in a full tree

    wrong = ops.cli("review", "--remote", ops.url, "--key", "jcx-" + "0" * 40, cwd=repo, env=env)
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: ")
    assert len(wrong.stderr.strip().splitlines()) == 1
