"""Scripted model replies for the fake upstream, rendered as Responses API events.

A *step* answers exactly one ``POST …/responses`` request. A :class:`Reply` is a
streamed answer made of parts (text, reasoning, tool calls, a hang) that can be
combined with ``+``; an :class:`HttpError` answers with a plain HTTP error instead.
Tool-call parts look at the request's ``tools[].name`` so the same script works
whichever shell tool the Codex build offers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class TextPart:
    text: str
    chunks: int = 3
    delay: float = 0.0


@dataclass(frozen=True)
class ReasoningPart:
    summary: str


@dataclass(frozen=True)
class CallPart:
    """A function call; ``kind`` picks how name and arguments are derived from ``tools``."""

    kind: str  # "exec" | "patch" | "tool"
    payload: Any
    escalated: bool = False
    justification: str = "The test asks for it."
    yield_time_ms: int = 10_000
    call_id: str | None = None
    #: The tool's namespace (code-mode models nest e.g. ``spawn_agent`` in ``collaboration``).
    namespace: str | None = None


@dataclass(frozen=True)
class HangPart:
    """Stops the stream here until the test calls ``FakeUpstream.release()``."""


@dataclass(frozen=True)
class FailedPart:
    """An in-stream ``response.failed`` (ends the stream without ``response.completed``)."""

    code: str
    message: str


Part = TextPart | ReasoningPart | CallPart | HangPart | FailedPart


@dataclass(frozen=True)
class Reply:
    """A streamed (or, for ``"stream": false``, JSON) model response."""

    parts: tuple[Part, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    usage: JSON | None = None

    def __add__(self, other: Reply) -> Reply:
        return Reply(
            self.parts + other.parts,
            self.headers + other.headers,
            other.usage if other.usage is not None else self.usage,
        )

    def with_headers(self, headers: dict[str, str]) -> Reply:
        return Reply(self.parts, self.headers + tuple(headers.items()), self.usage)

    def with_usage(self, input_tokens: int, output_tokens: int, cached: int = 0) -> Reply:
        return Reply(self.parts, self.headers, usage_object(input_tokens, output_tokens, cached))


@dataclass(frozen=True)
class HttpError:
    """A non-SSE HTTP answer, e.g. a 429 ``usage_limit_reached``."""

    status: int
    body: JSON = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()


Step = Reply | HttpError


# --- builders -----------------------------------------------------------------------------


def text(reply: str, chunks: int = 3, delay: float = 0.0) -> Reply:
    """Assistant text streamed as ``chunks`` deltas, ``delay`` seconds apart."""
    return Reply((TextPart(reply, max(1, chunks), delay),))


def reasoning(summary: str) -> Reply:
    """A reasoning item with one summary; combine with text: ``reasoning("…") + text("…")``."""
    return Reply((ReasoningPart(summary),))


def exec_command(
    cmd: str,
    escalated: bool = True,
    justification: str = "The test asks for it.",
    yield_time_ms: int = 10_000,
    call_id: str | None = None,
) -> Reply:
    """A shell command via whichever shell tool the request offers (exec_command first)."""
    return Reply((CallPart("exec", cmd, escalated, justification, yield_time_ms, call_id),))


def apply_patch(patch_text: str, call_id: str | None = None) -> Reply:
    """A file change: ``*** Begin Patch`` text, sent as an ``apply_patch`` heredoc via the shell
    tool (Codex intercepts it and emits a ``fileChange`` item, never running a shell)."""
    return Reply((CallPart("patch", patch_text, call_id=call_id),))


def tool_call(
    name: str,
    arguments: JSON | str | Callable[[JSON], JSON | str],
    call_id: str | None = None,
    namespace: str | None = None,
) -> Reply:
    """A generic ``function_call`` (dynamic tools, ``update_plan``, ``request_user_input``…);
    ``arguments`` may be a function of the request's body (the model uses an earlier tool
    result, e.g. the id of a cell it inserted); ``namespace`` for a namespaced tool (``tool_call("spawn_agent", …, namespace="collaboration")``)."""
    return Reply((CallPart("tool", (name, arguments), call_id=call_id, namespace=namespace),))


def hang() -> Reply:
    """``response.created`` then nothing until ``release()`` (or the fake stops)."""
    return Reply((HangPart(),))


def failed(code: str = "server_error", message: str = "fake failure") -> Reply:
    return Reply((FailedPart(code, message),))


def http_error(
    status: int, json_body: JSON | None = None, headers: dict[str, str] | None = None
) -> HttpError:
    return HttpError(
        status,
        json_body or {"error": {"message": f"HTTP {status}"}},
        tuple((headers or {}).items()),
    )


def usage_limit_error(plan: str = "pro", resets_in: int = 3600, used: int = 100) -> HttpError:
    """The 429 the ChatGPT backend sends when a window is exhausted (Codex: usageLimitExceeded)."""
    resets_at = int(time.time()) + resets_in
    return http_error(
        429,
        {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": plan,
                "resets_at": resets_at,
                "resets_in_seconds": resets_in,
            }
        },
        {
            "x-codex-active-limit": "codex",
            "x-codex-primary-used-percent": f"{used}.0",
            "x-codex-primary-window-minutes": "300",
            "x-codex-primary-reset-at": str(resets_at),
        },
    )


def usage_object(input_tokens: int, output_tokens: int, cached: int = 0) -> JSON:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
