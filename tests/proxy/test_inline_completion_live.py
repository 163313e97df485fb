"""Inline completion through the router: the server asks the (fake) upstream for the
text at the cursor with the api target's account, and cancels the upstream request
when the client goes away (the user typed on)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, hang, text
from helpers import Api
from proxy_helpers import MODEL, server_url, setup_accounts, token_of
from tornado.httpclient import HTTPClientError


async def test_completion_text_comes_from_the_upstream_through_the_router(
    api: Api, fake_upstream: FakeUpstream
) -> None:
    accounts = await setup_accounts(api, fake_upstream, 1)
    fake_upstream.script("INLINE-COMPLETE-1", text("```python\na + b\n```"))
    started = time.monotonic()
    answer = await api.call(
        "POST",
        "inline",
        "complete",
        body={
            "prefix": "# INLINE-COMPLETE-1\ndef add(a, b):\n    return ",
            "suffix": "\n",
            "language": "python",
            "model": MODEL,
            "effort": "low",
        },
    )
    elapsed = time.monotonic() - started
    assert answer == {"completion": "a + b", "model": MODEL, "error": None}
    (request,) = fake_upstream.responses_requests(containing="INLINE-COMPLETE-1")
    assert request.account_id == "acct-1" and accounts[0]["id"]
    assert "return <CURSOR>" in json.dumps(request.body)
    assert request.body["reasoning"]["effort"] == "low"
    print(f"inline completion round trip {elapsed * 1000:.0f} ms")


async def test_a_completion_is_cancelled_when_the_client_goes_away(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    fake_upstream.script("INLINE-COMPLETE-2", hang() + text("late"))
    url = server_url(jp_http_port, jp_base_url) + "codex/api/inline/complete"
    headers = {"Authorization": f"token {token_of(jp_serverapp)}"}
    async with httpx.AsyncClient(timeout=2.0) as client:
        # The user types on: the frontend aborts the request (here: a client timeout).
        with pytest.raises(httpx.TimeoutException):
            await client.post(
                url, headers=headers, json={"prefix": "INLINE-COMPLETE-2 x = ", "model": MODEL}
            )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = fake_upstream.responses_requests(containing="INLINE-COMPLETE-2")
        if sent and sent[0].client_disconnected:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the upstream request was not cancelled")
    fake_upstream.release()


async def test_bad_completion_input_is_a_400(api: Api) -> None:
    with pytest.raises(HTTPClientError) as info:
        await api.call("POST", "inline", "complete", body={"suffix": "x"})
    assert info.value.code == 400
