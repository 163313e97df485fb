"""The streaming relay's mechanics: keep-alives during silences, long streams intact.

The relay writes the frames of one upstream read in one flush and sends a keep-alive
only when nothing was written for ``ProxyService.keepalive_seconds``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, text
from helpers import Api
from proxy_helpers import MODEL, server_url, setup_accounts, token_of
from traitlets.config import Config


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ProxyService.keepalive_seconds = 0.3
    return jp_server_config


async def _stream(url: str, token: str, body: dict[str, Any], anthropic: bool) -> list[str]:
    headers = (
        {"x-api-key": token, "anthropic-version": "2023-06-01"}
        if anthropic
        else {"Authorization": f"Bearer {token}"}
    )
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("POST", url, json=body, headers=headers) as r,
    ):
        assert r.status_code == 200
        return [line async for line in r.aiter_lines() if line]


async def test_keepalive_only_during_silences(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    token = token_of(jp_serverapp)
    url = server_url(jp_http_port, jp_base_url) + "codex/claude/v1/messages"
    # 3 chunks 0.8 s apart: silences of more than twice the keep-alive interval
    fake_upstream.script("slow one", text("a b c ", chunks=3, delay=0.8))
    body = {
        "model": MODEL,
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "slow one"}],
    }
    lines = await _stream(url, token, body, anthropic=True)
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    deltas = [i for i, e in enumerate(events) if e == "content_block_delta"]
    assert len(deltas) == 3 and events[-1] == "message_stop"
    between = events[deltas[0] : deltas[-1]]
    assert between.count("ping") >= 2, events  # pings while upstream was silent

    # A fast stream gets no keep-alive at all: events keep the connection busy.
    fake_upstream.script("fast one", text("x " * 200, chunks=200))
    body["messages"] = [{"role": "user", "content": "fast one"}]
    lines = await _stream(url, token, body, anthropic=True)
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events.count("content_block_delta") == 200 and "ping" not in events[2:-1]


async def test_long_chat_stream_arrives_whole_and_in_order(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    token = token_of(jp_serverapp)
    url = server_url(jp_http_port, jp_base_url) + "codex/v1/chat/completions"
    words = [f"w{i} " for i in range(2000)]
    fake_upstream.script("long one", text("".join(words), chunks=2000))
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "long one"}]}
    lines = await _stream(url, token, body, anthropic=False)
    assert lines[-1] == "data: [DONE]"
    data = [line for line in lines[:-1] if not line.startswith(":")]  # keep-alives may come
    chunks = [json.loads(line.removeprefix("data: ")) for line in data]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert content == "".join(words)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    body["stream"] = False  # the same reply collected into one JSON answer
    fake_upstream.script("long two", text("".join(words), chunks=2000))
    body["messages"] = [{"role": "user", "content": "long two"}]
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "".join(words)
