"""proxy/responses.py: codex-backend normalization, the aggregator and the stream relay.

Golden cases live in ``golden/responses`` (``kind``: normalize, aggregate or
relay); regenerate with ``UPDATE_GOLDEN=1 pytest tests/proxy``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.proxy import (
    ResponsesAggregator,
    ResponsesStreamRelay,
    failure_from_event,
    normalize_responses_request,
    tool_name_map,
    usage_of,
)
from jupyter_codex.proxy.responses import DEFAULT_INSTRUCTIONS, shorten_names

GOLDEN = Path(__file__).parent / "golden" / "responses"


def _run(case: dict[str, Any]) -> Any:
    if case["kind"] == "normalize":
        body = case["request"]
        return {
            "normalized": normalize_responses_request(
                body, model=case["model"], session_key=case["session_key"]
            ),
            "tool_name_map": tool_name_map(body),
        }
    names = tool_name_map(case["request"])
    if case["kind"] == "aggregate":
        aggregator = ResponsesAggregator(names)
        for event in case["events"]:
            aggregator.feed(event)
        return {"response": aggregator.result(), "error": str(aggregator.error or "") or None}
    relay = ResponsesStreamRelay(names)
    events = [out for event in case["events"] for out in relay.feed(event)] + relay.finish()
    return {"events": events, "error": relay.error.code if relay.error else None}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    actual = json.loads(json.dumps(_run(case)))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        case["expected"] = actual
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
    assert actual == case["expected"]


def test_relay_numbers_events_monotonically() -> None:
    case = json.loads((GOLDEN / "relay_stream.json").read_text())
    relay = ResponsesStreamRelay(tool_name_map(case["request"]))
    events = [out for event in case["events"] for out in relay.feed(event)]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created"
    assert relay.finish() == []


def test_relay_passes_a_first_event_error_through_without_a_synthetic_created() -> None:
    relay = ResponsesStreamRelay()
    failed = {"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded"}}}
    out = relay.feed(failed)
    assert [e["type"] for e in out] == ["response.failed"]
    assert relay.error is not None and relay.error.status == 429


def test_relay_does_not_mutate_the_upstream_event() -> None:
    event = {"type": "response.output_item.done", "item": {"type": "function_call", "name": "s"}}
    ResponsesStreamRelay({"s": "long"}).feed(event)
    assert event == {
        "type": "response.output_item.done",
        "item": {"type": "function_call", "name": "s"},
    }


def test_aggregator_without_terminal_reports_truncation() -> None:
    aggregator = ResponsesAggregator()
    aggregator.feed({"type": "response.created", "response": {"id": "r"}})
    result = aggregator.result()
    assert result["status"] == "incomplete" and result["id"] == "r"
    assert aggregator.error is not None and aggregator.error.code == "upstream_stream_truncated"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("x", "JSON object"),
        ({"input": "hi"}, "'model' is required"),
        ({"model": "m"}, "'input' is required"),
        ({"model": "m", "input": 5}, "'input' is required"),
        ({"model": "m", "input": ["hi"]}, "Each 'input' item"),
        ({"model": "m", "input": "hi", "tools": {"type": "function"}}, "'tools' must be a list"),
        ({"model": "m", "input": "hi", "tools": ["shell"]}, "Each entry of 'tools'"),
    ],
)
def test_malformed_requests(body: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        normalize_responses_request(body, model="", session_key=None)
    assert fragment in info.value.message


def test_model_suffix_and_effort_argument() -> None:
    body = {"model": "x", "input": "hi", "reasoning": {"effort": "low", "summary": "auto"}}
    out = normalize_responses_request(body, model="gpt-5.2:xhigh", session_key=None)
    assert out["model"] == "gpt-5.2"
    assert out["reasoning"] == {"effort": "xhigh", "summary": "auto"}
    out = normalize_responses_request(body, model="gpt-5.2", session_key=None, effort="minimal")
    assert out["reasoning"]["effort"] == "minimal"
    out = normalize_responses_request(body, model="gpt-5.2", session_key=None)
    assert out["reasoning"]["effort"] == "low" and out["include"] == ["reasoning.encrypted_content"]


def test_explicit_instructions_and_parallel_false_are_kept() -> None:
    body = {"input": "hi", "instructions": "Be kind.", "parallel_tool_calls": False}
    out = normalize_responses_request(body, model="m", session_key="k")
    assert out["instructions"] == "Be kind." and out["parallel_tool_calls"] is False
    assert (
        normalize_responses_request({"input": "hi"}, model="m", session_key=None)["instructions"]
        == DEFAULT_INSTRUCTIONS
    )


def test_shortened_names_are_unique_deterministic_and_short() -> None:
    a = "mcp__server_one__" + "t" * 60
    b = "mcp__server_two__" + "t" * 60
    c = "x" * 100
    names = [a, b, c, "short", "mcp__" + "t" * 60]
    first, second = shorten_names(names), shorten_names(list(names))
    assert first == second
    assert all(len(v) <= 64 for v in first.values())
    assert len(set(first.values())) == len(names)
    assert first["short"] == "short"
    assert first[a] != first[b]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "response.output_text.delta"}, None),
        (
            {"type": "response.failed", "response": {"error": {"code": "x", "message": "m"}}},
            ("m", "x", 502),
        ),
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow"},
            ("slow", "rate_limit_exceeded", 429),
        ),
        (
            {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
            ("bad", "invalid_request_error", 400),
        ),
        (
            {"type": "response.failed", "response": {}},
            ("The upstream model request failed.", None, 502),
        ),
        ({"type": "error"}, ("The upstream model request failed.", None, 502)),
    ],
)
def test_failure_from_event(event: dict[str, Any], expected: tuple[str, Any, int] | None) -> None:
    failure = failure_from_event(event)
    if expected is None:
        assert failure is None
    else:
        assert failure is not None
        assert (failure.message, failure.code, failure.status) == expected


def test_usage_of_tolerates_nulls_and_fills_total() -> None:
    usage = usage_of(
        {"usage": {"input_tokens": 5, "output_tokens": 2, "input_tokens_details": None}}
    )
    assert usage is not None and usage.total_tokens == 7 and usage.cached_tokens == 0
    assert usage_of({"id": "r"}) is None


# -- Responses fields the backend cannot take: each stripped, translated or refused -------


def _normalized(**fields: Any) -> dict[str, Any]:
    body = {"model": "gpt-5.2-codex", "input": "hi", **fields}
    return normalize_responses_request(body, model="gpt-5.2-codex", session_key="k")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("conversation", "conv_123", "send the whole conversation"),
        ("conversation", {"id": "conv_123"}, "previous_response_id"),
        ("prompt", {"id": "pmpt_1", "version": "2"}, "stored prompt templates"),
    ],
)
def test_server_side_state_fields_are_refused(field: str, value: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment) as info:
        _normalized(**{field: value})
    assert f"'{field}' is not supported" in info.value.message


def test_item_reference_inputs_are_refused_with_what_to_send() -> None:
    with pytest.raises(InvalidRequestError, match="Send the referenced item itself"):
        _normalized(input=[{"type": "item_reference", "id": "msg_1"}])


def test_logprobs_and_tool_call_budget_are_stripped() -> None:
    out = _normalized(top_logprobs=5, max_tool_calls=3)
    assert "top_logprobs" not in out and "max_tool_calls" not in out


def test_stream_options_keep_only_what_the_backend_takes() -> None:
    out = _normalized(stream_options={"include_usage": True, "include_obfuscation": False})
    assert out["stream_options"] == {"include_obfuscation": False}
    assert "stream_options" not in _normalized(stream_options={"include_usage": True})
