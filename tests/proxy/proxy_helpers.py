"""Helpers for the proxy tests: accounts on the fake, SDK clients of the live server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anthropic
import openai
from fakes import FakeUpstream, chatgpt_auth_json
from helpers import Api

MODEL = "gpt-5.2-codex"


async def add_account(api: Api, fake: FakeUpstream, n: int) -> dict[str, Any]:
    """Import ChatGPT account ``acct-n`` (known to the fake) through the REST API."""
    account_id, email = f"acct-{n}", f"user{n}@example.com"
    rt = fake.add_account(account_id, email, refresh_token=f"rt-{n}")
    body = {
        "auth_json": chatgpt_auth_json(email, account_id, rt, access_exp=int(time.time() + 1800)),
        "label": f"Account {n}",
    }
    return await api.call("POST", "accounts", "import", body=body)  # type: ignore[no-any-return]


async def setup_accounts(api: Api, fake: FakeUpstream, n: int = 1) -> list[dict[str, Any]]:
    """``n`` accounts, the first active on the api target."""
    accounts = [await add_account(api, fake, i) for i in range(1, n + 1)]
    await api.call("PATCH", "targets", "api", body={"account_id": accounts[0]["id"]})
    return accounts


def server_url(port: int, base_url: str) -> str:
    return f"http://localhost:{port}{base_url}"


def token_of(serverapp: Any) -> str:
    return str(serverapp.identity_provider.token)


def openai_client(port: int, base_url: str, key: str, **kwargs: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=server_url(port, base_url) + "codex/v1", api_key=key, max_retries=0, **kwargs
    )


def anthropic_client(port: int, base_url: str, key: str, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=server_url(port, base_url) + "codex/claude", api_key=key, max_retries=0, **kwargs
    )


def responses_accounts(fake: FakeUpstream) -> list[str | None]:
    """The ChatGPT account id of every model request the fake saw, in order."""
    return [r.account_id for r in fake.responses_requests()]


def codex_app(jp_serverapp: Any) -> Any:
    """The running extension app (its proxy, agent runner, workspace)."""
    return jp_serverapp.web_app.settings["codex_app"]


async def api_sessions(api: Api) -> list[dict[str, Any]]:
    """Workspace sessions of the api target (agent mode's)."""
    sessions = (await api.call("GET", "sessions"))["sessions"]
    return [s for s in sessions if s["target"] == "api"]


async def api_sessions_eventually(api: Api, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        sessions = await api_sessions(api)
        if sessions:
            return sessions
        await asyncio.sleep(0.1)
    raise AssertionError("no agent session appeared")
