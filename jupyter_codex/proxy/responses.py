"""Responses API requests and streams as the codex backend wants them.

Every proxy dialect ends here: the chat and Messages translators produce a
Responses body, ``/v1/responses`` clients send one, and
:func:`normalize_responses_request` turns any of them into what
``{chatgpt_base_url}/codex/responses`` accepts (routers.md §7.1, §7.8). The
stream side aggregates upstream events for non-stream clients and relays them
to stream clients with the names the client used.

Why this module is long: request normalization and both stream directions of one
API, kept together so their field tables stay side by side.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError
from .errors import TRUNCATED, UpstreamFailure, failure_from_event
from .models_catalog import parse_model

#: Sent when a request has no instructions: the backend rejects a missing or empty field.
DEFAULT_INSTRUCTIONS = "You are a helpful assistant."

MAX_NAME = 64

#: Fields the codex backend rejects or that cannot work with ``store: false``.
_STRIPPED = (
    "max_output_tokens",
    "max_completion_tokens",
    "max_tokens",
    "temperature",
    "top_p",
    "user",
    "metadata",
    "truncation",
    "prompt_cache_retention",
    "prompt_cache_breakpoint",
    "context_management",
    "background",
    # The backend streams no logprobs and has no tool-call budget: deliberately dropped
    # (the answer is the same, only without logprobs / without an enforced cap).
    "top_logprobs",
    "max_tool_calls",
)
#: Fields that name server-side state this proxy (store=false) does not keep: refused
#: with what to send instead, never forwarded (the backend would reject them).
_REFUSED = {
    "conversation": "server-side conversations are not kept here; send the whole "
    "conversation in 'input', or continue a response with 'previous_response_id'",
    "prompt": "stored prompt templates are not available through this proxy; send the "
    "prompt as 'instructions' and 'input'",
}
#: Tool keys some clients add that the backend refuses (CLIProxyAPI #1871).
_TOOL_STRIPPED = ("defer_loading", "cache_control")
_CALL_ITEMS = (
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
)
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else ``{}``: upstream and client JSON is not trusted."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else ``[]``."""
    return value if isinstance(value, list) else []


def message_item(role: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A Responses input message item."""
    return {"type": "message", "role": role, "content": content}


def _hashed(value: str) -> str:
    """A deterministic <= 64 char stand-in: a prefix plus 8 hex of sha256."""
    return value[: MAX_NAME - 9] + "_" + hashlib.sha256(value.encode()).hexdigest()[:8]


def shorten_names(names: list[str]) -> dict[str, str]:
    """original -> name of at most 64 chars, unique within ``names``.

    ``mcp__server__tool`` keeps ``mcp__`` + its last segment (readable for the
    model); anything else too long becomes a prefix + hash. Collisions get ``_N``.
    """
    used = {n for n in names if len(n) <= MAX_NAME}
    result: dict[str, str] = {}
    for name in names:
        if name in result:
            continue
        if len(name) <= MAX_NAME:
            result[name] = name
            continue
        candidate = name
        if name.startswith("mcp__") and "__" in name[5:]:
            candidate = "mcp__" + name.rsplit("__", 1)[1]
        if len(candidate) > MAX_NAME:
            candidate = _hashed(candidate)
        base, n = candidate, 1
        while candidate in used:
            suffix = f"_{n}"
            candidate, n = base[: MAX_NAME - len(suffix)] + suffix, n + 1
        used.add(candidate)
        result[name] = candidate
    return result


def _tool_name(tool: Any) -> str | None:
    if not isinstance(tool, dict):
        return None
    name = tool.get("name")
    if name is None and isinstance(tool.get("function"), dict):
        name = tool["function"].get("name")
    return name if isinstance(name, str) else None


def _all_names(body: dict[str, Any]) -> list[str]:
    items = as_list(body.get("input"))
    names = [_tool_name(t) for t in as_list(body.get("tools"))]
    names += [i.get("name") for i in items if isinstance(i, dict) and i.get("type") in _CALL_ITEMS]
    return [n for n in names if isinstance(n, str)]


def tool_name_map(body: dict[str, Any]) -> dict[str, str]:
    """shortened -> original for every tool name of ``body`` that had to be shortened."""
    return {short: orig for orig, short in shorten_names(_all_names(body)).items() if short != orig}


def restore_item_names(item: Any, name_map: dict[str, str]) -> Any:
    """Put the client's long tool name back on an output item (in place, returns it)."""
    if name_map and isinstance(item, dict) and item.get("name") in name_map:
        item["name"] = name_map[item["name"]]
    return item


def _text_content(role: str, text: str) -> list[dict[str, Any]]:
    return [{"type": "output_text" if role == "assistant" else "input_text", "text": text}]


def _normalize_item(raw: Any, names: dict[str, str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRequestError("Each 'input' item must be an object with a 'type'.")
    item = dict(raw)
    if "type" not in item and "role" in item:
        item["type"] = "message"
    # With store=false the backend cannot resolve item ids; codex itself never sends them.
    item.pop("id", None)
    kind = item.get("type")
    if kind == "item_reference":
        raise InvalidRequestError(
            "Input items of type 'item_reference' are not supported: this proxy stores no "
            "items (store=false). Send the referenced item itself, or continue a response "
            "with 'previous_response_id'."
        )
    if kind == "message":
        role = item.get("role")
        if role == "system":
            item["role"] = role = "developer"
        if isinstance(item.get("content"), str):
            item["content"] = _text_content(str(role), item["content"])
    elif kind in _CALL_ITEMS:
        if isinstance(item.get("name"), str):
            item["name"] = names.get(item["name"], item["name"])
        call_id = item.get("call_id")
        if isinstance(call_id, str) and len(call_id) > MAX_NAME:
            item["call_id"] = _hashed(call_id)
        if kind == "function_call" and not isinstance(item.get("arguments"), str):
            item["arguments"] = json.dumps(item.get("arguments") or {})
    return item


def _normalize_tool(raw: Any, names: dict[str, str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRequestError("Each entry of 'tools' must be an object with a 'type'.")
    tool = {k: v for k, v in raw.items() if k not in _TOOL_STRIPPED}
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        tool = {"type": "function", **tool.pop("function")}  # chat-completions shape
    if tool.get("type") == "web_search_preview":
        tool["type"] = "web_search"
    if tool.get("type") == "function" and isinstance(tool.get("name"), str):
        tool["name"] = names.get(tool["name"], tool["name"])
    return tool


def normalize_responses_request(
    body: dict[str, Any],
    *,
    model: str,
    session_key: str | None,
    effort: str | None = None,
) -> dict[str, Any]:
    """A Responses request -> the body the codex backend accepts (routers.md §7.1, §7.8).

    ``model`` is the upstream model; a ``:effort`` suffix left on it is honoured.
    ``effort`` (from a model-name suffix) wins over the body's ``reasoning.effort``.
    """
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    if model and ":" in model:
        model, suffix_effort, _ = parse_model(model)
        effort = effort or suffix_effort
    for field_name, why in _REFUSED.items():
        if body.get(field_name) is not None:
            raise InvalidRequestError(f"'{field_name}' is not supported: {why}.")
    out = {k: v for k, v in body.items() if k not in _STRIPPED}
    out["model"] = model or body.get("model")
    if not isinstance(out["model"], str) or not out["model"]:
        raise InvalidRequestError("'model' is required.")
    names = shorten_names(_all_names(body))

    raw = body.get("input")
    if isinstance(raw, str):
        raw = [message_item("user", _text_content("user", raw))]
    if not isinstance(raw, list):
        raise InvalidRequestError("'input' is required: a string or a list of input items.")
    out["input"] = [_normalize_item(item, names) for item in raw]

    if "tools" in body and body["tools"] is not None:
        if not isinstance(body["tools"], list):
            raise InvalidRequestError("'tools' must be a list of tool objects.")
        out["tools"] = [_normalize_tool(t, names) for t in body["tools"]]
    choice = out.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = str(choice.get("name") or as_dict(choice.get("function")).get("name"))
        out["tool_choice"] = {"type": "function", "name": names.get(name, name)}

    instructions = body.get("instructions")
    if not isinstance(instructions, str) or not instructions.strip():
        out["instructions"] = DEFAULT_INSTRUCTIONS
    out["stream"] = True
    out["store"] = False
    out.setdefault("parallel_tool_calls", True)
    tier = out.pop("service_tier", None)
    if tier in ("priority", "fast"):
        out["service_tier"] = "priority"
    options = out.pop("stream_options", None)
    if isinstance(options, dict) and "include_obfuscation" in options:
        out["stream_options"] = {"include_obfuscation": options["include_obfuscation"]}

    reasoning = body.get("reasoning")
    if effort:
        reasoning = {**(reasoning if isinstance(reasoning, dict) else {}), "effort": effort}
    if isinstance(reasoning, dict):
        out["reasoning"] = reasoning
        include = as_list(out.get("include"))
        if "reasoning.encrypted_content" not in include:
            include = [*include, "reasoning.encrypted_content"]
        out["include"] = include
    if session_key:
        out["prompt_cache_key"] = session_key
    return out


@dataclass(frozen=True)
class Usage:
    """Upstream token counts; ``input_tokens`` includes cached and cache-write tokens."""

    input_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(response: Any) -> Usage | None:
    """The usage of a Responses ``response`` object, or None when it carries none."""
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return None
    inp = usage.get("input_tokens_details") or {}
    out = usage.get("output_tokens_details") or {}
    i, o = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    return Usage(
        input_tokens=i,
        cached_tokens=_int(inp.get("cached_tokens")) if isinstance(inp, dict) else 0,
        cache_write_tokens=_int(inp.get("cache_write_tokens")) if isinstance(inp, dict) else 0,
        output_tokens=o,
        reasoning_tokens=_int(out.get("reasoning_tokens")) if isinstance(out, dict) else 0,
        total_tokens=_int(usage.get("total_tokens")) or i + o,
    )


def output_index(event: dict[str, Any], fallback: int) -> int:
    """The event's ``output_index``; ``fallback`` for upstreams that omit it."""
    index = event.get("output_index")
    return index if isinstance(index, int) else fallback


class ResponsesAggregator:
    """Builds the final Response object from upstream events (for non-stream clients).

    The codex backend's ``response.completed`` may carry no ``output``: items
    come from ``output_item.done``, or from deltas when even those are missing.
    """

    def __init__(self, name_map: dict[str, str] | None = None) -> None:
        self._names = name_map or {}
        self._response: dict[str, Any] = {}
        self._items: dict[int, dict[str, Any]] = {}
        self._done: set[int] = set()
        self._text: dict[int, str] = {}
        self._args: dict[int, str] = {}
        self._terminal: dict[str, Any] | None = None
        self.error: UpstreamFailure | None = None
        self.has_events = False

    def feed(self, event: dict[str, Any]) -> None:
        self.has_events = True
        kind = event.get("type")
        last = max(self._items, default=-1)
        if kind in ("response.created", "response.in_progress"):
            if isinstance(event.get("response"), dict):
                self._response = copy.deepcopy(event["response"])
        elif kind in ("response.output_item.added", "response.output_item.done"):
            item = event.get("item")
            ids = {i.get("id"): n for n, i in self._items.items() if i.get("id")}
            index = output_index(
                event, ids.get(item.get("id"), last + 1) if isinstance(item, dict) else last + 1
            )
            if isinstance(item, dict):
                self._items[index] = copy.deepcopy(event["item"])
                if kind.endswith("done"):
                    self._done.add(index)
        elif kind == "response.output_text.delta":
            index = output_index(event, last)
            self._text[index] = self._text.get(index, "") + str(event.get("delta") or "")
        elif kind == "response.function_call_arguments.delta":
            index = output_index(event, last)
            self._args[index] = self._args.get(index, "") + str(event.get("delta") or "")
        if kind in TERMINAL and isinstance(event.get("response"), dict):
            self._terminal = copy.deepcopy(event["response"])
        failure = failure_from_event(event)
        if failure:
            self.error = failure

    def output(self) -> list[dict[str, Any]]:
        """Output items in order, completed from deltas where no ``.done`` came."""
        items = []
        for index in sorted(self._items):
            item = self._items[index]
            if index not in self._done:
                if item.get("type") == "message" and not item.get("content"):
                    text = self._text.get(index, "")
                    item["content"] = [{"type": "output_text", "text": text, "annotations": []}]
                elif item.get("type") == "function_call" and not item.get("arguments"):
                    item["arguments"] = self._args.get(index, "")
            items.append(restore_item_names(item, self._names))
        return items

    def result(self) -> dict[str, Any]:
        response = {**self._response, **(self._terminal or {})}
        response.setdefault("object", "response")
        if self._terminal is None:
            self.error = self.error or TRUNCATED
            response["status"] = "failed" if self.error is not TRUNCATED else "incomplete"
        output = response.get("output")
        if isinstance(output, list) and output:
            response["output"] = [restore_item_names(i, self._names) for i in output]
        else:
            response["output"] = self.output()
        return response


class ResponsesStreamRelay:
    """Re-emits upstream events to a ``/v1/responses`` stream client.

    Keeps only documented event types (``response.*`` and ``error``), starts
    with ``response.created``, numbers events with ``sequence_number``, restores
    shortened tool names and backfills the terminal event's ``output``.
    """

    def __init__(self, name_map: dict[str, str] | None = None) -> None:
        self._names = name_map or {}
        self._seq = 0
        self._started = False
        self._agg = ResponsesAggregator(name_map)
        self.terminal = False

    @property
    def aggregator(self) -> ResponsesAggregator:
        """Everything relayed so far, as one Response."""
        return self._agg

    @property
    def error(self) -> UpstreamFailure | None:
        return self._agg.error

    def _emit(self, event: dict[str, Any]) -> dict[str, Any]:
        event["sequence_number"] = self._seq
        self._seq += 1
        return event

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if not isinstance(kind, str) or not (kind.startswith("response.") or kind == "error"):
            return []
        self._agg.feed(event)
        event = copy.deepcopy(event)
        out = []
        if not self._started and kind not in ("response.created", "response.failed", "error"):
            created = {"object": "response", "status": "in_progress", "output": []}
            out.append(self._emit({"type": "response.created", "response": created}))
        self._started = True
        restore_item_names(event.get("item"), self._names)
        if kind in ("response.function_call_arguments.done",):
            restore_item_names(event, self._names)
        if kind in TERMINAL and isinstance(event.get("response"), dict):
            self.terminal = True
            response = event["response"]
            if response.get("output"):
                response["output"] = [
                    restore_item_names(i, self._names) for i in response["output"]
                ]
            else:
                response["output"] = self._agg.output()
        elif kind == "error":
            self.terminal = True
        out.append(self._emit(event))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """An ``error`` event when the upstream stream ended without a terminal event."""
        if self.terminal:
            return []
        self._agg.error = TRUNCATED
        self.terminal = True
        error = {
            "type": "error",
            "code": TRUNCATED.code,
            "message": TRUNCATED.message,
            "param": None,
        }
        return [self._emit(error)]
