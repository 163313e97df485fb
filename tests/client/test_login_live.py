"""Client sign-in helpers against the live server and the fake OAuth issuer: device code
with a callback for the code, its cancellation, an API key, an auth.json import."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import write_chatgpt_auth_json
from live_server import Live

from jupyter_codex.errors import AccountError, AuthFileError
from jupyter_codex.kernel import CodexClient


def test_device_code_login_hands_the_code_to_the_callback(live: Live) -> None:
    live.fake.add_account("acct-cdev", "cdev@example.com")
    shown: list[dict[str, Any]] = []

    def on_code(prompt: dict[str, Any]) -> None:
        shown.append(prompt)  # a person would open the URL and type the code; the fake approves
        live.fake.approve_device_code(prompt["user_code"], "acct-cdev", email="cdev@example.com")

    with CodexClient(live.url, live.token) as client:
        account = client.login_device_code(on_code, label="Device", poll_interval=0.1, timeout=60)
        listed = {a.id: a for a in client.accounts()}
    assert shown and shown[0]["user_code"] and shown[0]["verification_url"]
    assert account.email == "cdev@example.com" and account.label == "Device"
    assert account.id in listed and account.kind == "chatgpt"


def test_an_unapproved_device_code_login_times_out_and_is_cancelled(live: Live) -> None:
    flows: list[str] = []
    with CodexClient(live.url, live.token) as client:
        started = time.monotonic()
        with pytest.raises(AccountError, match="not approved"):
            client.login_device_code(
                lambda p: flows.append(p["id"]), timeout=0.5, poll_interval=0.1
            )
        assert time.monotonic() - started < 10
    view = httpx.get(
        live.url + f"codex/api/accounts/login/{flows[0]}", headers=live.server.headers, timeout=10
    ).json()
    assert view["status"] == "cancelled"


def test_api_key_and_auth_json_import(live: Live, tmp_path: Path) -> None:
    rt = live.fake.add_account("acct-imp", "imp@example.com", refresh_token="rt-imp")
    path = write_chatgpt_auth_json(tmp_path / "home", "imp@example.com", "acct-imp", rt)
    with CodexClient(live.url, live.token) as client:
        key = client.add_api_key("sk-proj-clientlogin0123456789abcdef", label="Key")
        imported = client.import_auth_json(path, label="Imported")
        with pytest.raises(AuthFileError, match="No Codex auth.json"):
            client.import_auth_json(tmp_path / "missing.json")
    assert key.kind == "api_key" and key.label == "Key"
    assert imported.kind == "chatgpt" and imported.email == "imp@example.com"
