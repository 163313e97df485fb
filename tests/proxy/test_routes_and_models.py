"""Clients that do not pin a model, and the routes they probe (real SDKs, live server).

Model names match case-insensitively and with an ``openai/`` prefix; an opt-in
``ProxyService.default_model`` serves unknown names; every unknown path under
``codex/v1/`` and ``codex/claude/`` is a JSON 404 in its dialect, with a token and
with a proxy key; ``models/{id}`` and Anthropic's model list exist; non-retryable
4xx answers carry ``x-should-retry: false``.
"""

from __future__ import annotations

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
