"""Status tells the truth before codex starts; import reads the user's own codex login.

The server points ``CODEX_HOME`` at its managed terminal home at start; the panel's
import button (REST without a path) and ``jupyter codex accounts import`` without a
path must still read the user's real ``$CODEX_HOME`` as it was before, and say so.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, write_chatgpt_auth_json
from helpers import Api
from traitlets.config import Config


@pytest.fixture
def user_home(tmp_path: Path, fake_upstream: FakeUpstream) -> Path:
    """The user's own codex login, in their $CODEX_HOME (before the server starts)."""
    home = tmp_path / "users-own-codex"
    rt = fake_upstream.add_account("acct-own", "own@example.com", refresh_token="rt-own")
    write_chatgpt_auth_json(home, "own@example.com", "acct-own", rt)
    return home


@pytest.fixture
def jp_server_config(
    jp_server_config: Config,
    user_home: Path,
    codex_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    monkeypatch.setenv("CODEX_HOME", str(user_home))
    monkeypatch.delenv("JUPYTER_CODEX_USER_CODEX_HOME", raising=False)
    monkeypatch.delenv("JUPYTER_CODEX_MANAGED_CODEX_HOME", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # No auth.json in the cli target's home: only the router can make it ready.
    (codex_data_dir / "targets" / "cli" / "codex_home" / "auth.json").unlink()
    jp_server_config.UsageScheduler.poll_timeout = 0.5
    jp_server_config.AccountRouter.system_log_max_rows = 3
    return jp_server_config


async def test_status_is_ready_before_codex_starts_for_router_accounts_and_api_keys(
    api: Api, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = await api.call("GET", "status")
    assert status["targets"]["cli"]["state"] == "stopped"
    assert status["targets"]["cli"]["auth"]["ready"] is False
    # The api target has no account; OPENAI_API_KEY in the environment signs codex in.
    # (Checked before the import: a first account becomes active for both targets in
    # the import's own request.)
    assert status["targets"]["api"]["auth"]["ready"] is False
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "k" * 40)
    status = await api.call("GET", "status")
    assert status["targets"]["api"]["auth"]["ready"] is True
    assert status["targets"]["api"]["auth"]["source"] == "OPENAI_API_KEY"
    monkeypatch.delenv("OPENAI_API_KEY")
    account = await api.call("POST", "accounts", "import", body={})
    await api.call("PATCH", "targets", "cli", body={"account_id": account["id"]})
    status = await api.call("GET", "status")
    cli = status["targets"]["cli"]
    assert cli["state"] == "stopped"  # still not started just to ask
    assert cli["auth"] == {"ready": True, "source": "router", "type": "chatgpt"}


async def test_import_reads_the_users_own_codex_home_with_the_server_running(
    api: Api, jp_serverapp: Any, user_home: Path, codex_data_dir: Path
) -> None:
    await api.call("GET", "status")  # started
    # The server moved CODEX_HOME to its managed terminal home...
    assert os.environ["CODEX_HOME"] == str(codex_data_dir / "terminal_codex_home")
    # ...yet the panel's button (no path) imports the user's own login, and says from where.
    account = await api.call("POST", "accounts", "import", body={})
    assert account["email"] == "own@example.com"
    assert account["imported_from"] == str(user_home / "auth.json")

    # The CLI in a Jupyter terminal (its environment: the managed CODEX_HOME) does too.
    env = {**os.environ, "JUPYTER_CODEX_DATA_DIR": str(codex_data_dir)}
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jupyter_codex.cli", "accounts", "import", "--label", "Again"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert f"from {user_home / 'auth.json'}" in out.stdout
    # The same login again: the stored account is updated, not duplicated.
    accounts = (await api.call("GET", "accounts"))["accounts"]
    assert [a["email"] for a in accounts] == ["own@example.com"]


async def test_usage_poll_deadline_and_system_log_cap_are_traits(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any
) -> None:
    """``UsageScheduler.poll_timeout`` bounds a hanging usage poll (0.5 s here) and
    ``AccountRouter.system_log_max_rows`` caps the system log (3 here)."""
    account = await api.call("POST", "accounts", "import", body={})
    fake_upstream.usage_delay = 5.0
    started = asyncio.get_running_loop().time()
    polled = (await api.call("POST", "usage", "refresh"))["accounts"]
    assert asyncio.get_running_loop().time() - started < 4.0
    usage = next(a for a in polled if a["id"] == account["id"])["usage"]
    assert "no answer within" in usage["last_error"]
    fake_upstream.usage_delay = 0.0
    for target in ("cli", "api", "cli", "api"):  # switches, each a system-log entry
        await api.call("PATCH", "targets", target, body={"account_id": None})
        await api.call("PATCH", "targets", target, body={"account_id": account["id"]})
    entries = (await api.call("GET", "logs", limit=100))["entries"]
    assert len(entries) == 3
