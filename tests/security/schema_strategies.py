"""Hypothesis strategies for request bodies, driven by the pydantic models' JSON schemas.

Each generated body is mostly well-typed (so it gets past the first check and into the
service) with a share of wrong types, unknown fields, junk JSON and non-JSON bytes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
ANY_JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
#: Strings that tend to hit special cases: paths, slash commands, huge or odd text.
TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "..",
        "../..",
        "/etc",
        "/",
        "\x00",
        "proj",
        "proj/../..",
        "/status",
        "/model",
        "/model gpt-5.2-codex",
        "/review",
        "/new",
        "/unknown-command",
        "$",
        "$skill do it",
        "🙂" * 20,
        "a" * 5000,
        "'; DROP TABLE sessions; --",
        "sk-fuzz-0123456789abcdef0123",
        "%s%s%s{0}{x}",
    ]
)


def from_schema(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    """A strategy for values of one JSON-schema node (the subset pydantic emits)."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth + 1)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs, depth) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=10)
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        return st.text(max_size=schema.get("maxLength", 60) + 5) | TRICKY_TEXT
    if kind == "integer":
        return st.integers(min_value=-5, max_value=10**6) | st.just(2**70)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs, depth + 1) if depth < 4 else ANY_JSON
        return st.lists(items, max_size=min(schema.get("maxItems", 4), 4))
    if kind == "object":
        if "properties" in schema and depth < 4:
            return object_strategy(schema, defs, depth + 1)
        extra = schema.get("additionalProperties")
        values = from_schema(extra, defs, depth + 1) if isinstance(extra, dict) else ANY_JSON
        return st.dictionaries(st.text(max_size=10), values, max_size=4)
    return ANY_JSON


def object_strategy(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    """An object with the schema's properties: typed (mostly) or junk, some left out."""
    required = set(schema.get("required", []))
    fields = {
        name: from_schema(prop, defs, depth) | ANY_JSON
        for name, prop in schema.get("properties", {}).items()
    }
    base = st.fixed_dictionaries(
        {k: v for k, v in fields.items() if k in required},
        optional={k: v for k, v in fields.items() if k not in required},
    )
    unknown = st.dictionaries(st.text(min_size=1, max_size=10), ANY_JSON, max_size=2)
    return st.builds(lambda known, extra: {**extra, **known}, base, unknown)


def body_for(model: type[BaseModel]) -> Any:
    """Request bodies (bytes) for a model: typed objects, any JSON, or not JSON at all."""
    schema = model.model_json_schema()
    objects = object_strategy(schema, schema.get("$defs", {}))
    return st.one_of(
        objects.map(_dump),
        objects.map(_dump),
        objects.map(_dump),
        ANY_JSON.map(_dump),
        st.binary(max_size=64),
    )


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()
