"""proxy/openai_chat.py: chat-completions requests to Responses, Responses streams to chunks.

Golden cases live in ``golden/chat_request`` and ``golden/chat_stream`` (request
and upstream events in, expected output under ``expected``). After a deliberate
change, regenerate with ``UPDATE_GOLDEN=1 pytest tests/proxy`` and review the diff.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from golden_cases import check_golden, golden_cases

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.proxy import (
    ChatStreamTranslator,
    chat_to_responses,
    normalize_responses_request,
    openai_error,
    parse_model,
    stream_error_chunk_openai,
)


def run_stream(request: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    _, info = chat_to_responses(request)
    translator = ChatStreamTranslator(info, completion_id="chatcmpl-1", created=1700000000)
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    chunks += translator.finish()
    error = translator.error
    return {
        "chunks": chunks,
        "completion": translator.completion(),
        "error": {"message": error.message, "code": error.code, "status": error.status}
        if error
        else None,
    }


@pytest.mark.parametrize("path", golden_cases("chat_stream"), ids=lambda p: p.stem)
def test_stream_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    check_golden(path, case, run_stream(case["request"], case["events"]))


@pytest.mark.parametrize("path", golden_cases("chat_stream"), ids=lambda p: p.stem)
def test_stream_chunks_add_up_to_the_completion(path: Path) -> None:
    """Invariants of every stream: role once and first, arguments never duplicated."""
    case = json.loads(path.read_text())
    result = run_stream(case["request"], case["events"])
    deltas = [c["choices"][0]["delta"] for c in result["chunks"] if c.get("choices")]
    assert [("role" in d) for d in deltas].count(True) <= 1
    assert not deltas or "role" in deltas[0]
    args: dict[int, str] = {}
    for delta in deltas:
        for call in delta.get("tool_calls", []):
            args[call["index"]] = args.get(call["index"], "") + call["function"]["arguments"]
    message = result["completion"]["choices"][0]["message"]
    calls = message.get("tool_calls", [])
    assert [args[i] for i in sorted(args)] == [c["function"]["arguments"] for c in calls]
    for text in args.values():
        json.loads(text)  # complete, parseable JSON: never doubled, never empty
    content = "".join(d.get("content") or "" for d in deltas)
    assert content == (message["content"] or "")


@pytest.mark.parametrize("path", golden_cases("chat_request"), ids=lambda p: p.stem)
def test_request_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    body, info = chat_to_responses(case["request"])
    model, effort, _ = parse_model(info.model)
    normalized = normalize_responses_request(body, model=model, session_key="sess-1", effort=effort)
    check_golden(
        path, case, {"responses_body": body, "info": asdict(info), "normalized": normalized}
    )


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-5.2", "messages": [{"role": "user", "content": "hi"}]}
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "JSON object"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "'model' is required"),
        (_body(messages={"role": "user"}), "'messages' must be a non-empty list"),
        (_body(messages=[]), "'messages' must be a non-empty list"),
        (_body(messages=["hi"]), "messages[0] must be an object"),
        (_body(messages=[{"role": "robot", "content": "x"}]), "messages[0].role 'robot'"),
        (_body(messages=[{"role": "tool", "content": "x"}]), "needs 'tool_call_id'"),
        (
            _body(messages=[{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]),
            "tool_calls[0] needs an 'id'",
        ),
        (_body(messages=[{"role": "user", "content": 3}]), "content must be a string or a list"),
        (
            _body(messages=[{"role": "user", "content": [{"type": "input_audio"}]}]),
            "audio input is not supported",
        ),
        (_body(messages=[{"role": "user", "content": [{"type": "video"}]}]), "'video'"),
        (_body(messages=[{"role": "user", "content": [{"type": "image_url"}]}]), "image_url.url"),
        (_body(n=9), "'n' must be an integer from 1 to 8"),
        (_body(messages=[{"role": "function", "name": "f", "content": "x"}]), "role function"),
        (_body(function_call="always"), "'function_call' must be 'auto'"),
        (_body(tools={"type": "function"}), "'tools' must be a list"),
        (_body(tools=[{"type": "function", "function": {}}]), "tools[0].function.name"),
        (_body(response_format={"type": "yaml"}), "response_format.type"),
        (_body(response_format={"type": "json_schema"}), "needs a 'name' and a 'schema'"),
        (
            _body(
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "has space", "schema": {}},
                }
            ),
            "1-64 letters",
        ),
    ],
)
def test_malformed_bodies_are_rejected_with_a_fix(body: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        chat_to_responses(body)
    assert fragment in info.value.message


def test_responses_shaped_body_is_accepted() -> None:
    body, info = chat_to_responses(
        {"model": "gpt-5.2", "input": "hi", "stream": True, "reasoning": {"effort": "low"}}
    )
    assert body == {"model": "gpt-5.2", "input": "hi", "reasoning": {"effort": "low"}}
    assert info.stream and info.effort == "low" and not info.include_usage


@pytest.mark.parametrize(
    ("extra", "effort"),
    [
        ({"reasoning_effort": "high"}, "high"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "medium"),
        ({"enable_thinking": True}, "medium"),
        ({}, None),
    ],
)
def test_effort_sources(extra: dict[str, Any], effort: str | None) -> None:
    body, info = chat_to_responses(_body(**extra))
    assert info.effort == effort
    assert body.get("reasoning", {}).get("effort") == effort


def test_include_usage_needs_stream() -> None:
    _, info = chat_to_responses(_body(stream_options={"include_usage": True}))
    assert not info.include_usage


def test_finish_is_idempotent_and_feed_after_terminal_is_ignored() -> None:
    _, info = chat_to_responses(_body())
    translator = ChatStreamTranslator(info, completion_id="c", created=0)
    translator.feed({"type": "response.completed", "response": {"id": "r"}})
    assert translator.feed({"type": "response.output_text.delta", "delta": "late"}) == []
    assert len(translator.finish()) == 1
    assert translator.finish() == []


def test_error_bodies() -> None:
    assert openai_error(404, "no such model", code="model_not_found") == {
        "error": {
            "message": "no such model",
            "type": "not_found_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    assert openai_error(500, "boom")["error"]["type"] == "server_error"
    assert openai_error(400, "bad", type="custom", param="messages")["error"]["param"] == "messages"
    chunk = stream_error_chunk_openai("slow down", "rate_limit_exceeded")
    assert chunk["error"]["type"] == "rate_limit_error"
    assert chunk["error"]["code"] == "rate_limit_exceeded"
