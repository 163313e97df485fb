"""An exhausted pool speaks each client's dialect, and a fresh usage reading lifts it.

The real openai and anthropic SDKs against a live server and the fake: once every
account hit its usage limit, chat (JSON and stream), Responses and Messages answer
429 with the backend's own ``usage_limit_reached`` shape (Anthropic: ``rate_limit_error``
naming the reset time) before any byte is streamed; a usage poll that shows an account
allowed again serves the next request without a restart.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fakes import FakeUpstream, failed, text, usage_limit_error
from helpers import Api
from proxy_helpers import (
    MODEL,
    anthropic_client,
    openai_client,
    responses_accounts,
    server_url,
    setup_accounts,
    token_of,
)

Server = tuple[int, str, str]  # port, base url, jupyter token
RESETS_IN = 1800


@pytest.fixture
def server(jp_serverapp: Any, jp_http_port: int, jp_base_url: str) -> Server:
    return jp_http_port, jp_base_url, token_of(jp_serverapp)


def ask(content: str) -> list[Any]:
    return [{"role": "user", "content": content}]


def check_usage_limit(error: openai.APIStatusError, resets_at: int) -> None:
    assert error.status_code == 429
    body: Any = error.body
    assert body["type"] == "usage_limit_reached" and body["code"] == "usage_limit_reached"
    assert body["plan_type"] == "plus"
    assert abs(body["resets_at"] - resets_at) <= 2
    assert 0 < body["resets_in_seconds"] <= RESETS_IN
    reset = time.strftime("%H:%M", time.gmtime(body["resets_at"]))
    assert f"try again at {reset}" in body["message"]
    assert 1 <= int(error.response.headers["retry-after"]) <= 300
    assert error.response.headers["x-should-retry"] == "false"


async def test_an_exhausted_pool_is_a_usage_limit_in_every_dialect_until_usage_says_allowed(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 2)
    client = openai_client(*server)
    fake_upstream.script(
        "limited",
        usage_limit_error(plan="plus", resets_in=RESETS_IN),
        usage_limit_error(plan="plus", resets_in=RESETS_IN + 60),
    )
    resets_at = int(time.time()) + RESETS_IN
    with pytest.raises(openai.RateLimitError) as first:
        await client.chat.completions.create(model=MODEL, messages=ask("limited"))
    # Both accounts tried; the error names the *earliest* reset (acct-1's).
    assert responses_accounts(fake_upstream) == ["acct-1", "acct-2"]
    check_usage_limit(first.value, resets_at)

    # From now on nothing goes upstream, and every route says it the same way.
    with pytest.raises(openai.RateLimitError) as chat:
        await client.chat.completions.create(model=MODEL, messages=ask("again"))
    check_usage_limit(chat.value, resets_at)
    with pytest.raises(openai.RateLimitError) as streamed:  # fails before the first byte
        await client.chat.completions.create(model=MODEL, messages=ask("again"), stream=True)
    check_usage_limit(streamed.value, resets_at)
    with pytest.raises(openai.RateLimitError) as responses:
        await client.responses.create(model=MODEL, input="again")
    check_usage_limit(responses.value, resets_at)
    with pytest.raises(openai.RateLimitError) as responses_stream:
        await client.responses.create(model=MODEL, input="again", stream=True)
    check_usage_limit(responses_stream.value, resets_at)

    claude = anthropic_client(*server)
    for stream in (False, True):
        with pytest.raises(anthropic.RateLimitError) as limited:
            await claude.messages.create(
                model=MODEL, max_tokens=50, messages=ask("again"), stream=stream
            )
        body: Any = limited.value.body
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        reset = time.strftime("%H:%M", time.gmtime(resets_at))
        assert f"try again at {reset}" in body["error"]["message"]
        assert int(limited.value.response.headers["retry-after"]) >= 1
        assert limited.value.response.headers["x-should-retry"] == "false"
    # A raw stream request gets the JSON error, not a half-open SSE stream.
    port, base_url, token = server
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(
            server_url(port, base_url) + "codex/v1/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": MODEL, "messages": ask("again"), "stream": True},
        )
    assert answer.status_code == 429
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["type"] == "usage_limit_reached"
    assert len(responses_accounts(fake_upstream)) == 2

    # acct-2 is allowed again: a usage refresh shows it and lifts its cooldown at once.
    fake_upstream.set_usage("acct-2", primary_used=5)
    accounts = (await api.call("POST", "usage", "refresh"))["accounts"]
    assert {a["label"]: a["usage"]["primary_used_percent"] for a in accounts} == {
        "Account 1": 100,
        "Account 2": 5,
    }
    fake_upstream.script("after refresh", text("served again"))
    reply = await client.chat.completions.create(model=MODEL, messages=ask("after refresh"))
    assert reply.choices[0].message.content == "served again"
    assert responses_accounts(fake_upstream)[-1] == "acct-2"
    assert fake_upstream.pending_steps() == 0


async def test_a_usage_limit_inside_a_stream_names_the_reset_a_usage_reading_gives(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    """A ``usage_limit_reached`` inside a 200 stream names no reset time: the account
    cools down for a guess (``usage_limit_cooldown_seconds``, 900 s) until the usage
    poll that failure starts says when the window really resets."""
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    resets_in = 5000
    # The backend now counts the window as spent (the router has not read it yet).
    fake_upstream.set_usage(
        "acct-1", primary_used=100, limit_reached=True, primary_reset_after=resets_in
    )
    fake_upstream.script(
        "limited mid-stream", failed("usage_limit_reached", "The usage limit has been reached")
    )
    resets_at = int(time.time()) + resets_in
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(model=MODEL, messages=ask("limited mid-stream"))
    named: list[int] = []
    for _ in range(100):
        with pytest.raises(openai.RateLimitError) as again:
            await client.chat.completions.create(model=MODEL, messages=ask("again"))
        body: Any = again.value.body
        assert body["type"] == "usage_limit_reached"
        named.append(body["resets_at"])
        if abs(body["resets_at"] - resets_at) <= 2:
            break
        await asyncio.sleep(0.1)
    assert abs(named[-1] - resets_at) <= 2, named  # not the 900 s guess
    assert responses_accounts(fake_upstream) == ["acct-1"]  # nothing more went upstream
    log = (await api.call("GET", "logs"))["entries"]
    assert any("its usage limit resets then" in e["message"] for e in log), log
