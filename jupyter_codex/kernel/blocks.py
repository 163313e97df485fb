"""How each block of a turn looks: Markdown for notebooks, plain text for terminals.

A block is one item of the turn (a message, a command, a file change…). The
formatting is compact on purpose: a command is one line with its exit code (and
the tail of its output when it failed), a file change is a path with
``+added −removed``, a tool call is ``name(arguments)`` with its status and one
line of its result or error.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from .context import shorten

#: Lines of a failed command's output shown under it.
FAILED_OUTPUT_LINES = 8
#: Characters of a tool call's arguments, and of its result or error, shown.
TOOL_ARGUMENTS_CHARS = 160
TOOL_RESULT_CHARS = 240


def code_span(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    text = " ".join(text.split())
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


_SHELL = re.compile(r"^(?:/usr)?(?:/bin/)?(?:bash|sh|zsh) -l?c (?P<script>.+)$", re.DOTALL)


def bare_command(command: str) -> str:
    """``/bin/bash -lc 'ls -la'`` → ``ls -la``: the command as the model wrote it."""
    match = _SHELL.match(command.strip())
    if not match:
        return command
    try:
        words = shlex.split(match["script"])
    except ValueError:
        return command
    return words[0] if len(words) == 1 else command


def diff_stats(diff: str, kind: str = "update") -> tuple[int, int]:
    """Added and removed lines of a unified diff (headers not counted). An added or
    deleted file may come as its plain content: then every line counts."""
    if kind in ("add", "delete") and not any(
        line.startswith(("+", "-", "@@")) for line in diff.splitlines()
    ):
        lines = len(diff.splitlines())
        return (lines, 0) if kind == "add" else (0, lines)
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


@dataclass
class Block:
    """One item of the timeline (keyed by ``item_id``)."""

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    done: bool = False


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return "the turn failed."
    message = str(error.get("message") or "the turn failed.")
    code = error.get("code")
    return f"{message} ({code})" if code else message


def _command_summary(data: dict[str, Any]) -> tuple[str, str]:
    """(status word, output tail) of a command block."""
    status = str(data.get("status") or "in_progress")
    exit_code = data.get("exit_code")
    duration = data.get("duration_ms")
    took = f", {duration / 1000:.1f} s" if isinstance(duration, (int, float)) else ""
    if status == "declined":
        return "declined", ""
    if status == "in_progress":
        return "running…", ""
    word = f"exit {exit_code}{took}" if exit_code is not None else f"{status}{took}"
    tail = ""
    if exit_code not in (0, None) or status == "failed":
        lines = str(data.get("output") or "").rstrip().splitlines()
        tail = "\n".join(lines[-FAILED_OUTPUT_LINES:])
    return word, tail


def short_path(path: str, base: str | None = None) -> str:
    """A path under ``base`` (default: the kernel's folder) relative to it."""
    base = base or os.getcwd()
    prefix = base.rstrip("/") + "/"
    return path.removeprefix(prefix)


def _change_lines(data: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    rows = []
    for change in data.get("changes") or []:
        path = short_path(str(change.get("path") or "?"))
        move = change.get("move_path")
        if move:
            path = f"{path} → {short_path(str(move))}"
        kind = str(change.get("kind") or "update")
        added, removed = diff_stats(str(change.get("diff") or ""), kind)
        rows.append((kind, path, added, removed))
    return rows


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def tool_arguments(arguments: Any, limit: int = TOOL_ARGUMENTS_CHARS) -> str:
    """A tool call's arguments as ``key=value, …`` (values as JSON), on one line."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else None
        except ValueError:
            return one_line(arguments, limit)
    if arguments is None:
        return ""
    if isinstance(arguments, dict):
        text = ", ".join(f"{key}={_json(value)}" for key, value in arguments.items())
    else:
        text = _json(arguments)
    return one_line(text, limit)


def tool_result(result: Any, limit: int = TOOL_RESULT_CHARS) -> str:
    """A tool's result on one line: the text of its content items (``[image]`` for
    images; an MCP result's ``content`` too), else the value as JSON."""
    items = result.get("content") if isinstance(result, dict) else result
    if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
        parts = []
        for item in items:
            kind = str(item.get("type") or "")
            if "text" in item:
                parts.append(str(item.get("text") or ""))
            elif "image" in kind.lower():
                parts.append("[image]")
            else:
                parts.append(_json(item))
        text = " ".join(parts)
    elif result is None:
        text = ""
    elif isinstance(result, str):
        text = result
    else:
        text = _json(result)
    return one_line(text, limit)


def _tool_summary(data: dict[str, Any]) -> tuple[str, str, str, bool]:
    """(``name(arguments)``, status word, result or error line, failed?) of a tool block."""
    name = "/".join(str(p) for p in (data.get("server"), data.get("tool")) if p) or "tool"
    call = f"{name}({tool_arguments(data.get('arguments'))})"
    status = str(data.get("status") or "in_progress")
    error = data.get("error")
    failed = bool(error) or data.get("success") is False or status in ("failed", "declined")
    duration = data.get("duration_ms")
    took = ""
    if isinstance(duration, (int, float)):
        took = f", {duration:.0f} ms" if duration < 1000 else f", {duration / 1000:.1f} s"
    if status in ("in_progress", "inProgress", "running"):
        return call, "running…", "", False
    word = ("declined" if status == "declined" else "failed") if failed else "done"
    if failed and isinstance(error, dict) and error.get("message"):
        outcome = one_line(str(error["message"]), TOOL_RESULT_CHARS)
    else:
        outcome = tool_result(data.get("result"))
    return call, word + took, outcome, failed


_KIND_VERB = {"add": "added", "delete": "deleted", "update": "edited", "move": "moved"}


def markdown_block(block: Block, code: bool = False) -> str:
    """``code``: the reply is Python code (``--format code``); one without a fenced
    block of its own is shown as one."""
    data = block.data
    if block.kind == "assistant":
        if code and block.text.strip() and "```" not in block.text:
            return fenced(block.text.strip("\n"), "python")
        return block.text
    if block.kind == "user":
        return "> **You:** " + block.text.replace("\n", "\n> ")
    if block.kind == "reasoning":
        return f"> *{shorten(block.text.strip(), 300)}*" if block.text.strip() else ""
    if block.kind == "command":
        word, tail = _command_summary(data)
        mark = "✓" if data.get("exit_code") == 0 else ("✗" if block.done else "▸")
        line = f"{mark} {code_span(bare_command(str(data.get('command') or '')))} — {word}"
        return f"{line}\n{fenced(tail)}" if tail else line
    if block.kind == "file_change":
        status = str(data.get("status") or "")
        suffix = f" ({status})" if status in ("declined", "failed") else ""
        return "\n".join(
            f"✎ {_KIND_VERB.get(kind, kind)} {code_span(path)} +{added} −{removed}{suffix}"
            for kind, path, added, removed in _change_lines(data)
        )
    if block.kind == "tool":
        call, word, outcome, failed = _tool_summary(data)
        line = f"⚙ {code_span(call)} — {word}"
        if outcome:
            line += f"  \n↳ {'✗ ' if failed else ''}{code_span(outcome)}"
        return line
    if block.kind == "plan":
        marks = {"completed": "x", "in_progress": "~"}
        steps = data.get("steps") or []
        return "\n".join(
            f"- [{marks.get(str(s.get('status')), ' ')}] {s.get('step')}" for s in steps
        )
    if block.kind == "approval":
        what = data.get("command") or data.get("reason") or data.get("kind") or "an action"
        if block.done:
            return f"⏵ approval for {code_span(str(what))}: **{data.get('decision')}**"
        return f"**Waiting for approval:** {code_span(str(what))}"
    if block.kind == "error":
        return f"⚠ {block.text}"
    return ""


def plain_block(block: Block) -> str:
    data = block.data
    if block.kind in ("assistant",):
        return block.text
    if block.kind == "user":
        return "You: " + block.text
    if block.kind == "reasoning":
        return ""
    if block.kind == "command":
        word, tail = _command_summary(data)
        line = f"$ {bare_command(str(data.get('command') or ''))}  [{word}]"
        return f"{line}\n{tail}" if tail else line
    if block.kind == "file_change":
        return "\n".join(
            f"{_KIND_VERB.get(kind, kind)} {path} +{added} -{removed}"
            for kind, path, added, removed in _change_lines(data)
        )
    if block.kind == "tool":
        call, word, outcome, failed = _tool_summary(data)
        line = f"tool {call}  [{word}]"
        return f"{line}\n  {'error: ' if failed else '→ '}{outcome}" if outcome else line
    markdown = markdown_block(block)
    return markdown.replace("**", "").replace("`", "")


__all__ = [
    "Block",
    "bare_command",
    "code_span",
    "diff_stats",
    "error_text",
    "fenced",
    "markdown_block",
    "one_line",
    "plain_block",
    "short_path",
    "tool_arguments",
    "tool_result",
]
