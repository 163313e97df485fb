"""OpenAI Chat Completions <-> Responses API (routers.md §2.9, §7.2, §7.3).

:func:`chat_to_responses` turns a ``/v1/chat/completions`` body into a
Responses body (still to be passed through
:func:`~.responses.normalize_responses_request`).
:class:`~.openai_chat_stream.ChatStreamTranslator` (re-exported here) turns the
upstream events back into ``chat.completion.chunk`` objects or a ``chat.completion``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidRequestError
from .openai_chat_stream import ChatStreamTranslator, chat_usage
from .request_info import RequestInfo
from .responses import tool_name_map

_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMPTY_PARAMETERS = {"type": "object", "properties": {}}
#: Largest ``n`` (each choice is one upstream request).
MAX_N = 8
_ROLES = "system, developer, user, assistant, tool or function"


__all__ = ["ChatStreamTranslator", "RequestInfo", "chat_to_responses", "chat_usage"]


def _text(content: Any, where: str) -> str:
    """Text of a string or a list of text parts (other parts are ignored)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where}.content must be a string or a list of parts.")
    texts = [
        p if isinstance(p, str) else p.get("text") for p in content if isinstance(p, (str, dict))
    ]
    return "\n".join(t for t in texts if isinstance(t, str))


def _user_part(part: Any, where: str) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "input_text", "text": part}
    if not isinstance(part, dict):
        raise InvalidRequestError(f"{where} must be an object with a 'type'.")
    kind = part.get("type")
    if kind in ("text", "input_text"):
        return {"type": "input_text", "text": str(part.get("text") or "")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise InvalidRequestError(f"{where}.image_url.url must be an http(s) or data: URL.")
        out = {"type": "input_image", "image_url": url}
        if isinstance(image, dict) and image.get("detail"):
            out["detail"] = image["detail"]
        return out
    if kind == "file" and isinstance(part.get("file"), dict):
        keys = ("file_data", "file_id", "file_url", "filename")
        return {"type": "input_file", **{k: v for k, v in part["file"].items() if k in keys}}
    if kind in ("input_image", "input_file"):
        return dict(part)
    if kind == "input_audio":
        raise InvalidRequestError(f"{where}: audio input is not supported by the Codex backend.")
    raise InvalidRequestError(
        f"{where}.type '{kind}' is not supported; use text, image_url or file parts."
    )


def _assistant_items(msg: dict[str, Any], where: str, calls: set[str]) -> list[dict[str, Any]]:
    """An assistant message: its text first, then one function_call item per tool call."""
    parts: list[dict[str, Any]] = []
    content = msg.get("content")
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, dict) and part.get("type") == "refusal":
            parts.append({"type": "refusal", "refusal": str(part.get("refusal") or "")})
        elif text := _text([part] if part is not None else None, where):
            parts.append({"type": "output_text", "text": text})
    if isinstance(msg.get("refusal"), str) and msg["refusal"]:
        parts.append({"type": "refusal", "refusal": msg["refusal"]})
    items = [{"type": "message", "role": "assistant", "content": parts}] if parts else []
    tool_calls = msg.get("tool_calls") or []
    if not isinstance(tool_calls, list):
        raise InvalidRequestError(f"{where}.tool_calls must be a list.")
    for k, call in enumerate(tool_calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(call.get("id"), str) or not fn.get("name"):
            raise InvalidRequestError(
                f"{where}.tool_calls[{k}] needs an 'id' and 'function': {{'name', 'arguments'}}."
            )
        args = fn.get("arguments")
        if not isinstance(args, str):
            args = json.dumps(args) if args is not None else ""
        calls.add(call["id"])
        items.append(
            {
                "type": "function_call",
                "call_id": call["id"],
                "name": fn["name"],
                "arguments": args or "{}",
            }
        )
    return items


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise InvalidRequestError(f"{where} must be an object with a 'type'.")
    if tool.get("type") in ("web_search_preview", "web_search"):
        return {**tool, "type": "web_search"}
    if tool.get("type") != "function":
        return dict(tool)  # a built-in tool type the upstream may know: let it decide
    fn = tool.get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise InvalidRequestError(f"{where}.function.name is required.")
    out = {"type": "function", "name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters") or dict(_EMPTY_PARAMETERS)
    if "strict" in fn:
        out["strict"] = fn["strict"]
    return out


def _text_format(response_format: Any) -> dict[str, Any] | None:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind != "json_schema":
        raise InvalidRequestError("response_format.type must be text, json_object or json_schema.")
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise InvalidRequestError("response_format.json_schema needs a 'name' and a 'schema'.")
    name = spec.get("name") or "response"
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        raise InvalidRequestError(
            "response_format.json_schema.name must be 1-64 letters, digits, '_' or '-'."
        )
    out = {"type": "json_schema", "name": name, "schema": spec["schema"]}
    out.update({k: spec[k] for k in ("strict", "description") if k in spec})
    return out


def _effort(body: dict[str, Any]) -> str | None:
    if isinstance(body.get("reasoning_effort"), str):
        return str(body["reasoning_effort"])
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        return str(reasoning["effort"])
    thinking = body.get("thinking")
    if body.get("enable_thinking") or (
        isinstance(thinking, dict) and thinking.get("type") == "enabled"
    ):
        return "medium"  # Anthropic/Qwen-style switches, as codex-lb does (not budget-mapped)
    return None


def _messages(messages: list[Any], json_object: bool) -> tuple[list[str], list[dict[str, Any]]]:
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    calls: set[str] = set()
    pending: dict[str, list[str]] = {}  # legacy function name -> unanswered call ids
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise InvalidRequestError(f"{where} must be an object with a 'role'.")
        role = msg.get("role")
        if role in ("system", "developer"):
            text = _text(msg.get("content"), where)
            if json_object:  # OpenAI wants the word "json" in the input messages
                items.append({"type": "message", "role": "developer", "content": [
                    {"type": "input_text", "text": text}]})  # fmt: skip
            elif text:
                instructions.append(text)
        elif role == "user":
            content = msg.get("content")
            parts = content if isinstance(content, list) else [_text(content, where)]
            items.append({"type": "message", "role": "user", "content": [
                _user_part(p, f"{where}.content[{k}]") for k, p in enumerate(parts)]})  # fmt: skip
        elif role == "assistant":
            items.extend(_assistant_items(msg, where, calls))
            legacy = msg.get("function_call")
            if legacy is not None:  # the deprecated single function call
                if not isinstance(legacy, dict) or not legacy.get("name"):
                    raise InvalidRequestError(
                        f"{where}.function_call needs 'name' and 'arguments'."
                    )
                fn_call_id = f"call_fn_{i}"
                args = legacy.get("arguments")
                calls.add(fn_call_id)
                pending.setdefault(str(legacy["name"]), []).append(fn_call_id)
                items.append(
                    {
                        "type": "function_call",
                        "call_id": fn_call_id,
                        "name": str(legacy["name"]),
                        "arguments": args if isinstance(args, str) else json.dumps(args or {}),
                    }
                )
        elif role == "function":  # the deprecated function result: answers its call
            fn_name = msg.get("name")
            waiting = pending.get(fn_name) if isinstance(fn_name, str) else None
            if not waiting:
                raise InvalidRequestError(
                    f"{where} (role function) must answer an earlier assistant "
                    f"'function_call' named {fn_name!r}."
                )
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": waiting.pop(0),
                    "output": _text(msg.get("content"), where),
                }
            )
        elif role == "tool":
            call_id = msg.get("tool_call_id") or msg.get("toolCallId") or msg.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise InvalidRequestError(
                    f"{where} (role tool) needs 'tool_call_id': the id of the tool call it answers."
                )
            if call_id in calls:  # an orphan output makes the upstream answer 400: drop it
                output = _text(msg.get("content"), where)
                items.append({"type": "function_call_output", "call_id": call_id, "output": output})
        else:
            raise InvalidRequestError(f"{where}.role '{role}' is not supported; use {_ROLES}.")
    return instructions, items


def chat_to_responses(body: dict[str, Any]) -> tuple[dict[str, Any], RequestInfo]:
    """A chat-completions body -> (Responses body, RequestInfo). Unknown fields are dropped."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("'model' is required: a model id such as 'gpt-5.2-codex'.")
    n = body.get("n")
    n = 1 if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
        raise InvalidRequestError(f"'n' must be an integer from 1 to {MAX_N}.")
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, dict) and bool(options.get("include_usage"))
    effort = _effort(body)
    info = RequestInfo(model, effort, stream, include_usage, body.get("response_format"), n)

    if "messages" not in body and "input" in body:  # a Responses-shaped body (codex-lb does too)
        skip = ("stream", "stream_options", "n", "reasoning_effort")
        rbody = {k: v for k, v in body.items() if k not in skip}
    else:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequestError("'messages' must be a non-empty list of message objects.")
        text_format = _text_format(body.get("response_format"))
        json_object = bool(text_format and text_format["type"] == "json_object")
        instructions, items = _messages(messages, json_object)
        rbody = {"model": model, "input": items}
        if instructions:
            rbody["instructions"] = "\n".join(instructions)
        tools = body.get("tools")
        if tools is not None:
            if not isinstance(tools, list):
                raise InvalidRequestError("'tools' must be a list of tool objects.")
            rbody["tools"] = [_tool(t, f"tools[{k}]") for k, t in enumerate(tools)]
        functions = body.get("functions")
        if functions is not None and tools is None:  # the deprecated `functions` API
            if not isinstance(functions, list):
                raise InvalidRequestError("'functions' must be a list of function objects.")
            rbody["tools"] = [
                _tool({"type": "function", "function": f}, f"functions[{k}]")
                for k, f in enumerate(functions)
            ]
            info.legacy_functions = True
        choice = body.get("tool_choice")
        legacy_choice = body.get("function_call")
        if choice is None and legacy_choice is not None:
            if isinstance(legacy_choice, dict) and isinstance(legacy_choice.get("name"), str):
                choice = {"type": "function", "name": legacy_choice["name"]}
            elif legacy_choice in ("auto", "none"):
                choice = legacy_choice
            else:
                raise InvalidRequestError(
                    "'function_call' must be 'auto', 'none' or {'name': <function name>}."
                )
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            choice = {"type": "function", "name": choice["function"].get("name")}
        if choice is not None:
            rbody["tool_choice"] = choice
        text: dict[str, Any] = {}
        if text_format:
            text["format"] = text_format
        if isinstance(body.get("verbosity"), str):
            text["verbosity"] = body["verbosity"]
        if text:
            rbody["text"] = text
        for key in ("parallel_tool_calls", "prompt_cache_key", "service_tier"):
            if body.get(key) is not None:
                rbody[key] = body[key]
        if effort:
            rbody["reasoning"] = {"effort": effort}
            if effort != "none":
                rbody["reasoning"]["summary"] = "auto"  # so reasoning_content can stream
    info.tool_names = tool_name_map(rbody)
    return rbody, info
