"""The notebook's own functions as tools of its ``%codex`` turns.

Every :func:`~jupyter_codex.kernel.tool` object in the notebook's namespace (a
function decorated with ``@tool``, under any public name) is offered to the
model. Codex fixes a thread's tools when the thread starts (``dynamicTools`` of
``thread/start``; no later request changes them), so :class:`SessionBook` keeps
the tool set each session started with, and a ``%codex`` turn whose notebook
tools differ continues in a new session (see ``sessions.py``).

The kernel serves the tools only while a ``%codex`` turn runs, and runs each
synchronous function on the kernel's main thread, where cells run: it sees the
notebook's state and prints into the ``%codex`` cell. ``async def`` tools run on
the loop that serves the calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..client._tools import CallRunner, Tool
from ..errors import ClientError
from ..models import ToolSpec


class ToolConflictError(ClientError, ValueError):
    """Two different tools in the namespace have the same name."""


def notebook_tools(
    user_ns: Mapping[str, Any], hidden: Mapping[str, Any] | None = None
) -> list[Tool]:
    """The :class:`Tool` objects bound to public names of the namespace, by tool name.

    IPython's own names (``user_ns_hidden``) and ``_``-prefixed ones (``_``, ``_3``
    output history) are skipped. A tool bound to two names counts once; two
    different tools with one name are an error the user has to resolve.
    """
    hidden = hidden or {}
    found: dict[str, tuple[str, Tool]] = {}
    for variable, value in list(user_ns.items()):
        if not isinstance(value, Tool) or variable.startswith("_"):
            continue
        if variable in hidden and hidden[variable] is value:
            continue
        earlier = found.get(value.name)
        if earlier is not None and earlier[1] is not value and earlier[1].fn is not value.fn:
            raise ToolConflictError(
                f"Two tools are named {value.name!r} (variables {earlier[0]} and {variable}); "
                "rename one with @tool(name=...) or delete it."
            )
        found[value.name] = (variable, value)
    return [found[name][1] for name in sorted(found)]


def fingerprint(tools: Iterable[Tool]) -> str:
    """What the model sees of a tool set (names, descriptions, schemas), hashed:
    equal fingerprints mean a thread declared with one set can serve the other."""
    return spec_fingerprint(ToolSpec.model_validate(t.spec()) for t in tools)


def spec_fingerprint(specs: Iterable[ToolSpec]) -> str:
    """:func:`fingerprint` of declarations as the server stored them (``Session.tools``),
    normalized the same way (the server validates what it is sent)."""
    dumped = sorted((s.model_dump() for s in specs), key=lambda s: str(s["name"]))
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def describe(tools: Iterable[Tool]) -> str:
    names = [t.name for t in tools]
    return ", ".join(names) if names else "none"


def served_by(tools: Iterable[Tool], runner: CallRunner) -> list[Tool]:
    """Copies of ``tools`` whose synchronous functions run through ``runner``."""
    return [t.running_with(runner) for t in tools]


def refusing(names: Iterable[str], reason: str) -> list[Tool]:
    """Stand-ins for the tools ``names`` that answer every call with an error saying
    ``reason`` at once (``--no-tools`` on a session declared with tools: the model's
    calls fail now instead of after the server's timeout)."""

    def refuse() -> Any:  # arguments are ignored (the arguments model drops extras)
        raise RuntimeError(reason)

    async def inline(call: Callable[[], Any]) -> Any:
        return call()

    return [Tool(refuse, name=name, description=reason).running_with(inline) for name in names]


__all__ = [
    "ToolConflictError",
    "describe",
    "fingerprint",
    "notebook_tools",
    "refusing",
    "served_by",
    "spec_fingerprint",
]
