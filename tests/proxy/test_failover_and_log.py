"""Failover on auth and connection failures, live usage headers, the request log's
rotation, and the agent-mode options that need a human (approval timeout) or a switch
(``AgentRunner.on_session_id``); the real SDKs against a live server and the fake.

The module's server keeps 5 request-log rows, declines agent approvals after 2 s, and
sends API-key accounts to a port nobody listens on (ChatGPT accounts use the fake).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from fakes import FakeUpstream, exec_command, http_error, text
from helpers import Api
from proxy_helpers import (
    MODEL,
    add_account,
    anthropic_client,
    api_sessions,
    api_sessions_eventually,
    codex_app,
    openai_client,
    responses_accounts,
    setup_accounts,
    token_of,
)
from server_process import free_port
from traitlets.config import Config

Server = tuple[int, str, str]  # port, base url, jupyter token
LOG_ROWS = 5
APPROVAL_TIMEOUT = 2.0


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ProxyService.request_log_rows = LOG_ROWS
    jp_server_config.AgentRunner.approval_timeout = APPROVAL_TIMEOUT
    # Nothing listens there: a request on an API-key account fails to connect.
    jp_server_config.CodexExtensionApp.openai_base_url = f"https://127.0.0.1:{free_port()}/v1"
    return jp_server_config


@pytest.fixture
def server(jp_serverapp: Any, jp_http_port: int, jp_base_url: str) -> Server:
    return jp_http_port, jp_base_url, token_of(jp_serverapp)


def ask(content: str) -> list[Any]:
    return [{"role": "user", "content": content}]


# -- failover before the first byte ---------------------------------------------------------


async def test_failover_on_401_after_refresh_and_403_but_not_on_400(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    accounts = await setup_accounts(api, fake_upstream, 3)
    client = openai_client(*server)
    unauthorized = http_error(401, {"error": {"message": "token expired", "code": "token_expired"}})
    fake_upstream.script("auth fails", unauthorized, unauthorized, text("served after 401"))
    token_calls = fake_upstream.token_calls
    reply = await client.chat.completions.create(model=MODEL, messages=ask("auth fails"))
    assert reply.choices[0].message.content == "served after 401"
    tried = fake_upstream.responses_requests()
    # acct-1 refused, refreshed once and refused again; then the next account served it.
    assert [r.account_id for r in tried[:2]] == ["acct-1", "acct-1"]
    assert tried[0].bearer != tried[1].bearer and fake_upstream.token_calls == token_calls + 1
    second = tried[2].account_id
    assert len(tried) == 3 and second in ("acct-2", "acct-3")
    cooldowns = (await api.call("GET", "logs", kind="cooldown"))["entries"]
    assert [c["from_account"] for c in cooldowns] == [accounts[0]["id"]]

    # 403: no refresh, straight on to the account nobody tried yet.
    fake_upstream.script(
        "forbidden here",
        http_error(403, {"error": {"message": "workspace disabled"}}),
        text("served after 403"),
    )
    reply = await client.chat.completions.create(model=MODEL, messages=ask("forbidden here"))
    assert reply.choices[0].message.content == "served after 403"
    third = ({"acct-2", "acct-3"} - {second}).pop()
    assert responses_accounts(fake_upstream)[3:] == [second, third]
    assert fake_upstream.token_calls == token_calls + 1

    # A client error is the request's fault: the same answer on every account, no failover.
    bad = http_error(
        400,
        {
            "error": {
                "message": "Unsupported parameter: 'frobnicate'",
                "type": "invalid_request_error",
                "code": "unsupported_parameter",
            }
        },
    )
    fake_upstream.script("bad params", bad, bad)
    with pytest.raises(openai.BadRequestError, match="frobnicate") as info:
        await client.chat.completions.create(model=MODEL, messages=ask("bad params"))
    assert info.value.status_code == 400
    assert responses_accounts(fake_upstream)[5:] == [third]
    with pytest.raises(anthropic.BadRequestError) as claude_info:
        await anthropic_client(*server).messages.create(
            model=MODEL, max_tokens=50, messages=ask("bad params")
        )
    assert claude_info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert len(responses_accounts(fake_upstream)) == 7 and fake_upstream.pending_steps() == 0
    # Neither 400 cooled an account down: the 401 and the 403 did.
    cooldowns = (await api.call("GET", "logs", kind="cooldown"))["entries"]
    assert len(cooldowns) == 2


async def test_failover_on_a_connection_failure(
    api: Api, fake_upstream: FakeUpstream, server: Server, jp_serverapp: Any
) -> None:
    dead = await api.call(
        "POST", "accounts", "api-key", body={"api_key": "sk-test-" + "d" * 40, "label": "Dead"}
    )
    await api.call("PATCH", "targets", "api", body={"account_id": dead["id"]})
    client = openai_client(*server)
    # Alone, the unreachable account is an error in the client's dialect.
    with pytest.raises(openai.APIStatusError) as info:
        await client.chat.completions.create(model=MODEL, messages=ask("unreachable"))
    assert info.value.status_code == 503  # an outage: 503 with Retry-After, in each dialect
    assert info.value.body["code"] == "upstream_unreachable"  # type: ignore[index]
    assert int(info.value.response.headers["retry-after"]) >= 1
    with pytest.raises(openai.APIStatusError) as info:
        await client.responses.create(model=MODEL, input="unreachable")
    assert info.value.status_code == 503 and "retry-after" in info.value.response.headers
    assert info.value.body["code"] == "upstream_unreachable"  # type: ignore[index]
    claude = anthropic_client(*server)
    with pytest.raises(anthropic.APIStatusError) as refused:
        await claude.messages.create(model=MODEL, max_tokens=50, messages=ask("unreachable"))
    assert refused.value.status_code == 503
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert refused.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]

    await add_account(api, fake_upstream, 1)
    fake_upstream.script("reach me", text("served by the second account", chunks=2))
    stream = await client.chat.completions.create(
        model=MODEL, messages=ask("reach me"), stream=True
    )
    out = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert out == "served by the second account"
    assert responses_accounts(fake_upstream) == ["acct-1"]
    # acct-1 served it only by failover: the unreachable key is still the first choice
    # (a connection failure says nothing about the account, so it does not cool down).
    first_choice = await codex_app(jp_serverapp).core.router.pick_for_request()
    assert first_choice.id == dead["id"]
    log = await wait_log(api, 4)
    assert [r["status"] for r in log] == [200, 503, 503, 503]
    assert log[0]["account_id"] != dead["id"]


# -- live usage from response headers --------------------------------------------------------


def usage_headers(primary: int, secondary: int) -> dict[str, str]:
    resets = int(time.time()) + 3600
    return {
        "x-codex-primary-used-percent": f"{primary}.0",
        "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-at": str(resets),
        "x-codex-secondary-used-percent": f"{secondary}.0",
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": str(resets + 86_400),
    }


async def account_usage(api: Api, account_id: str) -> dict[str, Any] | None:
    accounts = (await api.call("GET", "accounts"))["accounts"]
    return next(a for a in accounts if a["id"] == account_id)["usage"]  # type: ignore[no-any-return]


async def wait_usage(api: Api, account_id: str, primary: float) -> dict[str, Any]:
    usage = None
    for _ in range(100):  # headers are ingested in the background
        usage = await account_usage(api, account_id)
        if usage and usage["primary_used_percent"] == primary:
            return usage
        await asyncio.sleep(0.05)
    raise AssertionError(f"usage never showed {primary}%: {usage}")


async def test_usage_headers_of_proxied_responses_feed_the_account_usage(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    # /wham/usage fails for this account: only the proxied responses can tell its usage.
    fake_upstream.fail_usage("acct-1", 500)
    account = (await setup_accounts(api, fake_upstream, 1))[0]
    usage = await account_usage(api, account["id"])
    assert usage is None or usage["primary_used_percent"] is None

    fake_upstream.script("count me", text("counted").with_headers(usage_headers(37, 12)))
    reply = await openai_client(*server).chat.completions.create(
        model=MODEL, messages=ask("count me")
    )
    assert reply.choices[0].message.content == "counted"
    usage = await wait_usage(api, account["id"], 37.0)
    assert usage["secondary_used_percent"] == 12.0 and usage["fetched_at"]

    # Every response moves it on, whatever the dialect.
    fake_upstream.script("count again", text("again").with_headers(usage_headers(41, 13)))
    message = await anthropic_client(*server).messages.create(
        model=MODEL, max_tokens=50, messages=ask("count again")
    )
    assert message.content[0].text == "again"  # type: ignore[union-attr]
    usage = await wait_usage(api, account["id"], 41.0)
    assert usage["secondary_used_percent"] == 13.0


# -- the request log -----------------------------------------------------------------------


async def wait_log(api: Api, rows: int, **params: Any) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = []
    for _ in range(100):  # rows are written in the background
        log = (await api.call("GET", "proxy", "requests", limit=1000, **params))["requests"]
        if len(log) >= rows:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"the log has {len(log)} rows, not {rows}")


async def test_request_log_keeps_the_newest_rows_and_no_bodies_or_secrets(
    api: Api,
    fake_upstream: FakeUpstream,
    server: Server,
    codex_data_dir: Path,
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    port, base_url, token = server
    old = await api.call("POST", "keys", body={"name": "old"})
    new = await api.call("POST", "keys", body={"name": "new"})
    secret = "PROMPT-SECRET-5d1c"
    fake_upstream.script(secret, *[text(f"REPLY-SECRET-{i}") for i in range(6)])

    old_client = openai_client(port, base_url, old["key"])
    for i in range(4):
        await old_client.chat.completions.create(model=MODEL, messages=ask(f"{secret} {i}"))
    old_rows = await wait_log(api, 4)
    assert [r["key_id"] for r in old_rows] == [old["id"]] * 4  # all kept: under the limit

    new_client = anthropic_client(port, base_url, new["key"])
    for i in range(2):
        await new_client.messages.create(
            model=MODEL, max_tokens=50, messages=ask(f"{secret} new {i}")
        )
    fake_upstream.script(
        "fails upstream",
        http_error(400, {"error": {"message": f"bad {secret}", "code": "bad_thing"}}),
    )
    with pytest.raises(anthropic.BadRequestError):
        await new_client.messages.create(model=MODEL, max_tokens=50, messages=ask("fails upstream"))
    await wait_log(api, 3, key_id=new["id"])

    log = (await api.call("GET", "proxy", "requests", limit=1000))["requests"]
    assert len(log) == LOG_ROWS
    assert [r["key_id"] for r in log] == [new["id"]] * 3 + [old["id"]] * 2
    assert [r["id"] for r in log[3:]] == [r["id"] for r in old_rows[:2]]  # the two newest old
    assert [r["status"] for r in log[:3]] == [400, 200, 200]
    assert log[0]["error"] and secret not in log[0]["error"]
    assert log[1]["path"].endswith("claude/v1/messages") and log[1]["model"] == MODEL
    db_path = codex_data_dir / "codex.db"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM proxy_requests").fetchone() == (LOG_ROWS,)
    # The counters outlive the rotated rows.
    keys = {k["id"]: k for k in (await api.call("GET", "keys"))["keys"]}
    assert keys[old["id"]]["requests"] == 4 and keys[new["id"]]["requests"] == 3

    raw_log = json.dumps(log)
    stored = b"".join(p.read_bytes() for p in codex_data_dir.glob("codex.db*"))
    for leak in (secret, "REPLY-SECRET", old["key"], new["key"], token):
        assert leak not in raw_log, leak
        assert leak.encode() not in stored, leak


# -- agent mode --------------------------------------------------------------------------------


async def test_an_undecided_agent_approval_is_declined_after_the_timeout(
    api: Api, fake_upstream: FakeUpstream, server: Server, jp_root_dir: Path
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script(
        "nobody answers",
        exec_command("touch timed-out.txt", escalated=True),
        text("Declined, so I left it."),
    )
    started = time.monotonic()
    request = asyncio.ensure_future(
        client.chat.completions.create(
            model="codex-agent",
            messages=ask("nobody answers"),
            extra_body={"session_id": "conv-timeout"},
        )
    )
    session = (await api_sessions_eventually(api))[0]
    approval = await api.wait_approval(session["id"])
    assert approval["expires_at"] - approval["created_at"] == pytest.approx(APPROVAL_TIMEOUT)
    assert not request.done()

    reply = await asyncio.wait_for(request, 30)  # nobody decides: the client still gets an answer
    assert time.monotonic() - started >= APPROVAL_TIMEOUT
    assert reply.choices[0].message.content == "Declined, so I left it."
    assert not (jp_root_dir / "timed-out.txt").exists()
    resolved = [e for e in await api.events(session["id"]) if e["type"] == "approval.resolved"]
    assert [(e["data"]["decision"], e["data"]["by"]) for e in resolved] == [("decline", "timeout")]
    assert (await api.call("GET", "approvals"))["approvals"] == []
    # Codex refused the command and told the model so.
    outputs = [
        i["output"]
        for i in fake_upstream.responses_requests()[-1].body["input"]
        if i.get("type") == "function_call_output"
    ]
    assert len(outputs) == 1 and "rejected" in outputs[0].lower()


async def test_a_session_id_selects_agent_mode_only_when_enabled(
    api: Api, fake_upstream: FakeUpstream, server: Server, jp_serverapp: Any
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    agent = codex_app(jp_serverapp).proxy.agent
    assert agent.on_session_id is False  # the default
    fake_upstream.script("plain call", text("direct answer"))
    reply = await client.chat.completions.create(
        model=MODEL, messages=ask("plain call"), extra_body={"session_id": "conv-direct"}
    )
    assert reply.choices[0].message.content == "direct answer"
    assert await api_sessions(api) == []

    agent.on_session_id = True
    fake_upstream.script("agent call", text("agent answer"))
    reply = await client.chat.completions.create(
        model=MODEL, messages=ask("agent call"), extra_body={"session_id": "conv-agent"}
    )
    assert reply.choices[0].message.content == "agent answer"
    sessions = await api_sessions(api)
    assert len(sessions) == 1
    req = fake_upstream.responses_requests()[-1]
    # Codex itself made the call, on the session's thread, with the model the client named.
    assert req.body["prompt_cache_key"] == sessions[0]["thread_id"]
    assert req.body["model"] == MODEL
    events = await api.events(sessions[0]["id"])
    assert [e["type"] for e in events].count("turn.completed") == 1

    # Without a conversation id the same model stays a direct call.
    fake_upstream.script("no id", text("direct again"))
    reply = await client.chat.completions.create(model=MODEL, messages=ask("no id"))
    assert reply.choices[0].message.content == "direct again"
    assert len(await api_sessions(api)) == 1
