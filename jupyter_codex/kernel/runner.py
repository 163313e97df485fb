"""Run one ``%codex`` turn: stream it into the cell, ask for approvals, stop on interrupt.

Two ways to wait, one coroutine:

* **async** (the usual case in a kernel): the magics rewrite ``%codex`` cells to
  ``await`` (see ``magics.py``), so the turn runs on the kernel's own loop. The
  loop stays free while the turn waits, so a click on an approval button (a
  comm message) is handled *during* the cell (ipykernel >= 7.4), and
  "interrupt kernel" cancels the coroutine, which stops the turn.
* **blocking** (``%codex`` inside a loop or function, or called directly): the
  coroutine runs on the client's private loop thread and hands every display
  call back to the main thread through a queue, so outputs land in the right
  cell; Ctrl-C / "interrupt kernel" raises there and stops the turn.

Notebook tools (``notebook_tools.py``) are served by the turn's client only while
the turn runs; their synchronous functions run on the main thread in both ways:
inline on the kernel's loop, or through the same queue as the display calls.

Without clickable buttons an approval is left to the session's policy and
the panel: the cell prints what is asked and waits until someone decides
(or the server's timeout declines it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..client import ApprovalData, AsyncCodexClient, Tool, TurnResult
from ..errors import CodexError
from .blocks import code_span
from .notebook_tools import refusing, served_by
from .render import LiveDisplay, Timeline
from .sessions import SessionBook, SessionRequest

#: How often a waiting approval checks whether it was decided elsewhere.
APPROVAL_POLL = 1.0


@dataclass
class TurnPlan:
    """Everything a turn needs, prepared on the main thread."""

    text: str
    request: SessionRequest
    output_format: str = "markdown"
    session_id: str | None = None
    display: LiveDisplay | None = None
    notes: list[str] = field(default_factory=list)
    #: The notebook's tools for this turn; ``None`` with ``--no-tools``.
    tools: list[Tool] | None = None
    #: Pictures sent with the prompt (``--image``).
    images: list[bytes] = field(default_factory=list)


#: ``%codex`` turns running in this kernel now (read by the server through a kernel
#: subshell, see :func:`turns_in_progress`).
_turns = 0


def turns_in_progress() -> int:
    """How many ``%codex`` turns this kernel runs now.

    A cell that Codex runs in this notebook during one of them would queue behind
    the ``%codex`` cell, which waits for that very run; the server (and JupyterLab)
    asks this through a kernel subshell (JEP 91) and then runs the cell in the
    subshell: concurrently, in the same namespace (``workspace/notebook_kernel.py``).
    """
    return _turns


#: What the model reads when it calls a notebook tool during a ``--no-tools`` turn.
TOOLS_OFF = "Notebook tools are off for this turn (%codex --no-tools)."


class UiCalls:
    """Where display calls run: directly (async path) or queued to the main thread."""

    def __init__(self, direct: bool) -> None:
        self.direct = direct
        #: The cell's context (ipykernel keeps the cell's message in a context variable,
        #: so output made under it lands in this cell, not in the one that opened the
        #: tool connection).
        self._context = contextvars.copy_context()
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        #: Called on the main thread whenever the queue is idle (throttled displays).
        self.on_idle: Callable[[], None] | None = None

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.direct:
            fn(*args)
        else:
            self._queue.put((fn, args))

    def pump(self, future: concurrent.futures.Future[Any]) -> Any:
        """Run queued calls on this (the main) thread until ``future`` is done."""
        while True:
            try:
                fn, args = self._queue.get(timeout=0.05)
            except queue.Empty:
                if future.done():
                    break
                if self.on_idle is not None:
                    self.on_idle()
                continue
            fn(*args)
        while not self._queue.empty():
            fn, args = self._queue.get_nowait()
            fn(*args)
        return future.result()

    async def run_tool(self, call: Callable[[], Any]) -> Any:
        """Run a notebook tool's function on the main thread and return its result.

        Direct: the caller *is* on the main thread (the kernel's loop), so the call
        runs inline, in the cell's context, and blocks the loop like any cell code
        (an ``async def`` tool runs as a task there). Queued: the main thread runs it
        while it pumps (an async tool's coroutine is then awaited on the client's
        loop); an interrupt there fails the call and then stops the turn as usual.
        """
        if self.direct:
            context = self._context.copy()
            try:
                result = context.run(call)
            except KeyboardInterrupt:
                raise RuntimeError("KeyboardInterrupt: the kernel was interrupted") from None
            if inspect.isawaitable(result):  # an async tool: a task in the cell's context
                return await context.run(asyncio.ensure_future, result)
            return result
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(call())
            except KeyboardInterrupt:
                done.set_exception(RuntimeError("KeyboardInterrupt: the kernel was interrupted"))
                raise
            except Exception as e:  # noqa: BLE001 - the tool's own error, for the model
                done.set_exception(e)

        self._queue.put((run, ()))
        return await asyncio.wrap_future(done)


def approval_line(approval: ApprovalData, reason: str) -> str:
    if approval.kind in ("user_input", "elicitation"):
        return question_lines(approval, reason)
    what = approval.command or approval.reason or approval.kind
    minutes = ""
    if approval.expires_at:
        minutes = f" Undecided, it is declined in about {max(0, round((approval.expires_at - time.time()) / 60))} min."
    return (
        f"Codex asks for approval: {code_span(str(what))} (approval {approval.id}). "
        f"{reason} Decide in the Codex panel, or with "
        f"CodexClient.from_env().decide({approval.id!r}, 'accept') from another kernel.{minutes}"
    )


def question_lines(approval: ApprovalData, reason: str) -> str:
    """A question or form as text, with the exact call that answers it."""
    lines = [f"Codex asks you (request {approval.id}):"]
    example: dict[str, Any] = {}
    for q in approval.questions or []:
        lines.append(f"- {q.header + ': ' if q.header else ''}{q.question} [{q.id}]")
        for option in q.options or []:
            lines.append(
                f"    - {option.label}{' — ' + option.description if option.description else ''}"
            )
        if q.is_secret:
            lines.append("    (a secret answer: type it where nobody watches)")
        example[q.id] = [q.options[0].label] if q.options else ["…"]
    call = f"decide({approval.id!r}, 'accept', answers={example!r})"
    if approval.form is not None:
        lines.append(f"- {approval.form.server or 'an MCP server'}: {approval.form.message}")
        for name, prop in ((approval.form.json_schema or {}).get("properties") or {}).items():
            lines.append(f"    - {name} ({prop.get('type', 'string')})")
        if approval.form.url:
            lines.append(f"    - open {approval.form.url}")
        call = f"decide({approval.id!r}, 'accept', content={{...}})"
    lines.append(f"{reason} Answer in the Codex panel, or with CodexClient.from_env().{call}.")
    return "\n".join(lines)


async def _gone(client: AsyncCodexClient, approval_id: str, session_id: str | None) -> None:
    """Return once the approval is no longer pending (decided elsewhere, expired)."""
    while True:
        pending = await client.approvals(session_id)
        if all(a.id != approval_id for a in pending):
            return
        await asyncio.sleep(APPROVAL_POLL)


class TurnRunner:
    """Resolves the session, sends the prompt and renders the turn as it happens."""

    def __init__(self, book: SessionBook, ui: UiCalls, *, buttons: bool, no_buttons_why: str):
        self.book = book
        self.ui = ui
        self.buttons = buttons
        self.no_buttons_why = no_buttons_why

    async def run(self, client: AsyncCodexClient, plan: TurnPlan) -> TurnResult:
        global _turns
        _turns += 1
        try:
            return await self._run(client, plan)
        finally:
            _turns -= 1

    async def _run(self, client: AsyncCodexClient, plan: TurnPlan) -> TurnResult:
        tools = served_by(plan.tools, self.ui.run_tool) if plan.tools is not None else None
        session = await self.book.resolve(client, plan.request, tools)
        plan.session_id = session.id
        for note in self.book.notes:
            self.ui(print, note)
        self.book.notes.clear()
        if tools is None:  # --no-tools: tools the thread has answer with an error at once
            tools = refusing([t.name for t in session.tools or ()], TOOLS_OFF)
        if tools:
            await client.serve_tools(session.id, tools)
        display = LiveDisplay(
            Timeline(code=plan.output_format == "code"), plan.output_format, timer=self.ui.direct
        )
        plan.display = display
        self.ui.on_idle = display.tick
        self.ui(display.show)
        try:
            return await client.send_and_wait(
                session.id,
                plan.text,
                on_event=lambda event: self.ui(display.add, event),
                on_approval=self._approver(client, session.id),
                images=plan.images,
            )
        finally:
            if tools:
                await client.stop_serving_tools(session.id)
            self.ui(display.refresh)

    def _approver(self, client: AsyncCodexClient, session_id: str) -> Callable[..., Any]:
        async def on_approval(approval: ApprovalData) -> Any:
            if not self.buttons:
                await self._fallback_text(client, approval, session_id)
                return "decline"  # already decided elsewhere: the client ignores the 404
            from IPython.display import display

            from .widgets.approval import ApprovalPrompt

            prompt = ApprovalPrompt(approval)
            display(prompt)
            clicked = asyncio.ensure_future(prompt.wait())
            elsewhere = asyncio.ensure_future(_gone(client, approval.id, session_id))
            try:
                done, _ = await asyncio.wait(
                    {clicked, elsewhere}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                clicked.cancel()
                elsewhere.cancel()
            if clicked in done and not clicked.cancelled():
                return clicked.result()
            prompt.close_with("decided elsewhere")
            return "decline"

        return on_approval

    async def _fallback_text(
        self, client: AsyncCodexClient, approval: ApprovalData, session_id: str
    ) -> None:
        """No buttons possible: say where to decide, until it is decided (then the
        paragraph goes; the timeline shows the decision)."""
        from IPython.display import DisplayHandle

        line = approval_line(approval, self.no_buttons_why)
        handle = DisplayHandle()
        self.ui(functools.partial(handle.display, {"text/plain": line}, raw=True))
        try:
            await _gone(client, approval.id, session_id)
        finally:
            self.ui(functools.partial(handle.update, {"text/plain": ""}, raw=True))


async def stop_turn(client: AsyncCodexClient, session_id: str | None) -> bool:
    """Interrupt the session's running turn; ``True`` if one was running."""
    if session_id is None:
        return False
    try:
        answer = await client.stop(session_id)
    except CodexError:
        return False
    return bool(answer.get("stopped"))


__all__ = [
    "TOOLS_OFF",
    "TurnPlan",
    "TurnRunner",
    "UiCalls",
    "approval_line",
    "stop_turn",
    "turns_in_progress",
]
