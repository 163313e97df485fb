"""Agent mode's pure parts: request -> codex input, workspace events -> Responses events."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.proxy.agent_events import AgentTurnTranslator
from jupyter_codex.proxy.agent_input import (
    AgentRequest,
    ImageFiles,
    codex_input,
    conversation_id,
    output_schema_of,
)
from jupyter_codex.proxy.openai_chat import chat_to_responses
from jupyter_codex.proxy.responses import ResponsesAggregator

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def request_from_chat(messages: list[dict[str, Any]], **extra: Any) -> AgentRequest:
    body, _ = chat_to_responses({"model": "codex-agent", "messages": messages, **extra})
    return AgentRequest(
        conversation="c1",
        client_id="jupyter",
        model="",
        effort=None,
        messages=list(body["input"]),
        instructions=body.get("instructions") or "",
        output_schema=output_schema_of(body),
    )


def test_conversation_id_sources_in_order() -> None:
    assert conversation_id({"user": "u"}, {"X-Session-Id": "h"}) == "h"
    assert conversation_id({"thread_id": "t", "user": "u"}, {}) == "t"
    assert conversation_id({"metadata": {"user_id": "m"}}, {}) == "m"
    assert conversation_id({"user": "  "}, {}) is None


def test_known_thread_gets_only_the_new_message(tmp_path: Path) -> None:
    request = request_from_chat(
        [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "reply one"},
            {"role": "user", "content": "two"},
        ]
    )
    images = ImageFiles(tmp_path, 1000)
    items = codex_input(request, new_thread=False, images=images)
    assert items == [{"type": "text", "text": "two", "text_elements": []}]

    fresh = codex_input(request, new_thread=True, images=images)
    text = fresh[0]["text"]
    assert text.startswith("[SYSTEM]\nBe terse.")
    assert "[USER]\none" in text and "[ASSISTANT]\nreply one" in text
    assert text.endswith("[USER]\ntwo")


def test_images_become_local_files_or_urls(tmp_path: Path) -> None:
    request = request_from_chat(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "compare"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            }
        ]
    )
    images = ImageFiles(tmp_path / "img", 1000)
    items = codex_input(request, new_thread=False, images=images)
    assert items[0]["text"] == "compare"
    local = Path(items[1]["path"])
    assert items[1]["type"] == "localImage" and local.read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert items[2] == {"type": "image", "url": "https://example.com/a.png"}
    images.remove()
    assert not local.exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///etc/passwd", "not file paths"),
        ("/etc/passwd", "not file paths"),
        ("data:image/png;base64,@@", "not valid base64"),
        ("data:text/html;base64,AAAA", "PNG, JPEG"),
        (f"data:image/png;base64,{PNG * 40}", "the limit is"),
    ],
)
def test_bad_images_are_refused(tmp_path: Path, url: str, problem: str) -> None:
    request = request_from_chat(
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    )
    with pytest.raises(InvalidRequestError, match=problem):
        codex_input(request, new_thread=False, images=ImageFiles(tmp_path, 200))
    assert not any(tmp_path.iterdir())


def test_response_format_becomes_output_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    request = request_from_chat(
        [{"role": "user", "content": "x"}],
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
    )
    assert request.output_schema == schema
    assert request_from_chat(
        [{"role": "user", "content": "x"}], response_format={"type": "json_object"}
    ).output_schema == {"type": "object"}
    assert request_from_chat([{"role": "user", "content": "x"}]).output_schema is None


def envelope(kind: str, item: str | None = None, **data: Any) -> dict[str, Any]:
    return {"type": kind, "turn_id": "t1", "item_id": item, "data": data}


def test_turn_events_become_a_responses_stream() -> None:
    tr = AgentTurnTranslator("codex-agent")
    events: list[dict[str, Any]] = []
    for env in [
        envelope("turn.started"),
        envelope("reasoning.delta", "r1", delta="thinking", raw=False),
        envelope("reasoning.summary", "r1", summary=["thinking hard"], content=[]),
        envelope("assistant.started", "m1", phase=None),
        envelope("assistant.delta", "m1", delta="Hel"),
        envelope("assistant.delta", "m1", delta="lo"),
        envelope("command.started", "c1", command="ls"),
        envelope("assistant.message", "m1", text="Hello!", phase="final_answer"),
        envelope("token_usage", last={"input": 10, "cached_input": 4, "output": 3}),
        envelope("token_usage", last={"input": 20, "cached_input": 8, "output": 5}),
        envelope("turn.completed", status="completed", error=None),
    ]:
        events += tr.feed(env)
    types = [e["type"] for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["Hel", "lo", "!"]  # the final text's tail is streamed too
    final = events[-1]["response"]
    assert final["usage"]["input_tokens"] == 30 and final["usage"]["output_tokens"] == 8
    assert final["usage"]["input_tokens_details"]["cached_tokens"] == 12
    agg = ResponsesAggregator()
    for e in events:
        agg.feed(e)
    output = agg.output()
    assert [o["type"] for o in output] == ["reasoning", "message"]
    assert output[1]["content"][0]["text"] == "Hello!"
    assert tr.finished and tr.feed(envelope("assistant.delta", "m2", delta="late")) == []


def test_failed_and_interrupted_turns_fail_the_response() -> None:
    tr = AgentTurnTranslator("codex-agent")
    tr.feed(envelope("assistant.delta", "m1", delta="partial"))
    events = tr.feed(
        envelope(
            "turn.completed",
            status="failed",
            error={"message": "You've hit your usage limit.", "code": "usageLimitExceeded"},
        )
    )
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "usageLimitExceeded"
    assert any(e["type"] == "response.output_item.done" for e in events)  # open item closed

    stopped = AgentTurnTranslator("codex-agent")
    last = stopped.feed(envelope("turn.completed", status="interrupted", error=None))[-1]
    assert last["response"]["error"]["code"] == "turn_interrupted"
    timeout = AgentTurnTranslator("codex-agent").fail("too slow", "agent_turn_timeout")
    assert timeout[0]["type"] == "response.created" and timeout[-1]["type"] == "response.failed"
