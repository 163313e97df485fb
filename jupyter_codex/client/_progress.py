"""Progress reports from inside a tool call: :func:`report_progress`.

The tool host marks the task that runs a call (a context variable); the tool's
own code, on that task, on a worker thread (``asyncio.to_thread`` copies the
context) or on a kernel's main thread (:func:`carry`), reports through it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: The server's cap on one progress message (longer ones are cut here, not refused).
MAX_PROGRESS_CHARS = 10_000


class ProgressSink(Protocol):
    """What sends the reports: the tool host."""

    def send_progress(self, call_id: str, message: str) -> Coroutine[Any, Any, None]: ...


@dataclass
class RunningCall:
    """The tool call the current task or thread runs for."""

    sink: ProgressSink
    call_id: str
    loop: asyncio.AbstractEventLoop
    #: Reports on their way; the host awaits them before it sends the call's result.
    sent: list[concurrent.futures.Future[None]] = field(default_factory=list)


running_call: contextvars.ContextVar[RunningCall | None] = contextvars.ContextVar(
    "jupyter_codex_tool_call", default=None
)


def report_progress(message: str) -> bool:
    """Show ``message`` in the session's timeline while a tool the model called runs
    (``tool_call.progress``), e.g. ``report_progress(f"epoch {i}/10")``.

    Call it from the tool's own code, sync or async, on any thread. Returns False
    (and does nothing) outside a tool call. Messages arrive in order, before the
    call's result; a lost connection drops them, never the result.
    """
    call = running_call.get()
    if call is None:
        return False
    coro = call.sink.send_progress(call.call_id, str(message)[:MAX_PROGRESS_CHARS])
    call.sent.append(asyncio.run_coroutine_threadsafe(coro, call.loop))
    return True


def carry(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` for a runner that calls it in another context (a kernel's main thread, in
    the running cell's context): the current tool call goes along, nothing else."""
    call = running_call.get()
    if call is None:
        return fn

    def with_call() -> T:
        token = running_call.set(call)
        try:
            return fn()
        finally:
            running_call.reset(token)

    return with_call


__all__ = ["MAX_PROGRESS_CHARS", "RunningCall", "carry", "report_progress", "running_call"]
