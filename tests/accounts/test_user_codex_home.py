"""Opt-in: keep the cli target's login in the user's own CODEX_HOME instead of a managed one."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from fakes import FakeUpstream, chatgpt_auth_json
from helpers import Api
from traitlets.config import Config


@pytest.fixture
def user_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "my-codex"
    monkeypatch.setenv("CODEX_HOME", str(home))
    return home


@pytest.fixture
def jp_server_config(jp_server_config: Config, user_codex_home: Path) -> Config:
    jp_server_config.CodexExtensionApp.manage_user_codex_home = True
    return jp_server_config


async def test_cli_target_login_goes_to_the_users_codex_home(
    api: Api, fake_upstream: FakeUpstream, user_codex_home: Path, codex_data_dir: Path
) -> None:
    rt = fake_upstream.add_account("acct-u", "u@example.com", refresh_token="rt-u")
    account = await api.call(
        "POST",
        "accounts",
        "import",
        body={"auth_json": chatgpt_auth_json("u@example.com", "acct-u", rt)},
    )
    await api.call("PATCH", "targets", "cli", body={"account_id": account["id"]})
    auth = user_codex_home / "auth.json"
    for _ in range(50):
        if auth.exists():
            break
        await asyncio.sleep(0.1)
    assert json.loads(auth.read_text())["tokens"]["account_id"] == "acct-u"
    assert os.environ["CODEX_HOME"] == str(user_codex_home)
    assert not (codex_data_dir / "terminal_codex_home" / "auth.json").exists()
    settings = await api.call("GET", "settings")
    assert settings["terminal_codex_home"] == str(user_codex_home)
