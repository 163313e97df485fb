"""Accounts through the REST API with a real Jupyter server and the real codex binary."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, chatgpt_auth_json, hang, http_error, make_jwt, text
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError


def auth_json(
    email: str, account_id: str, refresh_token: str, exp: float | None = None
) -> dict[str, Any]:
    return chatgpt_auth_json(email, account_id, refresh_token, access_exp=int(exp) if exp else None)


async def add_chatgpt(api: Api, fake: FakeUpstream, n: int) -> dict[str, Any]:
    account_id, email = f"acct-{n}", f"user{n}@example.com"
    rt = fake.add_account(account_id, email, refresh_token=f"rt-{n}")
    # exp 30 min ahead: tokens the fake mints later (exp 1 h) always differ from these.
    body = {
        "auth_json": auth_json(email, account_id, rt, exp=time.time() + 1800),
        "label": f"Account {n}",
    }
    return await api.call("POST", "accounts", "import", body=body)  # type: ignore[no-any-return]


async def test_import_list_and_no_secrets_in_answers(
    api: Api, fake_upstream: FakeUpstream, codex_data_dir: Path
) -> None:
    a = await add_chatgpt(api, fake_upstream, 1)
    assert a["kind"] == "chatgpt" and a["email"] == "user1@example.com"
    assert a["chatgpt_account_id"] == "acct-1" and a["label"] == "Account 1"
    key = await api.call(
        "POST",
        "accounts",
        "api-key",
        body={"api_key": "sk-proj-abcdefghijklmnop1234", "label": "Key"},
    )
    assert key["kind"] == "api_key"

    listed = await api.call("GET", "accounts")
    raw = json.dumps(listed)
    assert len(listed["accounts"]) == 2
    assert "rt-1" not in raw and "sk-proj-abcdefghijklmnop1234" not in raw
    assert make_jwt("user1@example.com", "acct-1")[:40] not in raw
    for field in ("id", "label", "email", "kind", "status", "active_targets", "usage"):
        assert field in listed["accounts"][0]
    # Tokens are encrypted at rest: the database file never holds them in clear.
    db = (codex_data_dir / "codex.db").read_bytes() + (
        (codex_data_dir / "codex.db-wal").read_bytes()
        if (codex_data_dir / "codex.db-wal").exists()
        else b""
    )
    assert b"rt-1" not in db and b"sk-proj-abcdefghijklmnop1234" not in db
    assert stat.S_IMODE((codex_data_dir / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(codex_data_dir.stat().st_mode) == 0o700


async def test_bad_inputs_get_clear_errors(api: Api) -> None:
    cases = [
        (("accounts", "import"), {"auth_json": {"auth_mode": "chatgpt"}}, 400, "bad_auth_file"),
        (("accounts", "import"), {"path": "../../etc/passwd"}, 403, "path_outside_root"),
        (("accounts", "api-key"), {"api_key": "not a key"}, 400, None),
        (("accounts", "api-key"), {}, 400, "invalid_request"),
    ]
    for path, body, status, code in cases:
        with pytest.raises(HTTPClientError) as info:
            await api.call("POST", *path, body=body)
        assert info.value.code == status, (path, body, info.value.response.body)
        error = json.loads(info.value.response.body)["error"]
        assert error["message"] and "not a key" not in error["message"]
        if code:
            assert error["code"] == code
    for method, path, body, status in [
        ("GET", ("accounts", "nope"), None, 404),
        ("DELETE", ("accounts", "nope"), None, 404),
        ("PATCH", ("targets", "web"), {"account_id": "x"}, 400),
        ("PATCH", ("targets", "cli"), {"account_id": "nope"}, 404),
        ("PATCH", ("targets", "cli"), {"strategy": "random"}, 400),
    ]:
        with pytest.raises(HTTPClientError) as info:
            await api.call(method, *path, body=body)
        assert info.value.code == status, (method, path, info.value.response.body)


async def test_live_session_switches_account_mid_session(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path, codex_data_dir: Path
) -> None:
    a = await add_chatgpt(api, fake_upstream, 1)
    b = await add_chatgpt(api, fake_upstream, 2)
    state = await api.call("PATCH", "targets", "cli", body={"account_id": a["id"]})
    assert state["account_id"] == a["id"]

    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    fake_upstream.script("first turn", text("one"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "first turn"})
    first = await api.wait_event(sid, turn_completed)
    assert fake_upstream.responses_requests()[-1].account_id == "acct-1"

    await api.call("PATCH", "targets", "cli", body={"account_id": b["id"]})
    fake_upstream.script("second turn", text("two"))
    for _ in range(50):  # the re-login happens in the background
        await asyncio.sleep(0.1)
        if (await api.call("GET", "status"))["targets"]["cli"].get("account_id") == b["id"]:
            break
    await api.call("POST", "sessions", sid, "messages", body={"text": "second turn"})
    await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > first["seq"])
    last = fake_upstream.responses_requests()[-1]
    assert last.account_id == "acct-2"
    assert "first turn" in json.dumps(last.body)  # same thread, history carried over
    # Switching must never revoke the previous account's tokens (the router still uses them).
    assert not fake_upstream.requests_to("/oauth/revoke")

    # Terminals' managed CODEX_HOME goes through the proxy on the cli target's account
    # (0600 config.toml) and holds no auth.json, so no refresh token (see TerminalHome).
    terminal_home = codex_data_dir / "terminal_codex_home"
    config = terminal_home / "config.toml"
    assert 'x-jupyter-codex-target" = "cli"' in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert not (terminal_home / "auth.json").exists()

    accounts = {x["id"]: x for x in (await api.call("GET", "accounts"))["accounts"]}
    assert accounts[b["id"]]["active_targets"] == ["cli"]
    logs = (await api.call("GET", "logs"))["entries"]
    assert any(e["kind"] == "switch" and e["to_account"] == b["id"] for e in logs)


async def test_a_message_right_after_a_switch_waits_for_the_new_sign_in(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path
) -> None:
    a = await add_chatgpt(api, fake_upstream, 1)
    b = await add_chatgpt(api, fake_upstream, 2)
    await api.call("PATCH", "targets", "cli", body={"account_id": a["id"]})
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    fake_upstream.script("warm up", text("one"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "warm up"})
    first = await api.wait_event(sid, turn_completed)
    for round_ in range(3):
        # No wait between the switch and the message: the turn must not start while
        # codex is between logout and the new login.
        account, acct = (b, "acct-2") if round_ % 2 == 0 else (a, "acct-1")
        await api.call("PATCH", "targets", "cli", body={"account_id": account["id"]})
        fake_upstream.script(f"right after {round_}", text("ok"))
        await api.call("POST", "sessions", sid, "messages", body={"text": f"right after {round_}"})
        after = first["seq"]
        done = await api.wait_event(sid, lambda e, n=after: turn_completed(e) and e["seq"] > n)
        assert done["data"]["status"] == "completed", done
        assert fake_upstream.responses_requests()[-1].account_id == acct
        first = done


async def test_a_switch_waits_for_the_running_turn(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path
) -> None:
    """codex fails every turn in flight when it is signed in again ("application network
    permission was revoked"): a switch waits for the running turn, the next one uses the
    new account."""
    a = await add_chatgpt(api, fake_upstream, 1)
    b = await add_chatgpt(api, fake_upstream, 2)
    await api.call("PATCH", "targets", "cli", body={"account_id": a["id"]})
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    fake_upstream.script("long turn", hang() + text("long done"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "long turn"})
    for _ in range(400):
        if fake_upstream.hanging:
            break
        await asyncio.sleep(0.05)
    await api.call("PATCH", "targets", "cli", body={"account_id": b["id"]})
    await asyncio.sleep(1.0)  # the switch is decided; codex is still mid-stream
    fake_upstream.release()
    done = await api.wait_event(sid, turn_completed)
    assert done["data"]["status"] == "completed", done
    assert fake_upstream.responses_requests("long turn")[-1].account_id == "acct-1"
    fake_upstream.script("next turn", text("on the new account"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "next turn"})
    after = await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > done["seq"])
    assert after["data"]["status"] == "completed", after
    assert fake_upstream.responses_requests("next turn")[-1].account_id == "acct-2"


async def test_threshold_switch_on_usage_refresh(api: Api, fake_upstream: FakeUpstream) -> None:
    a = await add_chatgpt(api, fake_upstream, 1)
    b = await add_chatgpt(api, fake_upstream, 2)
    fake_upstream.set_usage("acct-1", primary_used=20, secondary_used=10)
    fake_upstream.set_usage("acct-2", primary_used=5, secondary_used=5)
    await api.call("PATCH", "targets", "cli", body={"account_id": a["id"]})
    await api.call("PATCH", "targets", "api", body={"account_id": a["id"]})

    refreshed = await api.call("POST", "usage", "refresh")
    by_id = {x["id"]: x for x in refreshed["accounts"]}
    assert by_id[a["id"]]["usage"]["primary_used_percent"] == 20
    assert sorted(by_id[a["id"]]["active_targets"]) == ["api", "cli"]

    fake_upstream.set_usage("acct-1", primary_used=90, secondary_used=10)  # 10% left < 15%
    refreshed = await api.call("POST", "usage", "refresh")
    by_id = {x["id"]: x for x in refreshed["accounts"]}
    assert sorted(by_id[b["id"]]["active_targets"]) == ["api", "cli"]
    assert by_id[a["id"]]["active_targets"] == []
    settings = await api.call("GET", "settings")
    assert settings["targets"]["cli"]["account_id"] == b["id"]
    assert settings["usage"]["active_interval"] == 300
    switches = [e for e in (await api.call("GET", "logs"))["entries"] if e["kind"] == "switch"]
    assert {e["target"] for e in switches if e["to_account"] == b["id"]} == {"api", "cli"}

    # A failed poll keeps the last good numbers.
    fake_upstream.fail_usage("acct-2", 500)
    refreshed = await api.call("POST", "usage", "refresh")
    usage_b = {x["id"]: x for x in refreshed["accounts"]}[b["id"]]["usage"]
    assert usage_b["primary_used_percent"] == 5 and usage_b["error_count"] >= 1
    history = await api.call("GET", "usage", a["id"], "history")
    primaries = [p["primary"] for p in history["points"]]
    assert 20 in primaries and primaries.index(20) < primaries.index(90)


async def test_app_server_token_refresh_is_answered_by_the_router(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a = await add_chatgpt(api, fake_upstream, 1)
    await api.call("PATCH", "targets", "cli", body={"account_id": a["id"]})
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    calls_before = fake_upstream.token_calls
    fake_upstream.script(
        "needs refresh", http_error(401, {"error": {"message": "expired"}}), text("fresh")
    )
    await api.call("POST", "sessions", sid, "messages", body={"text": "needs refresh"})
    done = await api.wait_event(sid, turn_completed)
    assert done["data"]["status"] == "completed"
    assert fake_upstream.token_calls == calls_before + 1  # exactly one refresh, by the router
    bearers = [r.bearer for r in fake_upstream.responses_requests()[-2:]]
    assert bearers[0] != bearers[1]  # the retry carried the new access token
    # No token in any log line, at DEBUG, through a refresh, a login and a turn.
    secrets = {b for b in bearers if b} | {"rt-1", fake_upstream.live_refresh_token("acct-1")}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 20
    for secret in secrets:
        assert secret and secret not in logged


async def test_switch_is_pushed_to_websocket_subscribers(
    api: Api, jp_ws_fetch: Any, fake_upstream: FakeUpstream
) -> None:
    await add_chatgpt(api, fake_upstream, 1)  # the first account is active at once
    a = await add_chatgpt(api, fake_upstream, 2)  # the switch goes to the second
    ws = await jp_ws_fetch("codex", "api", "events")
    await ws.read_message()
    ws.write_message(json.dumps({"type": "subscribe", "session_id": "*"}))
    deadline = time.monotonic() + 10
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
        if message["type"] == "subscribed":
            break
    await api.call("PATCH", "targets", "api", body={"account_id": a["id"]})
    while time.monotonic() < deadline:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
        if message["type"] == "event" and message["event"]["type"] == "account.switched":
            assert message["event"]["data"]["target"] == "api"
            assert message["event"]["data"]["to"] == a["id"]
            break
    else:
        raise AssertionError("no account.switched event")
    ws.close()


async def one_account_with_a_warm_session(
    api: Api, fake: FakeUpstream, root: Path
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """One account on both targets and a session whose codex has run a turn (so it holds
    the account's access token): (account, session id, that turn's completion event)."""
    rt = fake.add_account("acct-1", "user1@example.com", refresh_token="rt-1")
    body = {"auth_json": auth_json("user1@example.com", "acct-1", rt, exp=time.time() + 1800)}
    a = await api.call("POST", "accounts", "import", body=body)
    for target in ("cli", "api"):
        await api.call("PATCH", "targets", target, body={"account_id": a["id"]})
    (root / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    fake.script("warm", text("warm"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "warm"})
    return a, sid, await api.wait_event(sid, turn_completed)


async def test_a_burst_of_401s_costs_one_refresh(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path, jp_fetch: Any
) -> None:
    """Workspace codex and proxy requests all get 401 for the same token: one refresh."""
    a, sid, first = await one_account_with_a_warm_session(api, fake_upstream, jp_root_dir)
    before = fake_upstream.refreshes
    fake_upstream.revoke_access_tokens()  # every token out there is now refused
    fake_upstream.script("after revoke", text("ok"))

    async def proxied() -> Any:
        body = {"model": "gpt-5.2-codex", "messages": [{"role": "user", "content": "burst"}]}
        answer = await jp_fetch(
            "codex", "v1", "chat", "completions", method="POST", body=json.dumps(body)
        )
        return json.loads(answer.body)

    await api.call("POST", "sessions", sid, "messages", body={"text": "after revoke"})
    replies = await asyncio.gather(*(proxied() for _ in range(4)))
    assert all(r["choices"][0]["message"]["content"] for r in replies)
    done = await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > first["seq"])
    assert done["data"]["status"] == "completed", done
    # A second burst on the now-replaced token: no second refresh.
    fake_upstream.script("again", text("ok"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "again"})
    await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > done["seq"])
    assert fake_upstream.refreshes - before == 1
    assert fake_upstream.refresh_errors() == []
    account = await api.call("GET", "accounts", a["id"])
    assert account["status"] == "active", account["status_reason"]


async def test_a_token_revoked_before_codex_asked_is_not_handed_to_codex(
    api: Api, fake_upstream: FakeUpstream, jp_root_dir: Path, jp_fetch: Any
) -> None:
    """The proxy replaced codex's token, then a sign-out elsewhere revoked both: codex's
    401 must get a token the backend takes (codex retries once), not the revoked newer one."""
    _, sid, first = await one_account_with_a_warm_session(api, fake_upstream, jp_root_dir)
    before = fake_upstream.refreshes
    fake_upstream.revoke_access_tokens()
    chat = {"model": "gpt-5.2-codex", "messages": [{"role": "user", "content": "proxy"}]}
    answer = await jp_fetch(
        "codex", "v1", "chat", "completions", method="POST", body=json.dumps(chat)
    )
    assert json.loads(answer.body)["choices"][0]["message"]["content"]
    assert fake_upstream.refreshes - before == 1  # the proxy's 401 replaced the token
    fake_upstream.revoke_access_tokens()  # ... and then that one is revoked too
    fake_upstream.script("after", text("ok"))
    await api.call("POST", "sessions", sid, "messages", body={"text": "after"})
    done = await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > first["seq"])
    assert done["data"]["status"] == "completed", done
    assert fake_upstream.refreshes - before == 2
    assert fake_upstream.refresh_errors() == []


async def test_device_code_and_browser_sign_in(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any
) -> None:
    from urllib.parse import parse_qs, urlsplit

    import httpx

    fake_upstream.add_account("acct-dev", "dev@example.com")
    flow = await api.call("POST", "accounts", "login", body={"label": "Dev"})
    assert flow["status"] == "pending" and flow["user_code"] and flow["verification_url"]
    fake_upstream.approve_device_code(flow["user_code"], "acct-dev", email="dev@example.com")
    for _ in range(100):
        flow = await api.call("GET", "accounts", "login", flow["id"])
        if flow["status"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert flow["status"] == "completed", flow
    assert flow["account"]["email"] == "dev@example.com" and flow["account"]["label"] == "Dev"

    fake_upstream.add_account("acct-web", "web@example.com")
    flow = await api.call("POST", "accounts", "login", body={"flow": "browser"})
    query = parse_qs(urlsplit(flow["auth_url"]).query)
    redirect = query["redirect_uri"][0]
    code = fake_upstream.authorize("acct-web", query["code_challenge"][0], redirect)
    async with httpx.AsyncClient() as client:
        bad = await client.get(redirect, params={"code": code, "state": "forged"})
        assert bad.status_code == 400
    async with httpx.AsyncClient() as client:
        page = await client.get(redirect, params={"code": code, "state": query["state"][0]})
    assert page.status_code == 200 and "Signed in" in page.text
    for _ in range(100):
        flow = await api.call("GET", "accounts", "login", flow["id"])
        if flow["status"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert flow["status"] == "completed", flow
    emails = {a["email"] for a in (await api.call("GET", "accounts"))["accounts"]}
    assert emails == {"dev@example.com", "web@example.com"}
