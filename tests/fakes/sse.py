"""Rendering of scripted :class:`~.steps.Reply` objects as Responses API SSE events.

The event shapes follow what Codex's parser accepts (codex-api ``sse/responses.rs``): a
message needs ``output_item.added`` before its ``output_text.delta`` events, and every
stream ends with ``response.completed`` carrying a full ``usage`` object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .steps import (
    JSON,
    CallPart,
    HangPart,
    ReasoningPart,
    Reply,
    TextPart,
    usage_object,
)


def tool_names(body: JSON) -> list[str]:
    """Tool names offered: top-level ``tools`` plus, for code-mode models (0.163's default
    ``gpt-6.1-sol``), the ``additional_tools`` input items; namespaces are flattened."""
    names: list[str] = []

    def walk(tools: Any) -> None:
        for t in tools or []:
            if isinstance(t, dict):
                if t.get("type") == "namespace":
                    walk(t.get("tools"))
                elif t.get("name"):
                    names.append(str(t["name"]))

    walk(body.get("tools"))
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            walk(item.get("tools"))
    return names


def _split(s: str, n: int) -> list[str]:
    n = min(n, max(1, len(s)))
    size = -(-len(s) // n) if s else 0
    return [s[i : i + size] for i in range(0, len(s), size)] if s else [""]


def call_item(part: CallPart, body: JSON, call_id: str) -> JSON:
    """The ``function_call`` output item for ``part``, adapted to the request's tools."""
    names = tool_names(body)
    if part.kind == "tool":
        name, args = part.payload
        if callable(args):  # arguments that depend on what the model has read so far
            args = args(body)
        arguments = args if isinstance(args, str) else json.dumps(args)
        item = {
            "type": "function_call",
            "id": f"fc_{call_id}",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }
        if part.namespace:
            item["namespace"] = part.namespace
        return item
    cmd = part.payload
    if part.kind == "patch":
        cmd = f"apply_patch <<'EOF'\n{part.payload.strip()}\nEOF\n"
    escalation = (
        {"sandbox_permissions": "require_escalated", "justification": part.justification}
        if part.escalated
        else {}
    )
    # Codex dispatches a direct exec_command call even when only code-mode ``exec`` is offered.
    if "exec_command" in names or not {"shell_command", "shell"} & set(names):
        name, args_obj = (
            "exec_command",
            {"cmd": cmd, "yield_time_ms": part.yield_time_ms, **escalation},
        )
    elif "shell_command" in names:
        name, args_obj = "shell_command", {"command": cmd, "timeout_ms": 30_000, **escalation}
    else:
        name, args_obj = (
            "shell",
            {"command": ["bash", "-lc", cmd], "timeout_ms": 30_000, **escalation},
        )
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(args_obj),
    }


@dataclass
class Rendered:
    """Events of one reply, in order; ``("sleep", s)`` / ``("hang", None)`` are pseudo-events."""

    events: list[tuple[str, Any]]
    output: list[JSON]
    usage: JSON


def render(reply: Reply, body: JSON, response_id: str, seq: Iterator[int]) -> Rendered:
    """Turn ``reply`` into the event sequence Codex's SSE parser accepts (see README)."""
    events: list[tuple[str, Any]] = [
        ("event", {"type": "response.created", "response": {"id": response_id}})
    ]
    output: list[JSON] = []
    out_chars = 0
    for part in reply.parts:
        idx = len(output)
        n = next(seq)
        if isinstance(part, TextPart):
            item_id = f"msg_{n}"
            events.append(
                (
                    "event",
                    {
                        "type": "response.output_item.added",
                        "output_index": idx,
                        "item": {
                            "type": "message",
                            "role": "assistant",
                            "id": item_id,
                            "content": [],
                        },
                    },
                )
            )
            for i, chunk in enumerate(_split(part.text, part.chunks)):
                if i and part.delay:
                    events.append(("sleep", part.delay))
                events.append(
                    (
                        "event",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item_id,
                            "output_index": idx,
                            "content_index": 0,
                            "delta": chunk,
                        },
                    )
                )
            item = {
                "type": "message",
                "role": "assistant",
                "id": item_id,
                "content": [{"type": "output_text", "text": part.text, "annotations": []}],
            }
            out_chars += len(part.text)
        elif isinstance(part, ReasoningPart):
            item_id = f"rs_{n}"
            events.append(
                (
                    "event",
                    {
                        "type": "response.output_item.added",
                        "output_index": idx,
                        "item": {"type": "reasoning", "id": item_id, "summary": []},
                    },
                )
            )
            events.append(
                (
                    "event",
                    {
                        "type": "response.reasoning_summary_part.added",
                        "item_id": item_id,
                        "output_index": idx,
                        "summary_index": 0,
                    },
                )
            )
            events.append(
                (
                    "event",
                    {
                        "type": "response.reasoning_summary_text.delta",
                        "item_id": item_id,
                        "output_index": idx,
                        "summary_index": 0,
                        "delta": part.summary,
                    },
                )
            )
            item = {
                "type": "reasoning",
                "id": item_id,
                "summary": [{"type": "summary_text", "text": part.summary}],
            }
            out_chars += len(part.summary)
        elif isinstance(part, CallPart):
            item = call_item(part, body, part.call_id or f"call_{n}")
            out_chars += len(item["arguments"])
        elif isinstance(part, HangPart):
            events.append(("hang", None))
            continue
        else:
            events.append(
                (
                    "event",
                    {
                        "type": "response.failed",
                        "response": {
                            "id": response_id,
                            "error": {"code": part.code, "message": part.message},
                        },
                    },
                )
            )
            return Rendered(events, output, reply.usage or usage_object(0, 0))
        output.append(item)
        events.append(
            ("event", {"type": "response.output_item.done", "output_index": idx, "item": item})
        )
    usage = reply.usage or usage_object(max(1, len(json.dumps(body)) // 4), max(1, out_chars // 4))
    events.append(
        (
            "event",
            {
                "type": "response.completed",
                "response": {
                    "id": response_id,
                    "status": "completed",
                    "output": output,
                    "usage": usage,
                },
            },
        )
    )
    return Rendered(events, output, usage)


def user_images(body: JSON) -> list[JSON]:
    """The ``input_image`` parts of the user messages in ``input``, oldest first."""
    return [
        part
        for item in body.get("input") or []
        if isinstance(item, dict) and item.get("role") == "user"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "input_image"
    ]


def inserted_cell_id(body: JSON) -> str:
    """The id of the cell the model's last ``notebook_insert_cell`` made, read from the
    tool's answer in the request ("Inserted cell <id> at index …"), as a model would:
    for a scripted ``tool_call`` whose arguments depend on an earlier answer."""
    outputs = [
        i.get("output")
        for i in body.get("input", [])
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]
    found = re.findall(r"Inserted cell (\S+) at index", json.dumps(outputs))
    assert found, outputs
    return str(found[-1])


def sse_frame(event: JSON) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def user_texts(body: JSON) -> list[str]:
    """Texts of the user messages in ``input``, oldest first (what rules match against).

    A subagent's task arrives as an ``agent_message`` from its parent (``author`` "/root",
    ``recipient`` "/root/helper"): for the subagent that is the user's message, so it
    counts too; messages the other way (a child's answer to its parent) do not."""
    texts: list[str] = []
    for item in body.get("input") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "agent_message":
            author, recipient = str(item.get("author") or ""), str(item.get("recipient") or "")
            if not recipient.startswith(author.rstrip("/") + "/"):
                continue
        elif item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            # The task's payload is an ``encrypted_content`` part: the fake's own plaintext.
            texts.append(
                "".join(
                    str(c.get("text") or c.get("encrypted_content") or "")
                    for c in content
                    if isinstance(c, dict)
                )
            )
    return texts
