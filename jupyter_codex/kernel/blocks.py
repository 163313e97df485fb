"""How each block of a turn looks: Markdown for notebooks, plain text for terminals.

A block is one item of the turn (a message, a command, a file change…). The
formatting is compact on purpose: a command is one line with its exit code (and
the tail of its output when it failed), a file change is a path with
``+added −removed``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from .context import shorten

#: Lines of a failed command's output shown under it.
FAILED_OUTPUT_LINES = 8


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


_KIND_VERB = {"add": "added", "delete": "deleted", "update": "edited", "move": "moved"}


def markdown_block(block: Block) -> str:
    data = block.data
    if block.kind == "assistant":
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
        name = "/".join(str(p) for p in (data.get("server"), data.get("tool")) if p)
        return f"⚙ {code_span(name or 'tool')} — {data.get('status') or 'running…'}"
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
        return f"⏸ **waiting for approval:** {code_span(str(what))}"
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
    "plain_block",
    "short_path",
]
