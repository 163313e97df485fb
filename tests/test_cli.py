"""``jupyter codex`` against a real store, with the server stopped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fakes import FakeUpstream, write_chatgpt_auth_json

KEY = "sk-proj-clitest0123456789abcdef"


def run(
    data_dir: Path, *args: str, fake: FakeUpstream | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_CODEX_DATA_DIR": str(data_dir)}
    if fake is not None:
        env |= {
            "JUPYTER_CODEX_CHATGPT_BASE_URL": fake.chatgpt_base_url,
            "JUPYTER_CODEX_AUTH_BASE_URL": fake.auth_base_url,
            "JUPYTER_CODEX_CA_CERTIFICATE": fake.ca_path,
        }
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codex.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_accounts_lifecycle_and_json_contract(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    data = tmp_path / "data"
    assert "No accounts" in run(data, "accounts", "list").stdout

    home = tmp_path / "codex_home"
    rt = fake_upstream.add_account("acct-9", "nine@example.com", refresh_token="rt-nine")
    auth = write_chatgpt_auth_json(home, "nine@example.com", "acct-9", rt)
    out = run(data, "accounts", "import", "--auth-json", str(auth), "--label", "Nine")
    assert out.returncode == 0, out.stderr
    out = run(data, "accounts", "add-key", "--api-key", KEY, "--label", "Key")
    assert out.returncode == 0 and KEY not in out.stdout + out.stderr

    listed = json.loads(run(data, "accounts", "list", "--json").stdout)
    assert {a["kind"] for a in listed} == {"chatgpt", "api_key"}
    for account in listed:
        for field in ("id", "label", "email", "kind", "status", "active_targets", "usage"):
            assert field in account
    nine = next(a for a in listed if a["kind"] == "chatgpt")
    assert nine["email"] == "nine@example.com" and nine["label"] == "Nine"

    assert run(data, "accounts", "use", nine["id"], "--target", "cli").returncode == 0
    listed = json.loads(run(data, "accounts", "list", "--json").stdout)
    assert next(a for a in listed if a["id"] == nine["id"])["active_targets"] == ["cli"]

    fake_upstream.set_usage("acct-9", primary_used=30, secondary_used=60)
    usage = json.loads(run(data, "usage", "--refresh", "--json", fake=fake_upstream).stdout)
    polled = next(a for a in usage if a["id"] == nine["id"])["usage"]
    assert polled["primary_used_percent"] == 30 and polled["secondary_used_percent"] == 60
    assert polled["fetched_at"]

    logs = run(data, "logs").stdout
    assert "switch" in logs and "rt-nine" not in logs

    assert run(data, "accounts", "remove", nine["id"]).returncode == 0
    assert len(json.loads(run(data, "accounts", "list", "--json").stdout)) == 1


def test_bad_input_is_one_readable_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args, needle in [
        (
            ("accounts", "import", "--auth-json", str(tmp_path / "missing.json")),
            "No Codex auth.json",
        ),
        (("accounts", "add-key", "--api-key", "nope"), "API key"),
        (("accounts", "use", "nope", "--target", "api"), "nope"),
        (("accounts", "remove", "nope"), "nope"),
    ]:
        out = run(data, *args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("error: ") and needle in out.stderr
        assert "Traceback" not in out.stderr


def test_jupyter_subcommand_is_installed(tmp_path: Path) -> None:
    jupyter = shutil.which("jupyter")
    assert jupyter, "jupyter is installed with jupyter_server"
    env = {**os.environ, "JUPYTER_CODEX_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [jupyter, "codex", "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "accounts" in out.stdout, out.stderr
