"""A chat with a Codex session inside any notebook: timeline, input, approvals.

The widget follows the session's event stream on the kernel's event loop
(replayed from the start, then live), renders it with the same
:class:`~jupyter_codex.kernel.render.Timeline` as ``%codex``, and shows an
:class:`ApprovalPrompt` for each pending approval. Sending, stopping and
deciding go through the server's REST API, so the panel and other clients see
the same conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from typing import Any

import ipywidgets as widgets

from ...errors import CodexError
from .._client import AsyncCodexClient, approval_reply
from .._events import ApprovalData
from ..connection import get_connection
from ..render import Timeline, event_data, event_field
from ..sessions import SessionBook, SessionRequest, shared_book
from .approval import ApprovalPrompt


class ChatWidget(widgets.VBox):  # type: ignore[misc]
    """``ChatWidget()`` chats in the notebook's session; ``ChatWidget(session="NAME|ID")``
    in another. Type, press *Send*; *Stop* interrupts the running turn."""

    def __init__(
        self,
        session: str | None = None,
        *,
        cwd: str | None = None,
        client: AsyncCodexClient | None = None,
        book: SessionBook | None = None,
        interval: float = 0.15,
        **kwargs: Any,
    ) -> None:
        self._client = client
        self._book = book or shared_book()
        self._request = SessionRequest(name=session, cwd=cwd)
        self.session_id: str | None = None
        self.timeline = Timeline(show_user=True, footer=False)
        self.interval = interval
        #: Set when the turn this widget sent last has completed.
        self.turn_done = asyncio.Event()
        self._turn_id: str | None = None
        self._completed: set[str] = set()
        self.approvals: dict[str, ApprovalPrompt] = {}
        self._last_push = 0.0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Future[Any] | None = None

        self.header = widgets.HTML("<b>Codex</b> <span style='opacity:.7'>connecting…</span>")
        self.output = widgets.Output(layout=widgets.Layout(max_height="480px", overflow="auto"))
        self.approval_box = widgets.VBox([])
        self.input = widgets.Textarea(
            placeholder="Ask Codex… (Send runs a turn in this session)",
            layout=widgets.Layout(width="100%", height="72px"),
        )
        self.send_button = widgets.Button(description="Send", button_style="primary")
        self.stop_button = widgets.Button(description="Stop", button_style="warning")
        self.status = widgets.HTML("")
        self.send_button.on_click(lambda _b: self.submit())
        self.stop_button.on_click(lambda _b: self._spawn(self._stop_turn()))
        super().__init__(
            [
                self.header,
                self.output,
                self.approval_box,
                self.input,
                widgets.HBox([self.send_button, self.stop_button, self.status]),
            ],
            **kwargs,
        )
        self.add_class("jp-codex-chat")
        self._task = self._spawn(self._follow())

    # -- plumbing ------------------------------------------------------------------

    @property
    def client(self) -> AsyncCodexClient:
        if self._client is None:
            self._client = get_connection().async_client()
        return self._client

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        task.add_done_callback(self._report)
        return task

    def _report(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            message = error.message if isinstance(error, CodexError) else repr(error)
            self.status.value = f"<span style='color:#c00'>{html.escape(message)}</span>"

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        super().close()

    # -- the stream ------------------------------------------------------------------

    async def _session(self) -> str:
        if self.session_id is None:
            session = await self._book.resolve(self.client, self._request)
            self.session_id = session.id
            self.header.value = (
                f"<b>Codex</b> · {html.escape(session.title)} "
                f"<span style='opacity:.7'>({html.escape(session.cwd or '/')}, "
                f"{session.id[:8]})</span>"
            )
        return self.session_id

    async def _follow(self) -> None:
        session_id = await self._session()
        for approval in await self.client.approvals(session_id):
            self._show_approval(approval.model_dump())
        async for event in self.client.events(session_id, after=0):
            self._on_event(event)

    def _on_event(self, event: Any) -> None:
        etype = event_field(event, "type")
        changed = self.timeline.add(event)
        if etype == "turn.completed":
            self._completed.add(str(event_field(event, "turn_id")))
            if event_field(event, "turn_id") == self._turn_id:
                self.turn_done.set()
            status = event_data(event).get("status")
            error = event_data(event).get("error") or {}
            self.status.value = (
                ""
                if status == "completed"
                else f"<span style='color:#c00'>{html.escape(str(status))}: "
                f"{html.escape(str(error.get('message') or ''))}</span>"
            )
        elif etype == "approval.requested":
            self._show_approval(event_data(event))
        elif etype == "approval.resolved":
            data = event_data(event)
            prompt = self.approvals.pop(str(data.get("id")), None)
            if prompt is not None:
                prompt.close_with(str(data.get("decision") or "decided"))
                self.approval_box.children = tuple(self.approvals.values())
        if etype == "turn.completed":
            self.push()  # the end of a turn is shown at once
        elif changed:
            self._schedule_push()

    def _show_approval(self, approval: dict[str, Any]) -> None:
        approval_id = str(approval.get("id") or "")
        if not approval_id or approval_id in self.approvals:
            return

        def decide(value: Any) -> None:
            decision, answer = approval_reply(ApprovalData.model_validate(approval), value)
            self._spawn(self.client.decide(approval_id, decision, **answer))

        self.approvals[approval_id] = ApprovalPrompt(approval, on_decide=decide)
        self.approval_box.children = tuple(self.approvals.values())

    def _schedule_push(self) -> None:
        now = time.monotonic()
        if now - self._last_push >= self.interval:
            self.push()
        elif self._flush_handle is None:
            loop = asyncio.get_running_loop()
            delay = self.interval - (now - self._last_push)
            self._flush_handle = loop.call_later(delay, self.push)

    def push(self) -> None:
        """Render the timeline into the output area now."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = None
        self._last_push = time.monotonic()
        bundle = self.timeline.bundle()
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    # -- actions -------------------------------------------------------------------

    def submit(self, text: str | None = None) -> None:
        """Send ``text`` (default: the input box) as a new turn."""
        message = (text if text is not None else self.input.value).strip()
        if not message:
            return
        self.input.value = ""
        self._spawn(self._send_message(message))

    async def _send_message(self, text: str) -> None:
        session_id = await self._session()
        self.status.value = "<span style='opacity:.7'>sending…</span>"
        self.turn_done.clear()
        self._turn_id = await self.client.send(session_id, text)
        if self._turn_id in self._completed:
            self.turn_done.set()
        self.status.value = ""

    async def _stop_turn(self) -> None:
        if self.session_id is not None:
            with contextlib.suppress(CodexError):
                await self.client.stop(self.session_id)


__all__ = ["ChatWidget"]
