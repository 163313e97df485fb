"""ThreadItem → event payload mapping, and the defensive readers it shares with ``events``.

The app-server protocol evolves faster than this package: every reader here
accepts ``None``, a missing key or a value of the wrong type and answers a
neutral value instead of raising, so a new codex release degrades one field,
never the whole event stream.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

#: Cap (characters) on one command's ``output`` and on one ``command.output`` delta.
#: A runaway command must not fill the event log or a browser tab.
OUTPUT_CAP = 64 * 1024
#: Cap (characters) on one file's diff and on the turn diff of ``diff.updated``.
DIFF_CAP = 256 * 1024

#: An event type and its ``data``, before turn/item ids are attached.
Payload = tuple[str, dict[str, Any]]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``"inProgress"`` → ``"in_progress"``: our data keys and enum values are snake_case."""
    return _CAMEL_BOUNDARY.sub(r"_\1", name).lower()


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """JSON numbers as int; codex sends integers, but a float must not break us."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def as_enum(value: Any) -> str | None:
    """A codex camelCase enum value as our snake_case one (``None`` if absent)."""
    return snake(value) if isinstance(value, str) else None


def snake_keys(value: Any) -> dict[str, Any]:
    """Shallow copy of a dict with snake_case keys (nested values stay as sent)."""
    return {snake(str(k)): v for k, v in as_dict(value).items()}


def cap(text: str, limit: int) -> tuple[str, bool]:
    """Shorten ``text`` to about ``limit`` characters, keeping head and (longer) tail.

    The tail is where compilers and test runners put the verdict, so it gets
    three quarters of the budget. Returns the text and whether it was cut.
    """
    if len(text) <= limit:
        return text, False
    head = limit // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[… {omitted} characters omitted …]\n{text[-tail:]}", True


def _id_text(value: Any) -> str | None:
    """A process id as text: a string on the wire, an integer in some builds."""
    number = as_int(value)
    return as_str(value) or (str(number) if number is not None else None)


def _command_text(value: Any) -> str:
    """The display command: a string in v2, an argv list in older builds."""
    if isinstance(value, list):
        return shlex.join(str(part) for part in value)
    return as_str(value) or ""


def command_actions(value: Any) -> list[dict[str, Any]]:
    """``commandActions`` (read/listFiles/search/unknown) with snake keys and type."""
    actions = []
    for action in as_list(value):
        entry = snake_keys(action)
        if "type" in entry:
            entry["type"] = as_enum(entry["type"])
        actions.append(entry)
    return actions


def file_changes(value: Any) -> list[dict[str, Any]]:
    """``changes`` of a fileChange item as ``[{path, kind, move_path, diff, truncated}]``.

    ``kind`` is a tagged object on the wire (``{"type":"update","move_path":…}``);
    an update with a ``move_path`` is reported as kind ``move`` because that is
    what a reader of the timeline cares about.
    """
    changes = []
    for change in as_list(value):
        change = as_dict(change)
        raw_kind = change.get("kind")
        kind_obj = as_dict(raw_kind)
        kind = as_str(kind_obj.get("type")) or as_str(raw_kind) or "update"
        move_path = as_str(kind_obj.get("move_path")) or as_str(kind_obj.get("movePath"))
        if kind == "update" and move_path:
            kind = "move"
        diff, truncated = cap(as_str(change.get("diff")) or "", DIFF_CAP)
        changes.append(
            {
                "path": as_str(change.get("path")) or "",
                "kind": snake(kind),
                "move_path": move_path,
                "diff": diff,
                "truncated": truncated,
            }
        )
    return changes


def user_inputs(content: Any) -> dict[str, Any]:
    """Split ``UserInput[]`` into joined ``text``, ``images`` and other ``inputs``."""
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for entry in as_list(content):
        entry = as_dict(entry)
        kind = entry.get("type")
        if kind == "text":
            texts.append(as_str(entry.get("text")) or "")
        elif kind in ("image", "localImage"):
            image = {k: v for k, v in snake_keys(entry).items() if k != "type" and v is not None}
            url = as_str(image.get("url")) or ""
            if url.startswith("data:") and len(url) > DIFF_CAP:
                # A pasted screenshot must not put megabytes into every replay.
                image["url"], image["truncated"] = None, True
            images.append(image)
        elif entry:
            other = snake_keys(entry)
            other["type"] = as_enum(other.get("type"))
            others.append(other)
    return {"text": "\n".join(texts), "images": images, "inputs": others}


def _tool_call(item: dict[str, Any], kind: str, completed: bool) -> dict[str, Any]:
    """One shape for the four tool-like items, so a client renders them alike."""
    status = as_enum(item.get("status")) or ("completed" if completed else "in_progress")
    data: dict[str, Any] = {
        "kind": kind,
        "server": None,
        "namespace": None,
        "tool": as_str(item.get("tool")) or "",
        "arguments": item.get("arguments"),
        "result": None,
        "error": None,
        "status": status,
        "duration_ms": as_int(item.get("durationMs")),
    }
    if kind == "mcp":
        data["server"] = as_str(item.get("server"))
        data["result"] = item.get("result")
        error = as_dict(item.get("error"))
        if error or isinstance(item.get("error"), str):
            data["error"] = {"message": as_str(error.get("message")) or as_str(item.get("error"))}
    elif kind == "dynamic":
        data["namespace"] = as_str(item.get("namespace"))
        data["result"] = item.get("contentItems")
        success = item.get("success")
        data["success"] = success if isinstance(success, bool) else None
        if success is False:
            # The client's error text is the failure's explanation (first text item).
            texts = [
                as_str(c.get("text"))
                for c in as_list(item.get("contentItems"))
                if isinstance(c, dict) and c.get("type") == "inputText" and c.get("text")
            ]
            data["error"] = {"message": texts[0] if texts else "the tool reported a failure"}
    elif kind == "web_search":
        data["tool"] = "web_search"
        action = snake_keys(item.get("action"))
        if "type" in action:
            action["type"] = as_enum(action["type"])
        data["arguments"] = {"query": as_str(item.get("query")), "action": action or None}
        data["result"] = item.get("results")
    else:  # collab
        data["arguments"] = {
            "prompt": as_str(item.get("prompt")),
            "model": as_str(item.get("model")),
            "reasoning_effort": as_str(item.get("reasoningEffort")),
            "receiver_thread_ids": as_list(item.get("receiverThreadIds")),
        }
        data["sender_thread_id"] = as_str(item.get("senderThreadId"))
        data["result"] = item.get("agentsStates")
    return data


_TOOL_KINDS = {
    "mcpToolCall": "mcp",
    "dynamicToolCall": "dynamic",
    "webSearch": "web_search",
    "collabAgentToolCall": "collab",
}


def item_payloads(item: dict[str, Any], completed: bool) -> list[Payload]:
    """Events for one ``item/started`` (``completed=False``) or ``item/completed``.

    Started userMessage and plan items, and the completed userMessage (a copy
    of the started one), give no event; see ``events.NOISE`` for the rationale.
    """
    item_type = as_str(item.get("type")) or ""
    if item_type == "userMessage":
        if completed:
            return []
        data = user_inputs(item.get("content"))
        data["client_id"] = as_str(item.get("clientId"))
        return [("user.message", data)]
    if item_type == "agentMessage":
        phase = as_str(item.get("phase"))
        if not completed:
            return [("assistant.started", {"phase": phase})]
        text = as_str(item.get("text")) or ""
        return [("assistant.message", {"text": text, "phase": phase})]
    if item_type == "reasoning":
        if not completed:
            return [("reasoning.started", {})]
        summary = [s for s in as_list(item.get("summary")) if isinstance(s, str)]
        content = [s for s in as_list(item.get("content")) if isinstance(s, str)]
        return [("reasoning.summary", {"summary": summary, "content": content})]
    if item_type == "plan":
        if not completed:
            return []
        return [("plan.proposed", {"text": as_str(item.get("text")) or ""})]
    if item_type == "commandExecution":
        return [_command(item, completed)]
    if item_type == "fileChange":
        kind = "file_change.completed" if completed else "file_change.started"
        status = as_enum(item.get("status")) or ("completed" if completed else "in_progress")
        return [(kind, {"changes": file_changes(item.get("changes")), "status": status})]
    if item_type in _TOOL_KINDS:
        kind = "tool_call.completed" if completed else "tool_call.started"
        return [(kind, _tool_call(item, _TOOL_KINDS[item_type], completed))]
    kind = "item.completed" if completed else "item.started"
    raw, truncated = _capped_item(item)
    data = {
        "item_type": snake(item_type) if item_type else None,
        "item": raw,
        "truncated": truncated,
    }
    return [(kind, data)]


def _capped_item(item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Cap the raw item's long top-level strings (e.g. a generated image in base64)."""
    long_keys = [k for k, v in item.items() if isinstance(v, str) and len(v) > DIFF_CAP]
    if not long_keys:
        return item, False
    return {**item, **{k: cap(item[k], DIFF_CAP)[0] for k in long_keys}}, True


def _command(item: dict[str, Any], completed: bool) -> Payload:
    command = _command_text(item.get("command"))
    cwd = as_str(item.get("cwd"))
    if not completed:
        return (
            "command.started",
            {
                "command": command,
                "cwd": cwd,
                "actions": command_actions(item.get("commandActions")),
                "source": as_enum(item.get("source")),
                "process_id": _id_text(item.get("processId")),
            },
        )
    output, truncated = cap(as_str(item.get("aggregatedOutput")) or "", OUTPUT_CAP)
    return (
        "command.completed",
        {
            "command": command,
            "cwd": cwd,
            "status": as_enum(item.get("status")) or "completed",
            "exit_code": as_int(item.get("exitCode")),
            "output": output,
            "truncated": truncated,
            "duration_ms": as_int(item.get("durationMs")),
        },
    )
