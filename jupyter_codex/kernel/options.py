"""The options of ``%codex``: parsed by hand so the prompt after them stays verbatim.

``argparse``/``shlex`` would eat quotes and apostrophes in the prompt
(``%codex what's wrong with df?``); here only leading ``--name [value]`` tokens
are options, and everything from the first other word on is the prompt.
``--`` ends the options explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .context import CONTEXT_MODES

FORMATS = ("markdown", "code", "text")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

#: option → (takes a value, help)
OPTIONS: dict[str, tuple[bool, str]] = {
    "--session": (True, "NAME|ID: continue that session (default: one per notebook)"),
    "--new": (False, "start a new session (it becomes the notebook's default)"),
    "--model": (True, "MODEL for this and later turns of the session"),
    "--effort": (True, "reasoning effort: " + "|".join(EFFORTS)),
    "--cwd": (True, "DIR: folder of a new session (default: the kernel's folder)"),
    "--format": (True, "markdown|code|text: how to answer and show the reply"),
    "--insert": (False, "put the generated code into a new cell below"),
    "--context": (True, "none|cell|notebook|vars: what to tell Codex about the notebook"),
    "--fix": (False, "send the last exception and its traceback, and ask for a fix"),
    "--no-tools": (False, "do not offer the notebook's @tool functions to Codex in this turn"),
    "--image": (True, "PATH|VAR|plot: send a picture (a file, a figure, the current plot)"),
}

#: A word; quoted parts ("my dir", 'x y') may contain spaces: --cwd="my dir".
_TOKEN = re.compile(r"""\s*((?:[^\s"']+|"[^"]*"|'[^']*')+|\S+)""")


class OptionError(ValueError):
    """A ``%codex`` line with an unknown option or a bad value."""


@dataclass
class TurnOptions:
    session: str | None = None
    new: bool = False
    model: str | None = None
    effort: str | None = None
    cwd: str | None = None
    format: str = "markdown"
    insert: bool = False
    context: str | None = None
    fix: bool = False
    no_tools: bool = False
    images: list[str] = field(default_factory=list)
    given: set[str] = field(default_factory=set)


def usage() -> str:
    lines = ["%codex [options] PROMPT   or   %%codex [options] + the prompt in the cell", ""]
    lines += [f"  {name:<11} {help_text}" for name, (_, help_text) in OPTIONS.items()]
    lines.append("\n{name} in the prompt is replaced by the value of that Python variable.")
    return "\n".join(lines)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_line(line: str) -> tuple[TurnOptions, str]:
    """Split ``line`` into options and the verbatim prompt that follows them."""
    options = TurnOptions()
    position = 0
    while True:
        match = _TOKEN.match(line, position)
        if match is None:
            return options, ""
        token = match.group(1)
        if token == "--":
            return options, line[match.end() :].strip()
        if not token.startswith("--") or token == "--":
            return options, line[match.start(1) :].strip()
        name, eq, inline = token.partition("=")
        inline = _unquote(inline)
        if name not in OPTIONS:
            known = ", ".join(OPTIONS)
            raise OptionError(f"Unknown option {name}. Options: {known}. See %codex --help.")
        position = match.end()
        takes_value, _ = OPTIONS[name]
        if takes_value:
            if eq:
                value = inline
            else:
                following = _TOKEN.match(line, position)
                if following is None:
                    raise OptionError(f"{name} needs a value.")
                value = following.group(1)
                position = following.end()
            _set(options, name, _unquote(value))
        elif eq:
            raise OptionError(f"{name} takes no value.")
        else:
            setattr(options, name[2:].replace("-", "_"), True)
        options.given.add(name[2:])


def _set(options: TurnOptions, name: str, value: str) -> None:
    key = name[2:]
    if key == "format" and value not in FORMATS:
        raise OptionError(f"--format must be one of {', '.join(FORMATS)}, not {value!r}.")
    if key == "context" and value not in CONTEXT_MODES:
        raise OptionError(f"--context must be one of {', '.join(CONTEXT_MODES)}, not {value!r}.")
    if key == "effort" and value not in EFFORTS:
        raise OptionError(f"--effort must be one of {', '.join(EFFORTS)}, not {value!r}.")
    if key == "image":
        options.images.append(value)
        return
    setattr(options, key, value)


__all__ = ["FORMATS", "OPTIONS", "OptionError", "TurnOptions", "parse_line", "usage"]
