"""The proxy through the real openai and anthropic SDKs, against the fake upstream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest
from fakes import FakeUpstream, failed, hang, reasoning, text, tool_call, usage_limit_error
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


@pytest.fixture
def server(jp_serverapp: Any, jp_http_port: int, jp_base_url: str) -> Server:
    return jp_http_port, jp_base_url, token_of(jp_serverapp)


async def test_chat_completion_non_streaming_and_streaming(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script("say hi", text("Hi there, friend").with_usage(11, 5, cached=4))
    reply = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "say hi"}]
    )
    assert reply.choices[0].message.content == "Hi there, friend"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens == 11
    req = fake_upstream.responses_requests()[-1]
    assert req.path == "/backend-api/codex/responses" and req.account_id == "acct-1"
    assert req.headers["session_id"] == req.body["prompt_cache_key"]
    assert req.body["stream"] is True and req.body["store"] is False

    fake_upstream.script("stream please", text("one two three", chunks=3))
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) >= 3 and "".join(deltas) == "one two three"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_tool_call_round_trip_and_json_schema(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    fake_upstream.script(
        "weather in Paris", tool_call("get_weather", {"city": "Paris"}), text("Sunny")
    )
    messages: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
    first = await client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 C, sunny"},
    ]
    second = await client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
    assert second.choices[0].message.content == "Sunny"
    body = fake_upstream.responses_requests()[-1].body
    outputs = [i for i in body["input"] if i.get("type") == "function_call_output"]
    assert outputs and outputs[0]["call_id"] == call.id

    fake_upstream.script("as json", text('{"city": "Paris", "temp": 22}'))
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
        "required": ["city", "temp"],
        "additionalProperties": False,
    }
    reply = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "as json"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "weather", "schema": schema, "strict": True},
        },
    )
    assert json.loads(reply.choices[0].message.content or "") == {"city": "Paris", "temp": 22}
    fmt = fake_upstream.responses_requests()[-1].body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["schema"] == schema


async def test_responses_api_streaming_and_not(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script("responses stream", text("streamed answer"))
    stream = await client.responses.create(model=MODEL, input="responses stream", stream=True)
    events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "streamed answer"
    )
    fake_upstream.script("responses plain", text("plain answer"))
    response = await client.responses.create(
        model=MODEL, input="responses plain", instructions="Be brief."
    )
    assert response.output_text == "plain answer"
    assert fake_upstream.responses_requests()[-1].body["instructions"] == "Be brief."


async def test_anthropic_streaming_text_thinking_and_tool_use(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = anthropic_client(*server)
    fake_upstream.script("think first", reasoning("Let me think.") + text("The answer is 4."))
    async with client.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think first: 2+2?"}],
    ) as stream:
        kinds = [event.type async for event in stream]
        message = await stream.get_final_message()
    assert kinds[0] == "message_start" and "message_stop" in kinds
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[1].text == "The answer is 4."  # type: ignore[union-attr]

    tools = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    fake_upstream.script("use the tool", tool_call("get_weather", {"city": "Oslo"}))
    async with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        tools=tools,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "use the tool"}],
    ) as stream:
        raw = [event async for event in stream]
        message = await stream.get_final_message()
    deltas = [
        e.delta.partial_json  # type: ignore[union-attr]
        for e in raw
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"  # type: ignore[union-attr]
    ]
    assert deltas and json.loads("".join(deltas)) == {"city": "Oslo"}
    assert message.stop_reason == "tool_use"
    assert message.content[-1].type == "tool_use" and message.content[-1].input == {"city": "Oslo"}  # type: ignore[union-attr]

    count = await client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "x" * 400}]
    )
    assert 90 <= count.input_tokens <= 120


async def test_failover_before_the_first_byte(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    accounts = await setup_accounts(api, fake_upstream, 2)
    client = openai_client(*server)
    fake_upstream.script("fail over", usage_limit_error(resets_in=1800), text("from account two"))
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "fail over"}], stream=True
    )
    text_out = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text_out == "from account two"
    assert responses_accounts(fake_upstream) == ["acct-1", "acct-2"]
    # acct-1 cools down until its reset: the next request goes straight to acct-2.
    fake_upstream.script("next one", text("still two"))
    reply = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "next one"}]
    )
    assert reply.choices[0].message.content == "still two"
    assert responses_accounts(fake_upstream)[-1] == "acct-2"
    logs = (await api.call("GET", "logs", kind="cooldown"))["entries"]
    assert logs and logs[0]["from_account"] == accounts[0]["id"]


async def test_no_failover_after_the_first_byte(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 2)
    client = openai_client(*server)
    fake_upstream.script("midway", text("partial ") + failed("rate_limit_exceeded", "slow down"))
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "midway"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match="slow down"):
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert "".join(received) == "partial "
    assert responses_accounts(fake_upstream) == ["acct-1"]  # no second attempt

    anthropic = anthropic_client(*server)
    fake_upstream.script("claude midway", text("half") + failed("server_error", "exploded"))
    with pytest.raises(Exception, match="exploded"):
        async with anthropic.messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "claude midway"}]
        ) as s:
            async for _ in s:
                pass
    assert len(responses_accounts(fake_upstream)) == 2


async def test_all_accounts_limited_answers_429_with_retry_after(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 2)
    client = openai_client(*server)
    # An overload reported inside a 200 stream, before any content, fails over (no cooldown).
    fake_upstream.script("overloaded", failed("server_is_overloaded", "busy"), text("recovered"))
    reply = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "overloaded"}]
    )
    assert reply.choices[0].message.content == "recovered"
    assert responses_accounts(fake_upstream) == ["acct-1", "acct-2"]

    fake_upstream.script("limited", usage_limit_error(), usage_limit_error())
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "limited"}]
        )
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 300
    assert responses_accounts(fake_upstream)[2:] == ["acct-1", "acct-2"]
    assert info.value.body["type"] == "usage_limit_reached"  # type: ignore[index]
    # Now nobody is left: still the usage limit (429, not an outage's 503), with
    # Retry-After, without asking upstream.
    with pytest.raises(openai.RateLimitError) as unavailable:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "anything"}]
        )
    assert unavailable.value.status_code == 429
    assert int(unavailable.value.response.headers["retry-after"]) >= 1
    assert unavailable.value.body["type"] == "usage_limit_reached"  # type: ignore[index]
    assert len(responses_accounts(fake_upstream)) == 4


async def test_a_conversation_stays_on_its_account(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 2)
    await api.call("PATCH", "targets", "api", body={"strategy": "per_request"})
    client = openai_client(*server)
    for conversation in range(3):
        messages: list[Any] = [
            {"role": "system", "content": f"You are assistant {conversation}."},
            {"role": "user", "content": f"conversation {conversation} turn 0"},
        ]
        for turn in range(4):
            reply = await client.chat.completions.create(model=MODEL, messages=messages)
            messages += [
                {"role": "assistant", "content": reply.choices[0].message.content},
                {"role": "user", "content": f"conversation {conversation} turn {turn + 1}"},
            ]
        requests = fake_upstream.responses_requests()[-4:]
        assert len({r.account_id for r in requests}) == 1, [r.account_id for r in requests]
        assert len({r.headers["session_id"] for r in requests}) == 1
        assert len({r.body["prompt_cache_key"] for r in requests}) == 1
    keys = {r.headers["session_id"] for r in fake_upstream.responses_requests()}
    assert len(keys) == 3  # one per conversation
    # A client-named session is honoured as its own conversation.
    await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "conversation 0 turn 0"}],
        extra_headers={"x-session-id": "my-session"},
    )
    assert fake_upstream.responses_requests()[-1].headers["session_id"] not in keys


async def test_client_disconnect_cancels_the_upstream_request(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    fake_upstream.script("hang on", text("first ", chunks=1) + hang() + text("never"))
    port, base_url, token = server
    url = server_url(port, base_url) + "codex/v1/chat/completions"
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hang on"}]}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("POST", url, json=body, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if "first" in line:
                break
    for _ in range(100):  # the fake notices the proxy dropped its upstream connection
        if (
            fake_upstream.hanging == 0
            and fake_upstream.responses_requests()[-1].client_disconnected
        ):
            break
        await asyncio.sleep(0.05)
    assert fake_upstream.hanging == 0
