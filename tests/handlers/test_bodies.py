"""The body shape check that runs before any JSON parser (handlers/bodies.py)."""

from __future__ import annotations

import json
import time

import pytest

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.handlers.bodies import MAX_JSON_DEPTH, json_shape_problem, loads_json


def test_depth_counts_brackets_outside_strings_only() -> None:
    ok = json.dumps({"a": "[[[[{{{{" * 100, "b": '\\"[[[', "c": [[{"d": []}]]}).encode()
    assert json_shape_problem(ok) is None
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert json_shape_problem(at_limit) is None
    assert loads_json(at_limit) is not None
    over = b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1)
    assert "129 levels deep" in (json_shape_problem(over) or "")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 4_000_000,
        (b"[" * 128 + b"]" * 128) * 1900,
        b'"' + b'a\\"' * 1_000_000 + b'"',
        b'{"x": "' + b"\\\\" * 1_000_000 + b'"}',
    ],
    ids=["4M-openers", "wide-and-deep", "escaped-quotes", "escaped-backslashes"],
)
def test_hostile_bodies_cost_little(body: bytes) -> None:
    started = time.perf_counter()
    try:
        loads_json(body)
    except InvalidRequestError as e:
        assert e.status_code == 400
    assert time.perf_counter() - started < 1.0


def test_errors_are_invalid_request() -> None:
    for body in (b"[" * 100_000, b"{", b"\xff\xfe", "[\ud800]"):
        with pytest.raises(InvalidRequestError):
            loads_json(body)
