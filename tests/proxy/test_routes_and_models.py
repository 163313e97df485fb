"""Clients that do not pin a model, and the routes they probe (real SDKs, live server).

Model names match case-insensitively and with an ``openai/`` prefix; an opt-in
``ProxyService.default_model`` serves unknown names; every unknown path under
``codex/v1/`` and ``codex/claude/`` is a JSON 404 in its dialect, with a token and
with a proxy key; ``models/{id}`` and Anthropic's model list exist; non-retryable
4xx answers carry ``x-should-retry: false``.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fakes import FakeUpstream, http_error, text, tool_call
from helpers import Api
from proxy_helpers import (
    MODEL,
    anthropic_client,
    openai_client,
    server_url,
    setup_accounts,
    token_of,
)
from traitlets.config import Config

Server = tuple[int, str, str]  # port, base url, jupyter token
DEFAULT = "gpt-5.2"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ProxyService.default_model = DEFAULT
    return jp_server_config


@pytest.fixture
def server(jp_serverapp: Any, jp_http_port: int, jp_base_url: str) -> Server:
    return jp_http_port, jp_base_url, token_of(jp_serverapp)


async def test_model_names_any_case_with_prefix_and_the_default_model(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    for name in ("GPT-5.2-Codex", "openai/gpt-5.2-codex", "OpenAI/GPT-5.2-CODEX:high"):
        fake_upstream.script(f"ask {name}", text("served"))
        reply = await client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": f"ask {name}"}]
        )
        assert reply.choices[0].message.content == "served"
        assert reply.model == name  # echoed as the client named it
        assert fake_upstream.responses_requests()[-1].body["model"] == MODEL
    assert fake_upstream.responses_requests()[-1].body["reasoning"]["effort"] == "high"
    # A name of the client's own goes to the opt-in default model.
    fake_upstream.script("own name", text("by default"))
    reply = await client.chat.completions.create(
        model="my-editor-model", messages=[{"role": "user", "content": "own name"}]
    )
    assert reply.choices[0].message.content == "by default"
    assert fake_upstream.responses_requests()[-1].body["model"] == DEFAULT


async def test_model_lookup_in_both_dialects(api: Api, server: Server) -> None:
    client = openai_client(*server)
    model = await client.models.retrieve(MODEL)
    assert model.id == MODEL and model.object == "model"
    assert (await client.models.retrieve(MODEL.upper())).id == MODEL
    with pytest.raises(openai.NotFoundError) as missing:
        await client.models.retrieve("no-such-model")
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    assert missing.value.response.headers["x-should-retry"] == "false"
    claude = anthropic_client(*server)
    page = await claude.models.list()
    ids = [m.id for m in page.data]
    assert MODEL in ids and all(m.type == "model" for m in page.data)
    assert (await claude.models.retrieve(MODEL)).id == MODEL


async def test_unknown_routes_are_json_404s_in_their_dialect_with_a_token_or_a_key(
    api: Api, server: Server
) -> None:
    port, base_url, token = server
    key = (await api.call("POST", "keys", body={"name": "probe"}))["key"]
    base = server_url(port, base_url)
    async with httpx.AsyncClient() as http:
        for credential in ({"Authorization": f"Bearer {token}"}, {"x-api-key": key}):
            for method, path in (
                ("GET", "codex/v1/embeddings"),
                ("POST", "codex/v1/audio/speech"),
                ("GET", "codex/v1/files/abc/content"),
                ("DELETE", "codex/v1/responses/resp_1"),
            ):
                answer = await http.request(method, base + path, headers=credential, json={})
                assert answer.status_code == 404, (method, path, answer.text)
                assert answer.headers["content-type"].startswith("application/json")
                assert answer.json()["error"]["type"] == "not_found_error"
                assert answer.headers["x-should-retry"] == "false"
            for method, path in (
                ("POST", "codex/claude/v1/complete"),
                ("GET", "codex/claude/v1/files"),
                ("GET", "codex/claude/anything"),
            ):
                answer = await http.request(method, base + path, headers=credential, json={})
                assert answer.status_code == 404, (method, path, answer.text)
                body = answer.json()
                assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
                assert answer.headers["x-should-retry"] == "false"
    # Without credentials (a fresh client: no login cookie): still JSON, a 401.
    async with httpx.AsyncClient() as http:
        answer = await http.get(base + "codex/v1/embeddings")
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "invalid_api_key"


async def test_non_retryable_errors_say_so(api: Api, server: Server) -> None:
    port, base_url, token = server
    client = openai_client(port, base_url, token)
    with pytest.raises(openai.BadRequestError) as bad:
        await client.chat.completions.create(model=MODEL, messages="not a list")  # type: ignore[arg-type]
    assert bad.value.response.headers["x-should-retry"] == "false"
    wrong = openai_client(port, base_url, "jcx-" + "0" * 40)
    with pytest.raises(openai.AuthenticationError) as refused:
        await wrong.chat.completions.create(model=MODEL, messages=[])
    assert refused.value.response.headers["x-should-retry"] == "false"
    # A proxy key may not ask for the cli target's account: 403.
    key = (await api.call("POST", "keys", body={"name": "k"}))["key"]
    keyed = openai_client(port, base_url, key, default_headers={"x-jupyter-codex-target": "cli"})
    with pytest.raises(openai.PermissionDeniedError) as forbidden:
        await keyed.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert forbidden.value.response.headers["x-should-retry"] == "false"
    claude = anthropic_client(port, base_url, "jcx-" + "1" * 40)
    with pytest.raises(anthropic.AuthenticationError) as claude_refused:
        await claude.messages.create(model=MODEL, max_tokens=5, messages=[])
    assert claude_refused.value.response.headers["x-should-retry"] == "false"


# -- requests real APIs accept ------------------------------------------------------------


async def test_n_choices_run_upstream_n_times_and_merge(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    fake_upstream.script(
        "twice", text("one answer").with_usage(10, 3), text("another").with_usage(10, 4)
    )
    reply = await openai_client(*server).chat.completions.create(
        model=MODEL, n=2, messages=[{"role": "user", "content": "twice"}]
    )
    assert [c.index for c in reply.choices] == [0, 1]
    assert sorted(c.message.content or "" for c in reply.choices) == ["another", "one answer"]
    assert reply.usage is not None and reply.usage.completion_tokens == 7
    assert reply.usage.prompt_tokens == 20
    assert len(fake_upstream.responses_requests()) == 2


async def test_n_choices_stream_side_by_side_with_one_usage_chunk(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    fake_upstream.script(
        "stream twice", text("one answer").with_usage(10, 3), text("another").with_usage(10, 4)
    )
    stream = await openai_client(*server).chat.completions.create(
        model=MODEL,
        n=2,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream twice"}],
    )
    texts: dict[int, str] = {}
    finish: dict[int, str | None] = {}
    ids, usages = set(), []
    async for chunk in stream:
        ids.add(chunk.id)
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason:
                finish[choice.index] = choice.finish_reason
    assert sorted(texts) == [0, 1]
    assert sorted(texts.values()) == ["another", "one answer"]
    assert finish == {0: "stop", 1: "stop"}
    assert len(ids) == 1  # one completion, two choices
    assert len(usages) == 1  # both runs summed into the one usage chunk
    assert usages[0].completion_tokens == 7 and usages[0].prompt_tokens == 20
    assert len(fake_upstream.responses_requests()) == 2
    # One run refused before any byte: the request fails as a single run would.
    refusal = {"error": {"message": "bad input", "type": "invalid_request_error"}}
    fake_upstream.script("one fails", text("fine"), http_error(400, refusal))
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(*server).chat.completions.create(
            model=MODEL, n=2, stream=True, messages=[{"role": "user", "content": "one fails"}]
        )
    assert "bad input" in str(refused.value)


async def test_legacy_functions_round_trip(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    functions = [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    fake_upstream.script(
        "weather in Paris",
        tool_call("get_weather", {"city": "Paris"}),
        text("Sunny in Paris"),
        tool_call("get_weather", {"city": "Oslo"}),
    )
    messages: list[Any] = [{"role": "user", "content": "weather in Paris"}]
    reply = await client.chat.completions.create(
        model=MODEL, messages=messages, functions=functions, function_call="auto"
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.function_call is not None and not choice.message.tool_calls
    assert choice.message.function_call.name == "get_weather"
    assert json.loads(choice.message.function_call.arguments) == {"city": "Paris"}
    sent = fake_upstream.responses_requests()[-1].body
    assert [t["name"] for t in sent["tools"]] == ["get_weather"]
    assert sent["tool_choice"] == "auto"
    # The function's result goes back as role "function": a tool output upstream.
    messages += [
        {
            "role": "assistant",
            "content": None,
            "function_call": choice.message.function_call.model_dump(),
        },
        {"role": "function", "name": "get_weather", "content": "sunny, 21 C"},
    ]
    reply = await client.chat.completions.create(
        model=MODEL, messages=messages, functions=functions
    )
    assert reply.choices[0].message.content == "Sunny in Paris"
    items = fake_upstream.responses_requests()[-1].body["input"]
    call = next(i for i in items if i.get("type") == "function_call")
    output = next(i for i in items if i.get("type") == "function_call_output")
    assert call["name"] == "get_weather" and output["call_id"] == call["call_id"]
    assert output["output"] == "sunny, 21 C"
    # Streamed, the call arrives as function_call deltas.
    messages.append({"role": "user", "content": "and weather in Paris tomorrow?"})
    stream = await client.chat.completions.create(
        model=MODEL, messages=messages, functions=functions, stream=True
    )
    name, args, finish = "", "", None
    async for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        assert not delta.tool_calls
        if delta.function_call is not None:
            name += delta.function_call.name or ""
            args += delta.function_call.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, json.loads(args), finish) == ("get_weather", {"city": "Oslo"}, "function_call")


async def test_anthropic_files_api_images_get_a_clear_error(api: Api, server: Server) -> None:
    claude = anthropic_client(*server)
    with pytest.raises(anthropic.BadRequestError) as info:
        await claude.messages.create(
            model=MODEL,
            max_tokens=50,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
                        {"type": "text", "text": "what is this?"},
                    ],
                }
            ],
        )
    message = info.value.body["error"]["message"]  # type: ignore[index]
    assert "Files API" in message and "base64" in message
    assert info.value.response.headers["x-should-retry"] == "false"
