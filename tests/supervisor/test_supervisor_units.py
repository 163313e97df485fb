"""Pure pieces of the supervisor: framing, redaction, TOML rendering, backoff."""

from __future__ import annotations

from typing import Any

import pytest
from traitlets import TraitError

from jupyter_codex.supervisor import AppServerManager, AppServerRestarter, redact, toml_value
from jupyter_codex.supervisor.connection import LineSplitter, OversizedLine, _peek_response_id
from jupyter_codex.supervisor.manager import config_override_args


def split(chunks: list[bytes], limit: int = 10) -> list[bytes | OversizedLine]:
    splitter = LineSplitter(limit)
    out: list[bytes | OversizedLine] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out + splitter.flush()


def test_line_splitter_joins_chunks_and_skips_long_lines() -> None:
    assert split([b'{"a"', b":1}\n{}", b"\n"]) == [b'{"a":1}', b"{}"]
    assert split([b"0123456789\n"]) == [b"0123456789"]  # exactly the limit
    long = split([b"0123456", b"789ABC", b"DEF\nok\n"])
    assert long == [OversizedLine(16, b"0123456789ABC"), b"ok"]
    assert split([b"x" * 25 + b"\nok\n"]) == [OversizedLine(25, b"x" * 25), b"ok"]
    assert split([b"tail-no-nl"]) == [b"tail-no-nl"]
    assert split([b"way-too-long-tail"]) == [OversizedLine(17, b"way-too-long-tail")]
    assert split([]) == []
    # The head kept for diagnostics is bounded, whichever chunk crossed the limit.
    splitter = LineSplitter(1000)
    assert splitter.feed(b"a" * 900) == []
    assert splitter.feed(b"b" * 900 + b"\n") == [OversizedLine(1800, b"a" * 256)]
    assert splitter.feed(b"c" * 100) == []
    assert splitter.feed(b"d" * 1000 + b"\n") == [OversizedLine(1100, b"c" * 100 + b"d" * 156)]


def test_peek_response_id() -> None:
    assert _peek_response_id(b'{"id":42,"result":{"pad":"xx') == 42
    assert _peek_response_id(b'{"id": "abc", "error": {') == "abc"
    assert _peek_response_id(b'{"method":"x","params":{') is None
    assert _peek_response_id(b'{"id":3,"method":"item/tool/call"') is None


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc123def456", "abc123def456"),
        ('{"access_token": "tok-1234567890"}', "tok-1234567890"),
        ("refresh_token=rt_abcdefgh123", "rt_abcdefgh123"),
        ("api key sk-proj-abcdefghijkl0123", "abcdefghijkl0123"),
        ("jwt eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl here", "eyJzdWIiOiIx"),
        ('"accessToken":"opaque-value"', "opaque-value"),
    ],
)
def test_redact_masks_secrets(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "REDACTED" in redact(text)


def test_redact_keeps_ordinary_text() -> None:
    text = "ERROR codex_app_server: could not find bubblewrap; max_tokens=5 input_tokens: 7"
    assert redact(text) == text


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'quo"te \\ back\nslash\ttab \x01 \x7f é 🎉',
        True,
        False,
        0,
        -12,
        1.5,
        1e300,
        ["a", 1, True, [2.5]],
        {"name": "Fake", "base_url": "http://x/v1", "supports_websockets": False},
        {"nested": {"deep": [1, 2]}, "with space": "v", "dotted.key": 1},
        [],
        {},
    ],
)
def test_toml_value_round_trips(value: Any) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    assert tomllib.loads(f"k = {toml_value(value)}")["k"] == value


def test_toml_value_special_forms() -> None:
    assert toml_value(True) == "true"
    assert toml_value("o3") == '"o3"'
    assert toml_value({"a": 1, "b c": "d"}) == '{a = 1, "b c" = "d"}'
    assert toml_value(float("inf")) == "inf"
    with pytest.raises(ValueError, match="TOML"):
        toml_value(None)
    assert config_override_args({"model": "o3", "features.x": True}) == [
        "-c",
        'model="o3"',
        "-c",
        "features.x=true",
    ]


def test_config_overrides_are_validated() -> None:
    manager = AppServerManager(name="t", codex_home="/nonexistent")
    with pytest.raises(TraitError):
        manager.config_overrides = {"model": None}
    with pytest.raises(TraitError):
        manager.config_overrides = {"a=b": 1}
    manager.config_overrides = {"model": "o3"}
    assert manager.build_argv()[2:4] == ["-c", 'model="o3"']


def test_backoff_doubles_up_to_the_cap() -> None:
    manager = AppServerManager(name="t", codex_home="/nonexistent")
    restarter = manager.restarter
    assert isinstance(restarter, AppServerRestarter)
    assert [restarter.backoff(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
