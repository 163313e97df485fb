"""Slash commands ask the session's own target: ``/status`` in an agent-mode (api target)
session names the api target's account, not the cli one's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakes import FakeUpstream
from helpers import Api
from proxy_helpers import codex_app, setup_accounts

from jupyter_codex.models import SessionCreate


async def test_status_of_an_api_session_names_the_api_account(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    accounts = await setup_accounts(api, fake_upstream, 2)  # user1@example.com on api
    await api.call("PATCH", "targets", "cli", body={"account_id": accounts[1]["id"]})
    (jp_root_dir / "agent").mkdir()
    workspace = codex_app(jp_serverapp).workspace
    session = await workspace.create_session(SessionCreate(cwd="agent"), target="api")
    answer = await api.call("POST", "sessions", session.id, "messages", body={"text": "/status"})
    status = answer["status"]
    assert status["target"] == "api"
    assert status["account"]["email"] == "user1@example.com"
    assert status["app_server"]["name"] == "api"

    cli = await api.call("POST", "sessions", body={"cwd": "agent"})
    mine = await api.call("POST", "sessions", cli["id"], "messages", body={"text": "/status"})
    assert mine["status"]["account"]["email"] == "user2@example.com"  # the cli target's
