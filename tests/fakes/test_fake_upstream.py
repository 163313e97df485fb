"""Tests of the fake upstream itself: over real TLS with httpx, plus one real-codex turn."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zstandard

from . import (
    FakeUpstream,
    codex_test_config,
    codex_test_env,
    exec_command,
    hang,
    http_error,
    make_jwt,
    reasoning,
    text,
    usage_limit_error,
    write_chatgpt_auth_json,
)
from . import (
    fake_upstream as _fake_upstream,
)

JSON = dict[str, Any]
fake_upstream = _fake_upstream  # the fixture, so these tests also run without tests/conftest.py


def user(msg: str) -> JSON:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": msg}]}


def body(*msgs: str, tools: tuple[str, ...] = ("exec_command",), **extra: Any) -> JSON:
    return {
        "model": "m",
        "stream": True,
        "input": [user(m) for m in msgs],
        "tools": [{"type": "function", "name": t} for t in tools],
        **extra,
    }


def events(resp: httpx.Response) -> list[JSON]:
    """Parse an SSE body into its ``data`` objects, checking ``event:`` matches ``type``."""
    out = []
    for frame in resp.text.split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"]
        out.append(data)
    return out


@pytest.fixture
def client(fake_upstream: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_upstream.url, verify=fake_upstream.ssl_context()) as c:
        yield c


def post(client: httpx.Client, payload: JSON, account: str = "acct-1", **kw: Any) -> httpx.Response:
    headers = {"ChatGPT-Account-Id": account, "Authorization": "Bearer tok"}
    return client.post("/backend-api/codex/responses", json=payload, headers=headers, **kw)


def test_urls_and_tls(fake_upstream: FakeUpstream) -> None:
    assert fake_upstream.url.startswith("https://127.0.0.1:")
    assert fake_upstream.chatgpt_base_url == fake_upstream.url + "/backend-api"
    assert fake_upstream.openai_base_url == fake_upstream.url + "/v1"
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(fake_upstream.url + "/v1/models")
    with httpx.Client(verify=fake_upstream.ssl_context()) as c:  # leaf also valid for "localhost"
        url = f"https://localhost:{fake_upstream.port}/v1/models"
        assert c.get(url).json()["data"][0]["id"]


def test_sse_stream_shape(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("hi", reasoning("plan") + text("Hello brave world", chunks=3))
    resp = post(client, body("hi"))
    assert resp.headers["content-type"] == "text/event-stream"
    evs = events(resp)
    types = [e["type"] for e in evs]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") == 3
    assert "response.reasoning_summary_text.delta" in types
    # a text delta only after its message item was added
    added = types.index("response.output_item.added", types.index("response.output_item.done"))
    assert added < types.index("response.output_text.delta")
    deltas = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
    assert deltas == "Hello brave world"
    done = [e["item"] for e in evs if e["type"] == "response.output_item.done"]
    assert done[1]["content"][0]["text"] == "Hello brave world"
    usage = evs[-1]["response"]["usage"]
    assert all(isinstance(usage[k], int) for k in ("input_tokens", "output_tokens", "total_tokens"))


def test_non_stream_json_and_v1(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("plain", text("no stream"))
    resp = client.post("/v1/responses", json=body("plain", stream=False))
    data = resp.json()
    assert data["object"] == "response" and data["usage"]["total_tokens"] > 0
    assert data["output"][0]["content"][0]["text"] == "no stream"


def test_rules_consume_steps_per_request(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("RUN", exec_command("touch x"), text("ran it"))
    fake_upstream.script("SECOND", text("second turn"))
    first = events(post(client, body("RUN please")))
    call = first[1]["item"]
    assert call["type"] == "function_call" and call["name"] == "exec_command"
    args = json.loads(call["arguments"])
    assert args["cmd"] == "touch x" and args["sandbox_permissions"] == "require_escalated"
    follow = body("RUN please")
    follow["input"] += [call, {"type": "function_call_output", "call_id": call["call_id"]}]
    assert events(post(client, follow))[-2]["item"]["content"][0]["text"] == "ran it"
    # a later turn carries the earlier message too: the latest user message wins
    assert "second turn" in post(client, body("RUN please", "SECOND")).text
    assert fake_upstream.default_reply in post(client, body("RUN please")).text
    assert fake_upstream.pending_steps() == 0


def test_shell_tool_fallback(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("sh", exec_command("ls", escalated=False))
    item = events(post(client, body("sh", tools=("shell_command",))))[1]["item"]
    assert item["name"] == "shell_command"
    assert json.loads(item["arguments"])["command"] == "ls"


def test_usage_per_account(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.set_usage("a1", primary_used=42, secondary_used=7, plan_type="plus")
    one = client.get("/backend-api/wham/usage", headers={"ChatGPT-Account-Id": "a1"}).json()
    win = one["rate_limit"]["primary_window"]
    assert one["plan_type"] == "plus" and win["used_percent"] == 42
    assert all(type(v) is int for v in win.values())
    other = client.get("/backend-api/wham/usage", headers={"ChatGPT-Account-Id": "a2"}).json()
    assert other["rate_limit"]["primary_window"]["used_percent"] == 0
    fake_upstream.fail_usage("a1", 503)
    assert client.get("/backend-api/wham/usage", headers={"ChatGPT-Account-Id": "a1"}).is_error
    fake_upstream.fail_usage("a1", None)
    assert client.get("/backend-api/wham/usage", headers={"ChatGPT-Account-Id": "a1"}).is_success
    # live headers on model responses of that account only
    assert post(client, body("x"), account="a1").headers["x-codex-primary-used-percent"] == "42.0"
    assert "x-codex-primary-used-percent" not in post(client, body("x"), account="a2").headers


def test_accounts_check(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.add_account("a1", "a1@example.com")
    data = client.get("/backend-api/wham/accounts/check", headers={"ChatGPT-Account-Id": "a2"})
    check = data.json()
    assert check["default_account_id"] == "a2" and check["account_ordering"] == ["a2", "a1"]
    assert check["accounts"][0]["workspace_backend_origin"] == "NO_CONSTRAINT"


def test_token_rotation_and_reuse(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    rt = fake_upstream.add_account("a1", "a1@example.com", plan="plus")
    grant = {"client_id": "app_x", "grant_type": "refresh_token"}
    first = client.post("/oauth/token", json={**grant, "refresh_token": rt})
    assert first.status_code == 200
    new = first.json()["refresh_token"]
    assert new != rt and fake_upstream.live_refresh_token("a1") == new
    claims = json.loads(base64.urlsafe_b64decode(first.json()["access_token"].split(".")[1] + "=="))
    assert claims["https://api.openai.com/auth"]["chatgpt_plan_type"] == "plus"
    reuse = client.post("/oauth/token", json={**grant, "refresh_token": rt})
    assert reuse.status_code == 401 and reuse.json() == {"error": "refresh_token_reused"}
    assert client.post("/oauth/token", json={**grant, "refresh_token": new}).status_code == 200
    fake_upstream.revoke_refresh_token("rt-other")
    revoked = client.post("/oauth/token", json={**grant, "refresh_token": "rt-other"})
    assert revoked.json() == {"error": "refresh_token_invalidated"}
    assert fake_upstream.token_calls == 4


def test_http_error_scripts(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("limit", usage_limit_error(plan="plus"), http_error(401))
    resp = post(client, body("limit"))
    assert resp.status_code == 429 and resp.headers["x-codex-primary-used-percent"] == "100.0"
    assert resp.json()["error"]["type"] == "usage_limit_reached"
    assert post(client, body("limit")).status_code == 401


def test_zstd_body(fake_upstream: FakeUpstream, client: httpx.Client) -> None:
    fake_upstream.script("squeezed", text("decoded"))
    raw = zstandard.ZstdCompressor().compress(json.dumps(body("squeezed")).encode())
    headers = {"Content-Encoding": "zstd", "Content-Type": "application/json"}
    resp = client.post("/backend-api/codex/responses", content=raw, headers=headers)
    assert "decoded" in resp.text
    rec = fake_upstream.responses_requests()[-1]
    assert rec.content_encoding == "zstd" and rec.body == body("squeezed")


def test_hang_release_and_stop(client: httpx.Client, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("wait", hang() + text("late"))
    out: list[str] = []
    worker = threading.Thread(target=lambda: out.append(post(client, body("wait")).text))
    worker.start()
    fake_upstream.wait_for(lambda f: f.hanging == 1)
    fake_upstream.release()
    worker.join(5)
    assert "late" in out[0] and "response.completed" in out[0]
    # a stream still hanging when the fake stops is cut
    with FakeUpstream() as other:
        other.script("wait", hang())
        errors: list[Exception] = []

        def run() -> None:
            try:
                with httpx.Client(verify=other.ssl_context()) as c:
                    c.post(other.url + "/v1/responses", json=body("wait"))
            except httpx.HTTPError as exc:
                errors.append(exc)

        t = threading.Thread(target=run)
        t.start()
        other.wait_for(lambda f: f.hanging == 1)
    t.join(5)
    assert errors and not t.is_alive()


def test_recording_404_models_and_websocket(
    fake_upstream: FakeUpstream, client: httpx.Client
) -> None:
    resp = client.get("/backend-api/wham/nothing", headers={"X-Mixed-Case": "1"})
    assert resp.status_code == 404 and "error" in resp.json()
    rec = fake_upstream.requests_to("/backend-api/wham/nothing")[0]
    assert rec.headers["x-mixed-case"] == "1"
    assert client.get("/backend-api/codex/models").json()["models"] == []
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    assert client.get("/backend-api/codex/responses", headers=upgrade).status_code == 426


def test_make_jwt_and_config(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    jwt = make_jwt("u@example.com", "acct", exp=123)
    _, payload, sig = jwt.split(".")
    assert "=" not in jwt and sig
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["exp"] == 123 and claims["https://api.openai.com/auth"]["chatgpt_account_id"]
    auth = json.loads(write_chatgpt_auth_json(tmp_path, "u@example.com", "acct", "rt").read_text())
    assert auth["auth_mode"] == "chatgpt" and auth["tokens"]["account_id"] == "acct"
    cfg = codex_test_config(fake_upstream)
    assert cfg["model_providers.fake.base_url"] == fake_upstream.chatgpt_base_url + "/codex"
    assert codex_test_env(fake_upstream)["CODEX_CA_CERTIFICATE"] == fake_upstream.ca_path


async def test_real_codex_plain_text_turn(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    """The real binary completes a streamed turn against the fake (~1 s)."""
    pytest.importorskip("codex_cli_bin")
    from .appserver import AppServer

    token = fake_upstream.add_account("acct-t", "t@example.com")
    write_chatgpt_auth_json(tmp_path / "home", "t@example.com", "acct-t", token)
    (tmp_path / "work").mkdir()
    fake_upstream.script("MARK", text("real codex says hi", chunks=3))
    server = AppServer(
        tmp_path / "home", codex_test_config(fake_upstream), codex_test_env(fake_upstream)
    )
    t0 = time.monotonic()
    try:
        await server.start()
        thread_id = await server.start_thread(tmp_path / "work")
        turn, start = await server.run_turn(thread_id, "MARK hello", timeout=20)
    finally:
        await server.close()
    assert turn["status"] == "completed"
    assert server.methods(start).count("item/agentMessage/delta") == 3
    assert [i["text"] for i in server.items("agentMessage", start)] == ["real codex says hi"]
    req = fake_upstream.responses_requests()[-1]
    assert req.account_id == "acct-t" and req.bearer
    assert time.monotonic() - t0 < 10
