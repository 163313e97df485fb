"""``previous_response_id`` on the Responses endpoint (the backend itself stores nothing)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from fakes import FakeUpstream, text
from helpers import Api
from proxy_helpers import MODEL, openai_client, setup_accounts, token_of

from jupyter_codex.proxy.response_memory import ResponseMemory


async def test_previous_response_id_continues_the_conversation(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 2)
    client = openai_client(jp_http_port, jp_base_url, token_of(jp_serverapp))
    fake_upstream.script("my name is Ada", text("Hello Ada"))
    fake_upstream.script("what is my name", text("You are Ada", chunks=2))

    first = await client.responses.create(model=MODEL, input="my name is Ada")
    assert first.output_text == "Hello Ada"
    req1 = fake_upstream.responses_requests()[-1]

    stream = await client.responses.create(
        model=MODEL, input="what is my name?", previous_response_id=first.id, stream=True
    )
    deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "You are Ada"
    req2 = fake_upstream.responses_requests()[-1]
    sent = json.dumps(req2.body["input"])
    assert "my name is Ada" in sent and "Hello Ada" in sent and "what is my name?" in sent
    assert "previous_response_id" not in req2.body and req2.body["store"] is False
    # One conversation: same prompt-cache key, same account.
    assert req2.headers["session_id"] == req1.headers["session_id"]
    assert req2.account_id == req1.account_id

    with pytest.raises(openai.BadRequestError) as unknown:
        await client.responses.create(model=MODEL, input="x", previous_response_id="resp_nope")
    assert unknown.value.code == "previous_response_not_found"


def test_memory_is_bounded_per_client_and_in_age() -> None:
    memory = ResponseMemory(max_entries=2, ttl_seconds=3600)
    for n in range(3):
        memory.remember("c", f"r{n}", [{"n": n}], [{"out": n}], f"k{n}")
    assert len(memory) == 2 and memory.recall("c", "r0") is None
    remembered = memory.recall("c", "r2")
    assert remembered is not None and remembered.items == [{"n": 2}, {"out": 2}]
    assert remembered.session_key == "k2"
    assert memory.recall("another client", "r2") is None
    expired = ResponseMemory(max_entries=2, ttl_seconds=-1)
    expired.remember("c", "r", [], [], "k")
    assert expired.recall("c", "r") is None
