"""TOML values for codex's ``-c key=value`` command-line overrides.

Codex parses each override's value as TOML (and silently takes an unparsable
one as a raw string), so every value is rendered exactly. This is its own
module rather than ``tomli-w``: that library writes whole documents and has no
public encoder for one value, and inline tables here keep the compact
``{a = 1}`` form the tests and logs pin.
"""

from __future__ import annotations

import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def toml_value(value: Any) -> str:
    """Render a Python value as a TOML value for codex's ``-c key=value``.

    Strings are quoted (codex would otherwise take an unparsable value as a raw
    string, silently), booleans are lowercase, lists are arrays and dicts inline
    tables. ``None`` has no TOML form and raises ``ValueError``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"cannot express {type(value).__name__} {value!r} in TOML")


def config_override_args(overrides: dict[str, Any]) -> list[str]:
    """``{"a.b": 1}`` → ``["-c", "a.b=1"]``, in insertion order."""
    args: list[str] = []
    for key, value in overrides.items():
        args += ["-c", f"{key}={toml_value(value)}"]
    return args


__all__ = ["config_override_args", "toml_value"]
