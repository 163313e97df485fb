"""proxy/anthropic.py: Messages requests to Responses, Responses streams to Messages SSE.

Golden cases live in ``golden/anthropic_request`` and ``golden/anthropic_stream``;
regenerate with ``UPDATE_GOLDEN=1 pytest tests/proxy`` after a deliberate change.
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
    AnthropicStreamTranslator,
    UpstreamFailure,
    anthropic_error,
    count_tokens_estimate,
    messages_to_responses,
    normalize_responses_request,
    parse_model,
    stream_error_event_anthropic,
)


def run_stream(request: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    _, info = messages_to_responses(request)
    translator = AnthropicStreamTranslator(info, message_id="msg_01")
    out = [pair for event in events for pair in translator.feed(event)]
    out += translator.finish()
    error = translator.error
    return {
        "events": out,
        "message": translator.message(),
        "error": {"message": error.message, "code": error.code, "type": error.anthropic_type}
        if error
        else None,
    }


@pytest.mark.parametrize("path", golden_cases("anthropic_stream"), ids=lambda p: p.stem)
def test_stream_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    check_golden(path, case, run_stream(case["request"], case["events"]))


@pytest.mark.parametrize("path", golden_cases("anthropic_stream"), ids=lambda p: p.stem)
def test_stream_follows_the_messages_event_grammar(path: Path) -> None:
    """One message_start first; every delta targets the one open block; blocks close in order."""
    case = json.loads(path.read_text())
    result = run_stream(case["request"], case["events"])
    names = [name for name, _ in result["events"]]
    assert names.count("message_start") <= 1
    if "message_start" in names:
        assert names[0] == "message_start"
    open_index, next_index, partial = None, 0, {}
    for name, data in result["events"]:
        assert name == data["type"]
        if name == "content_block_start":
            assert open_index is None and data["index"] == next_index
            open_index, next_index = data["index"], next_index + 1
        elif name == "content_block_delta":
            assert data["index"] == open_index
            if data["delta"]["type"] == "input_json_delta":
                partial[open_index] = partial.get(open_index, "") + data["delta"]["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop", "error"):
            assert open_index is None or name == "error"
    content = result["message"]["content"]
    for index, text in partial.items():
        assert json.loads(text) == content[index]["input"]  # never input {} when args exist
    if result["error"] is None:
        assert names[-2:] == ["message_delta", "message_stop"]


@pytest.mark.parametrize("path", golden_cases("anthropic_request"), ids=lambda p: p.stem)
def test_request_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    body, info = messages_to_responses(case["request"])
    model, effort, _ = parse_model(info.model)
    normalized = normalize_responses_request(body, model=model, session_key="sess-1", effort=effort)
    check_golden(
        path, case, {"responses_body": body, "info": asdict(info), "normalized": normalized}
    )


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("nope", "JSON object"),
        (_body(model=""), "'model' is required"),
        (_body(messages="hi"), "'messages' must be a non-empty list"),
        (_body(messages=[{"role": "bot", "content": "x"}]), "messages[0].role must be"),
        (_body(messages=[3]), "messages[0].role must be"),
        (_body(messages=[{"role": "user", "content": 5}]), "content must be a string or a list"),
        (_body(messages=[{"role": "user", "content": ["x"]}]), "content[0] must be a content"),
        (
            _body(
                messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]
            ),
            "needs 'tool_use_id'",
        ),
        (
            _body(messages=[{"role": "assistant", "content": [{"type": "tool_use", "input": {}}]}]),
            "needs an 'id' and a 'name'",
        ),
        (
            _body(messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}]),
            "source must be base64 data or a url",
        ),
        (_body(tools={"name": "x"}), "'tools' must be a list"),
        (_body(tools=[{"description": "no name"}]), "tools[0].name is required"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_fix(body: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        messages_to_responses(body)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        (0, "none"),
        (512, "minimal"),
        (1024, "low"),
        (8192, "medium"),
        (24576, "high"),
        (32000, "xhigh"),
    ],
)
def test_thinking_budget_maps_to_effort(thinking: int, effort: str) -> None:
    body, info = messages_to_responses(
        _body(thinking={"type": "enabled", "budget_tokens": thinking})
    )
    assert info.effort == effort and info.thinking
    assert body["reasoning"] == {"summary": "auto", "effort": effort}


def test_disabled_thinking_leaves_the_model_default() -> None:
    body, info = messages_to_responses(_body(thinking={"type": "disabled"}))
    assert "reasoning" not in body and not info.thinking


def test_unknown_fields_and_blocks_are_dropped_not_rejected() -> None:
    body, _ = messages_to_responses(
        _body(
            top_p=0.5,
            context_management={"edits": []},
            mcp_servers=[],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi", "citations": None},
                        {"type": "container_upload", "file_id": "f"},
                    ],
                }
            ],
        )
    )
    assert body == {
        "model": "claude-sonnet-4-5",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ],
    }


@pytest.mark.parametrize(
    ("body", "tokens"),
    [
        ({"messages": [{"role": "user", "content": "x" * 40}]}, 10),
        ({"messages": [{"role": "user", "content": ""}]}, 1),
        ({}, 1),
        ({"system": "abcd", "messages": [{"role": "user", "content": "abcd"}]}, 2),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "data": "A" * 9999}}
                        ],
                    }
                ]
            },
            1600,
        ),
    ],
)
def test_count_tokens_estimate(body: dict[str, Any], tokens: int) -> None:
    assert count_tokens_estimate(body) == tokens


def test_count_tokens_counts_tools() -> None:
    tools = [{"name": "t", "input_schema": {"type": "object", "properties": {"a": {}}}}]
    plain = count_tokens_estimate({"messages": [{"role": "user", "content": "hi"}]})
    assert (
        count_tokens_estimate({"messages": [{"role": "user", "content": "hi"}], "tools": tools})
        > plain
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (529, "overloaded_error"),
        (422, "invalid_request_error"),
    ],
)
def test_anthropic_error_types(status: int, kind: str) -> None:
    assert anthropic_error(status, "m") == {
        "type": "error",
        "error": {"type": kind, "message": "m"},
    }


def test_overload_inside_a_stream_is_anthropic_529() -> None:
    failure = UpstreamFailure("busy", "server_is_overloaded")
    assert failure.anthropic_status == 529 and failure.status == 503
    assert failure.anthropic_body()["error"]["type"] == "overloaded_error"
    assert stream_error_event_anthropic("busy", "overloaded_error") == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    )
