"""Agent mode: proxy requests that run real Codex turns on the api target's app-server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from fakes import FakeUpstream, exec_command, hang, text
from helpers import Api
from proxy_helpers import (
    anthropic_client,
    api_sessions,
    api_sessions_eventually,
    codex_app,
    openai_client,
    setup_accounts,
    token_of,
)

Server = tuple[int, str, str]


@pytest.fixture
def server(jp_serverapp: Any, jp_http_port: int, jp_base_url: str) -> Server:
    return jp_http_port, jp_base_url, token_of(jp_serverapp)


def last_user_text(body: dict[str, Any]) -> str:
    for item in reversed(body.get("input") or []):
        if item.get("type") == "message" and item.get("role") == "user":
            return "".join(p.get("text", "") for p in item.get("content") or [])
    return ""


def all_text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("input") or [])


async def test_agent_session_reuse_across_requests(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script("first question", text("Answer number one"))
    fake_upstream.script("second question", text("Answer number two", chunks=4))

    history: list[Any] = [{"role": "user", "content": "first question"}]
    first = await client.chat.completions.create(
        model="codex-agent", messages=history, extra_body={"session_id": "conv-42"}
    )
    assert first.choices[0].message.content == "Answer number one"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None and first.usage.prompt_tokens > 0
    sessions = await api_sessions(api)
    assert len(sessions) == 1 and sessions[0]["sandbox"] == "read-only"
    thread_id = sessions[0]["thread_id"]
    req1 = fake_upstream.responses_requests()[-1]
    # The agent ran on the api target's account, through codex itself.
    assert req1.account_id == "acct-1" and last_user_text(req1.body) == "first question"

    history += [
        {"role": "assistant", "content": "Answer number one"},
        {"role": "user", "content": "second question"},
    ]
    stream = await client.chat.completions.create(
        model="codex-agent",
        messages=history,
        stream=True,
        extra_headers={"x-session-id": "conv-42"},
    )
    deltas = [
        c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert "".join(deltas) == "Answer number two" and len(deltas) >= 2

    sessions = await api_sessions(api)
    assert len(sessions) == 1 and sessions[0]["thread_id"] == thread_id  # the same thread
    req2 = fake_upstream.responses_requests()[-1]
    # Only the new message was sent; the earlier turn came from the thread's own history.
    assert last_user_text(req2.body) == "second question"
    assert "first question" in all_text(req2.body) and "Answer number one" in all_text(req2.body)
    assert req2.headers.get("session_id") == req1.headers.get("session_id")

    # Another conversation id is another session; none at all is a fresh one too.
    fake_upstream.script("other conv", text("Other"))
    other = await client.chat.completions.create(
        model="codex-agent", messages=[{"role": "user", "content": "other conv"}], user="someone"
    )
    assert other.choices[0].message.content == "Other"
    assert len(await api_sessions(api)) == 2
    events = await api.events(sessions[0]["id"])
    assert [e["type"] for e in events].count("turn.completed") == 2


async def test_agent_json_schema_anthropic_and_responses(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    fake_upstream.script("count them", text('{"n": 3}'))
    reply = await client.chat.completions.create(
        model="codex-agent:low",
        messages=[{"role": "user", "content": "count them"}],
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content or "") == {"n": 3}
    body = fake_upstream.responses_requests()[-1].body
    assert body["text"]["format"]["schema"] == schema  # response_format -> outputSchema
    assert body["reasoning"]["effort"] == "low"

    fake_upstream.script("claude asks", text("Claude gets the agent"))
    claude = anthropic_client(*server)
    async with claude.messages.stream(
        model="codex-agent",
        max_tokens=100,
        messages=[{"role": "user", "content": "claude asks"}],
        metadata={"user_id": "claude-conv"},
    ) as stream:
        texts = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == "Claude gets the agent" and final.stop_reason == "end_turn"

    fake_upstream.script("responses asks", text("Responses too"))
    response = await client.responses.create(model="codex-agent", input="responses asks")
    assert response.output_text == "Responses too" and response.status == "completed"


async def test_agent_approval_waits_in_the_workspace(
    api: Api, fake_upstream: FakeUpstream, server: Server, jp_root_dir: Path
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script(
        "please write", exec_command("touch agent-made.txt", escalated=True), text("I could not.")
    )
    request = asyncio.ensure_future(
        client.chat.completions.create(
            model="codex-agent",
            messages=[{"role": "user", "content": "please write"}],
            extra_body={"session_id": "conv-approval"},
        )
    )
    session = (await api_sessions_eventually(api))[0]
    approval = await api.wait_approval(session["id"])
    assert approval["kind"] == "command" and "agent-made.txt" in approval["command"]
    assert not request.done()  # the client waits for the human
    await api.call("POST", "approvals", approval["id"], body={"decision": "decline"})
    reply = await asyncio.wait_for(request, 60)
    assert reply.choices[0].message.content == "I could not."
    assert not (jp_root_dir / "agent-made.txt").exists()


async def test_agent_busy_conversation_and_disconnect_stop_the_turn(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    fake_upstream.script("slow work", text("starting ") + hang())
    stream = await client.chat.completions.create(
        model="codex-agent",
        messages=[{"role": "user", "content": "slow work"}],
        stream=True,
        extra_body={"session_id": "conv-busy"},
    )
    chunks = stream.__aiter__()
    first = await asyncio.wait_for(chunks.__anext__(), 60)
    assert first.choices[0].delta.role == "assistant" or first.choices[0].delta.content

    with pytest.raises(openai.ConflictError) as busy:
        await client.chat.completions.create(
            model="codex-agent",
            messages=[{"role": "user", "content": "in between"}],
            extra_body={"session_id": "conv-busy"},
        )
    assert "still working" in str(busy.value)

    session = (await api_sessions(api))[0]
    assert (await api.call("GET", "sessions", session["id"]))["state"] == "running"
    await stream.close()  # the client goes away: its turn stops
    await api.wait_event(
        session["id"],
        lambda e: e["type"] == "turn.completed" and e["data"]["status"] == "interrupted",
        timeout=60,
    )


async def test_agent_errors_in_the_client_dialect(
    api: Api, fake_upstream: FakeUpstream, server: Server, jp_serverapp: Any
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    client = openai_client(*server)
    codex_app(jp_serverapp).proxy.agent.require_session_id = True
    with pytest.raises(openai.BadRequestError) as missing:
        await client.chat.completions.create(
            model="codex-agent", messages=[{"role": "user", "content": "hi"}]
        )
    assert "conversation id" in str(missing.value)
    with pytest.raises(openai.BadRequestError) as bad_image:
        await client.chat.completions.create(
            model="codex-agent",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
                    ],
                }
            ],
            user="conv-img",
        )
    assert "base64" in str(bad_image.value)
    claude = anthropic_client(*server)
    import anthropic

    with pytest.raises(anthropic.BadRequestError) as claude_missing:
        await claude.messages.create(
            model="codex-agent", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert claude_missing.value.body["type"] == "error"  # type: ignore[index]


async def test_agent_mode_without_an_api_account_says_what_to_do(
    api: Api, fake_upstream: FakeUpstream, server: Server
) -> None:
    client = openai_client(*server)
    with pytest.raises(openai.APIStatusError) as none:
        await client.chat.completions.create(
            model="codex-agent", messages=[{"role": "user", "content": "hi"}], user="c"
        )
    assert none.value.status_code == 503
    assert "--target api" in str(none.value)
    assert fake_upstream.responses_requests() == []
