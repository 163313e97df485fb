"""Proxy auth (Jupyter token or client key), key management, dialect errors, request log."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fakes import FakeUpstream, text
from helpers import Api
from proxy_helpers import (
    MODEL,
    anthropic_client,
    openai_client,
    server_url,
    setup_accounts,
    token_of,
)
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_codex import cli


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ProxyService.max_body_bytes = 100_000
    return jp_server_config


@pytest.fixture
def base(jp_http_port: int, jp_base_url: str) -> str:
    return server_url(jp_http_port, jp_base_url)


async def test_key_lifecycle_over_rest(
    api: Api,
    fake_upstream: FakeUpstream,
    jp_http_port: int,
    jp_base_url: str,
    codex_data_dir: Path,
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    created = await api.call("POST", "keys", body={"name": "ci"})
    key = created["key"]
    assert key.startswith("jcx-") and len(key) == 36
    assert key.startswith(created["prefix"]) and len(created["prefix"]) == 12
    assert not created["revoked"]

    client = openai_client(jp_http_port, jp_base_url, key)
    models = [m.id async for m in client.models.list()]
    listed = fake_upstream.models[0]  # the live catalogue of the api account's upstream
    assert listed in models and f"{listed}:high" in models
    fake_upstream.script("with a key", text("keyed").with_usage(30, 7))
    reply = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "with a key"}]
    )
    assert reply.choices[0].message.content == "keyed"

    listed = (await api.call("GET", "keys"))["keys"]
    raw = json.dumps(listed)
    assert key not in raw and "hash" not in raw
    entry = next(k for k in listed if k["id"] == created["id"])
    for _ in range(50):  # counters are written in the background
        entry = next(k for k in (await api.call("GET", "keys"))["keys"] if k["id"] == created["id"])
        if entry["requests"] >= 2:
            break
        await asyncio.sleep(0.05)
    assert entry["requests"] == 2 and entry["input_tokens"] == 30 and entry["output_tokens"] == 7
    assert entry["last_used_at"]

    log = (await api.call("GET", "proxy", "requests", key_id=created["id"]))["requests"]
    chat = next(r for r in log if r["path"].endswith("chat/completions"))
    assert chat["status"] == 200 and chat["model"] == MODEL and chat["account_id"]
    assert chat["input_tokens"] == 30 and chat["latency_ms"] > 0
    assert "with a key" not in json.dumps(log)

    revoked = await api.call("DELETE", "keys", created["id"])
    assert revoked["revoked"] is True
    with pytest.raises(openai.AuthenticationError) as info:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "again"}]
        )
    assert info.value.body["type"] == "authentication_error"  # type: ignore[index]

    db = b"".join(p.read_bytes() for p in codex_data_dir.iterdir() if p.name.startswith("codex.db"))
    assert key.encode() not in db
    secret = codex_data_dir / "proxy_keys.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


async def test_a_key_opens_the_proxy_and_nothing_else(
    api: Api, fake_upstream: FakeUpstream, base: str, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    key = (await api.call("POST", "keys", body={"name": "narrow"}))["key"]
    async with httpx.AsyncClient() as http:
        for path in ("codex/api/accounts", "codex/api/keys", "codex/api/status", "api/contents"):
            for header in ({"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
                r = await http.get(base + path, headers=header)
                assert r.status_code in (401, 403), (path, r.status_code)
        r = await http.post(base + "codex/api/keys", headers={"x-api-key": key}, json={"name": "x"})
        assert r.status_code in (401, 403)

    # Anthropic SDK: the key as x-api-key; a bad key gets an Anthropic-shaped 401.
    fake_upstream.script("claude key", text("hello claude"))
    claude = anthropic_client(jp_http_port, jp_base_url, key)
    message = await claude.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "claude key"}]
    )
    assert message.content[0].text == "hello claude"  # type: ignore[union-attr]
    bad = anthropic_client(jp_http_port, jp_base_url, "jcx-" + "x" * 32)
    with pytest.raises(anthropic.AuthenticationError) as info:
        await bad.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Invalid or revoked API key."},
    }


async def test_jupyter_token_auth_and_unauthenticated_requests(
    api: Api,
    fake_upstream: FakeUpstream,
    base: str,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    token = token_of(jp_serverapp)
    fake_upstream.script("token please", text("ok token"), text("ok x-api-key"))
    reply = await openai_client(jp_http_port, jp_base_url, token).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "token please"}]
    )
    assert reply.choices[0].message.content == "ok token"
    message = await anthropic_client(jp_http_port, jp_base_url, token).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "token please"}]
    )
    assert message.content[0].text == "ok x-api-key"  # type: ignore[union-attr]

    async with httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"x-api-key": "wrong"}):
            r = await http.post(base + "codex/v1/chat/completions", headers=headers, json={})
            assert r.status_code == 401, r.text
            assert r.json()["error"]["type"] == "authentication_error"
            r = await http.post(base + "codex/claude/v1/messages", headers=headers, json={})
            assert r.status_code == 401
            assert r.json()["type"] == "error"
        # A cookie-authenticated POST without an XSRF token is refused, even for the proxy.
        r = await http.post(
            base + "codex/v1/chat/completions",
            headers={"Cookie": "_xsrf=abc", "Origin": "http://evil.example"},
            json={},
        )
        assert r.status_code in (401, 403, 404)


async def test_errors_in_each_dialect(
    api: Api, fake_upstream: FakeUpstream, base: str, jp_serverapp: Any
) -> None:
    headers = {"Authorization": f"Bearer {token_of(jp_serverapp)}"}
    chat, claude = base + "codex/v1/chat/completions", base + "codex/claude/v1/messages"
    ok_chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    ok_claude = {**ok_chat, "max_tokens": 10}
    async with httpx.AsyncClient() as http:
        # No account at all on the api target: 503 with Retry-After.
        r = await http.post(chat, headers=headers, json=ok_chat)
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "no_account_available"
        r = await http.post(claude, headers=headers, json=ok_claude)
        assert r.status_code == 503 and r.json()["error"]["type"] == "overloaded_error"

        await setup_accounts(api, fake_upstream, 1)
        cases: list[tuple[str, Any, int]] = [
            (chat, b"{not json", 400),
            (chat, b"[1, 2]", 400),
            (chat, {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}, 404),
            (chat, {"model": f"{MODEL}:hihg", "messages": [{"role": "user", "content": "x"}]}, 400),
            (chat, {"model": MODEL}, 400),
            (chat, {**ok_chat, "pad": "x" * 200_000}, 413),
            (claude, b"{not json", 400),
            (claude, {**ok_claude, "model": "no-such-model"}, 404),
            (claude, {**ok_claude, "pad": "x" * 200_000}, 413),
            (base + "codex/v1/responses", {"model": MODEL}, 400),
        ]
        for url, body, status in cases:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            r = await http.post(url, headers=headers, content=content)
            assert r.status_code == status, (url, body if isinstance(body, bytes) else "", r.text)
            error = r.json()
            if url == claude:
                assert error["type"] == "error" and error["error"]["message"], error
                expected = {400: "invalid_request_error", 404: "not_found_error"}
                assert error["error"]["type"] == expected.get(status, "request_too_large")
            else:
                assert set(error["error"]) >= {"message", "type", "code", "param"}, error
    assert fake_upstream.responses_requests() == []


async def test_anthropic_claude_model_names_map_to_a_served_model(
    api: Api, fake_upstream: FakeUpstream, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    claude = anthropic_client(jp_http_port, jp_base_url, token_of(jp_serverapp))
    fake_upstream.script("which model", text("mapped"))
    message = await claude.messages.create(
        model="claude-sonnet-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "which model"}],
    )
    assert message.model == "claude-sonnet-5"
    assert fake_upstream.responses_requests()[-1].body["model"].startswith("gpt-")


async def test_per_key_rate_limit(
    api: Api, fake_upstream: FakeUpstream, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    key = (await api.call("POST", "keys", body={"name": "slow", "rate_limit_per_minute": 2}))["key"]
    client = openai_client(jp_http_port, jp_base_url, key)
    for _ in range(2):
        await client.models.list()
    with pytest.raises(openai.RateLimitError) as info:
        await client.models.list()
    assert int(info.value.response.headers["retry-after"]) >= 1


async def test_key_rest_validation(api: Api) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 65}, {"name": "a", "rate_limit_per_minute": 0}):
        with pytest.raises(HTTPClientError) as info:
            await api.call("POST", "keys", body=body)
        assert info.value.code == 400
    with pytest.raises(HTTPClientError) as info:
        await api.call("DELETE", "keys", "nope")
    assert info.value.code == 404


def test_cli_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli.main([*data, "keys", "create", "--name", "laptop"]) == 0
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("jcx-")
    assert cli.main([*data, "keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "laptop" and key not in json.dumps(listed)
    assert cli.main([*data, "keys", "list"]) == 0
    assert "laptop" in capsys.readouterr().out
    assert cli.main([*data, "keys", "revoke", listed[0]["id"]]) == 0
    assert cli.main([*data, "keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])[0]["revoked"] is True
    assert cli.main([*data, "keys", "revoke", "nope"]) == 1
