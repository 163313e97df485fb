"""Anthropic Messages <-> Responses API (routers.md §7.4-§7.7).

:func:`messages_to_responses` turns a ``/v1/messages`` body into a Responses
body; :class:`~.anthropic_stream.AnthropicStreamTranslator` (re-exported
here) turns the upstream events back into Messages SSE or one Messages response.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import InvalidRequestError
from .anthropic_stream import AnthropicStreamTranslator, anthropic_usage
from .request_info import AnthropicRequestInfo
from .responses import as_dict, as_list, message_item, tool_name_map

#: Claude's thinking budget -> reasoning effort (CLIProxyAPI ``internal/thinking/convert.go``).
_BUDGETS = ((0, "none"), (512, "minimal"), (1024, "low"), (8192, "medium"), (24576, "high"))
_ADAPTIVE = {"low": "low", "medium": "medium", "high": "high", "max": "xhigh"}
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
#: Only the backend's own reasoning ciphertext can be replayed; Claude signatures cannot.
_OPENAI_SIGNATURE = "gAAAA"
_BILLING_HEADER = "x-anthropic-billing-header:"
#: count_tokens: characters per token, and a flat cost per image or document.
CHARS_PER_TOKEN = 4
ATTACHMENT_TOKENS = 1600

__all__ = [
    "AnthropicRequestInfo",
    "AnthropicStreamTranslator",
    "anthropic_usage",
    "count_tokens_estimate",
    "messages_to_responses",
]


def _blocks(content: Any, where: str) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where}.content must be a string or a list of content blocks.")
    return content


def _media(block: dict[str, Any], where: str) -> dict[str, Any]:
    """An image or document block -> input_image / input_file / input_text."""
    source = as_dict(block.get("source"))
    kind, data = source.get("type"), source.get("data")
    if block.get("type") == "document" and kind == "text":
        return {"type": "input_text", "text": str(data or "")}
    if kind == "url" and isinstance(source.get("url"), str):
        url = (
            {"image_url": source["url"]}
            if block["type"] == "image"
            else {"file_url": source["url"]}
        )
        return {"type": "input_image" if block["type"] == "image" else "input_file", **url}
    if kind == "file":
        raise InvalidRequestError(
            f"{where}.source is a Files API file ({source.get('file_id') or 'no file_id'}): "
            "this proxy cannot fetch files uploaded to Anthropic. Send the content inline "
            "(source type 'base64') or as a 'url'."
        )
    if kind != "base64" or not isinstance(data, str):
        raise InvalidRequestError(f"{where}.source must be base64 data or a url.")
    default = "image/png" if block["type"] == "image" else "application/pdf"
    uri = f"data:{source.get('media_type') or default};base64,{data}"
    if block["type"] == "image":
        return {"type": "input_image", "image_url": uri}
    return {
        "type": "input_file",
        "file_data": uri,
        "filename": block.get("title") or "document.pdf",
    }


def _tool_output(block: dict[str, Any], where: str) -> str | list[dict[str, Any]]:
    """tool_result content -> a string, or a list when it holds images. Errors are marked."""
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for k, part in enumerate(_blocks(block.get("content") or "", where)):
        if isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text") or ""))
        elif isinstance(part, dict) and part.get("type") == "image":
            images.append(_media(part, f"{where}.content[{k}]"))
    text = "\n\n".join(t for t in texts if t) or ("" if images else "(empty)")
    if block.get("is_error"):
        text = "Error: " + text  # the Responses API has no is_error flag
    if not images:
        return text
    return [{"type": "input_text", "text": text}, *images]


def _user(msg: dict[str, Any], where: str, calls: set[str]) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for k, block in enumerate(_blocks(msg.get("content"), where)):
        at = f"{where}.content[{k}]"
        if not isinstance(block, dict):
            raise InvalidRequestError(f"{at} must be a content block object with a 'type'.")
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": str(block.get("text") or "")})
        elif kind in ("image", "document"):
            parts.append(_media(block, at))
        elif kind == "tool_result":
            call_id = block.get("tool_use_id")
            if not isinstance(call_id, str) or not call_id:
                raise InvalidRequestError(f"{at} (tool_result) needs 'tool_use_id'.")
            if call_id in calls:  # an orphan output makes the upstream answer 400: drop it
                output = _tool_output(block, at)
                outputs.append(
                    {"type": "function_call_output", "call_id": call_id, "output": output}
                )
    return outputs + ([message_item("user", parts)] if parts else [])


def _assistant(msg: dict[str, Any], where: str, calls: set[str]) -> list[dict[str, Any]]:
    """Reasoning first, then text, then tool calls: the order the backend produced them."""
    reasoning, parts, tool_calls = [], [], []
    for k, block in enumerate(_blocks(msg.get("content"), where)):
        at = f"{where}.content[{k}]"
        if not isinstance(block, dict):
            raise InvalidRequestError(f"{at} must be a content block object with a 'type'.")
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            parts.append({"type": "output_text", "text": str(block["text"])})
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequestError(f"{at} (tool_use) needs an 'id' and a 'name'.")
            calls.add(block["id"])
            args = json.dumps(block.get("input") or {})
            tool_calls.append(
                {
                    "type": "function_call",
                    "call_id": block["id"],
                    "name": block["name"],
                    "arguments": args,
                }
            )
        elif kind == "thinking" and str(block.get("signature") or "").startswith(_OPENAI_SIGNATURE):
            reasoning.append(
                {"type": "reasoning", "summary": [], "encrypted_content": block["signature"]}
            )
    return reasoning + ([message_item("assistant", parts)] if parts else []) + tool_calls


def _tool(tool: Any, where: str) -> dict[str, Any] | None:
    if not isinstance(tool, dict):
        raise InvalidRequestError(f"{where} must be a tool object.")
    kind = tool.get("type")
    if isinstance(kind, str) and kind.startswith("web_search"):
        out: dict[str, Any] = {"type": "web_search"}
        if tool.get("allowed_domains"):
            out["filters"] = {"allowed_domains": tool["allowed_domains"]}
        if tool.get("user_location"):
            out["user_location"] = tool["user_location"]
        return out
    if kind not in (None, "custom"):
        return None  # Anthropic-defined tools (bash_..., text_editor_...) have no schema to send
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise InvalidRequestError(f"{where}.name is required.")
    schema = {k: v for k, v in as_dict(tool.get("input_schema")).items() if k != "$schema"}
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})
    out = {"type": "function", "name": tool["name"], "parameters": schema, "strict": False}
    if tool.get("description"):
        out["description"] = tool["description"]
    return out


def _reasoning(body: dict[str, Any]) -> tuple[str | None, bool]:
    """(effort, thinking requested). Disabled or absent thinking leaves the model's default."""
    thinking = as_dict(body.get("thinking"))
    if thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) else 8192
        return next((e for limit, e in _BUDGETS if budget <= limit), "xhigh"), True
    if thinking.get("type") == "adaptive":
        return _ADAPTIVE.get(str(as_dict(body.get("output_config")).get("effort"))), True
    return None, False


def _system(system: Any) -> str:
    if isinstance(system, str):
        return system
    blocks = [b for b in as_list(system) if isinstance(b, dict) and b.get("type") == "text"]
    texts = [str(b.get("text") or "") for b in blocks]
    return "\n\n".join(t for t in texts if t and not t.startswith(_BILLING_HEADER))


def messages_to_responses(body: dict[str, Any]) -> tuple[dict[str, Any], AnthropicRequestInfo]:
    """A Messages body -> (Responses body, info). ``max_tokens``, sampling and stop sequences
    are dropped: the codex backend refuses them for its reasoning models."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("'model' is required.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("'messages' must be a non-empty list of message objects.")
    items: list[dict[str, Any]] = []
    calls: set[str] = set()
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "user":
            items += _user(msg, where, calls)
        elif role == "assistant":
            items += _assistant(msg, where, calls)
        elif role == "system":  # newer Claude Code sends these: keep them as a user reminder
            text = _system(_blocks(msg.get("content"), where))
            items.append(message_item("user", [{"type": "input_text", "text": text}]))
        else:
            raise InvalidRequestError(f"{where}.role must be 'user' or 'assistant', not {role!r}.")
    effort, thinking = _reasoning(body)
    rbody: dict[str, Any] = {"model": model, "input": items}
    if instructions := _system(body.get("system")):
        rbody["instructions"] = instructions
    if body.get("tools") is not None:
        if not isinstance(body["tools"], list):
            raise InvalidRequestError("'tools' must be a list of tool objects.")
        tools = [_tool(t, f"tools[{k}]") for k, t in enumerate(body["tools"])]
        rbody["tools"] = [t for t in tools if t]
    choice = as_dict(body.get("tool_choice"))
    if choice.get("type") in _CHOICES:
        rbody["tool_choice"] = _CHOICES[choice["type"]]
    elif choice.get("type") == "tool":
        rbody["tool_choice"] = {"type": "function", "name": choice.get("name")}
    if choice.get("disable_parallel_tool_use"):
        rbody["parallel_tool_calls"] = False
    if thinking:
        rbody["reasoning"] = {"summary": "auto", **({"effort": effort} if effort else {})}
    if body.get("speed") == "fast":
        rbody["service_tier"] = "priority"
    user_id = as_dict(body.get("metadata")).get("user_id")
    info = AnthropicRequestInfo(model, effort, bool(body.get("stream")), thinking)
    info.user_id = user_id if isinstance(user_id, str) else None
    info.tool_names = tool_name_map(rbody)
    return rbody, info


def count_tokens_estimate(body: dict[str, Any]) -> int:
    """Rough ``count_tokens``: 4 characters a token over all text (system, messages, tools
    as JSON) plus 1600 per image or document. Clients use it only to budget context."""
    chars, attachments = 0, 0

    def walk(value: Any) -> None:
        nonlocal chars, attachments
        if isinstance(value, str):
            chars += len(value)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            if value.get("type") in ("image", "document") and isinstance(value.get("source"), dict):
                attachments += 1
                return
            for k, v in value.items():
                if k not in ("type", "role", "cache_control"):
                    walk(v)

    body = as_dict(body)
    walk(body.get("system"))
    walk(body.get("messages"))
    if body.get("tools"):
        chars += len(json.dumps(body["tools"]))
    return max(1, math.ceil(chars / CHARS_PER_TOKEN) + attachments * ATTACHMENT_TOKENS)
