"""Turn a session's event stream into one compact, live-updating cell output.

A :class:`Timeline` folds events (``docs/websocket.md``) into ordered blocks:
the reply as Markdown, each command as one line with its exit code, each file
change as a path with ``+added −removed``. :class:`LiveDisplay` shows it with a
``display_id`` and updates that one output in place (``update_display_data``),
at most every ``interval`` seconds, so a long reply does not flood the frontend.
The chat widget renders the same timeline into an ``Output`` widget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .blocks import Block, error_text, markdown_block, plain_block


def event_data(event: Any) -> dict[str, Any]:
    """An event's ``data`` as a plain dict, whether the event is typed or raw JSON."""
    data = event.get("data") if isinstance(event, dict) else getattr(event, "data", None)
    if data is None:
        return {}
    if isinstance(data, dict):
        return data
    dump = getattr(data, "model_dump", None)
    return dump() if callable(dump) else dict(data)


def event_field(event: Any, name: str) -> Any:
    return event.get(name) if isinstance(event, dict) else getattr(event, name, None)


class Timeline:
    """The blocks of one turn (or a whole session, for the chat widget)."""

    def __init__(
        self,
        turn_id: str | None = None,
        *,
        show_user: bool = False,
        footer: bool = True,
        code: bool = False,
    ) -> None:
        self.turn_id = turn_id
        self.show_user = show_user
        self.footer = footer
        #: ``--format code``: replies are shown as Python code.
        self.code = code
        self.blocks: dict[str, Block] = {}
        self.status: str | None = None  # None while running, then the turn's status
        self.error: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self._anonymous = 0

    # -- folding events ---------------------------------------------------------------

    def _key(self, event: Any, kind: str) -> str:
        item = event_field(event, "item_id")
        if item:
            return f"{kind}:{item}"
        self._anonymous += 1
        return f"{kind}:#{self._anonymous}"

    def _block(self, key: str, kind: str) -> Block:
        if key not in self.blocks:
            self.blocks[key] = Block(kind)
        return self.blocks[key]

    def add(self, event: Any) -> bool:
        """Fold one event in; ``True`` when the rendering changed."""
        etype = str(event_field(event, "type") or "")
        turn = event_field(event, "turn_id")
        if self.turn_id and turn and turn != self.turn_id:
            return False
        data = event_data(event)
        handler = _HANDLERS.get(etype)
        if handler is None:
            return False
        return handler(self, event, data)

    def _assistant(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "assistant"), "assistant")
        if event_field(event, "type") == "assistant.delta":
            block.text += str(data.get("delta") or "")
        else:
            block.text = str(data.get("text") or block.text)
            block.done = True
        return True

    def _user(self, event: Any, data: dict[str, Any]) -> bool:
        if not self.show_user:
            return False
        block = self._block(self._key(event, "user"), "user")
        block.text = str(data.get("text") or "")
        return True

    def _reasoning(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "reasoning"), "reasoning")
        if event_field(event, "type") == "reasoning.summary":
            summary = data.get("summary") or []
            block.text = " ".join(str(s) for s in summary).strip() or block.text
            block.done = True
        elif not data.get("raw"):
            block.text += str(data.get("delta") or "")
        return True

    def _command(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "command"), "command")
        block.data.update({k: v for k, v in data.items() if v is not None})
        block.done = event_field(event, "type") == "command.completed"
        return True

    def _file_change(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "file"), "file_change")
        if data.get("changes"):
            block.data["changes"] = data["changes"]
        if data.get("status"):
            block.data["status"] = data["status"]
        block.done = event_field(event, "type") == "file_change.completed"
        return True

    def _tool(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "tool"), "tool")
        block.data.update({k: v for k, v in data.items() if v is not None})
        block.done = event_field(event, "type") == "tool_call.completed"
        return True

    def _plan(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block("plan", "plan")
        block.data = data
        return True

    def _approval(self, event: Any, data: dict[str, Any]) -> bool:
        approval_id = str(data.get("id") or event_field(event, "item_id") or "")
        block = self._block(f"approval:{approval_id}", "approval")
        if event_field(event, "type") == "approval.requested":
            block.data.update(data)
        else:
            block.data["decision"] = data.get("decision") or "decided"
            block.done = True
        return True

    def _error(self, event: Any, data: dict[str, Any]) -> bool:
        block = self._block(self._key(event, "error"), "error")
        block.text = str(data.get("message") or "error")
        block.data = data
        return True

    def _turn_completed(self, event: Any, data: dict[str, Any]) -> bool:
        self.status = str(data.get("status") or "completed")
        error = data.get("error")
        self.error = error if isinstance(error, dict) else None
        return True

    def _usage(self, event: Any, data: dict[str, Any]) -> bool:
        self.usage = data
        return False

    # -- results ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.status is None

    @property
    def final_text(self) -> str:
        """The last agent message (the answer, after any commentary)."""
        texts = [b.text for b in self.blocks.values() if b.kind == "assistant" and b.text]
        return texts[-1] if texts else ""

    # -- rendering ------------------------------------------------------------------------

    def markdown(self) -> str:
        parts = [p for p in (markdown_block(b, self.code) for b in self.blocks.values()) if p]
        if not self.footer:
            pass
        elif self.running:
            parts.append("*Working… (interrupt the kernel to stop)*")
        elif self.status == "interrupted":
            parts.append("*Stopped.*")
        elif self.status == "failed":
            parts.append(f"**Failed:** {self._failure()}")
        return "\n\n".join(parts)

    def plain(self) -> str:
        parts = [p for p in (plain_block(b) for b in self.blocks.values()) if p]
        if not self.footer:
            pass
        elif self.running:
            parts.append("Working… (interrupt the kernel to stop)")
        elif self.status == "interrupted":
            parts.append("Stopped.")
        elif self.status == "failed":
            parts.append(f"Failed: {self._failure()}")
        return "\n\n".join(parts)

    def _failure(self) -> str:
        """Why the turn failed, unless an error line above already says it."""
        message = str((self.error or {}).get("message") or "")
        shown = any(b.kind == "error" and b.text == message for b in self.blocks.values())
        return "see above." if message and shown else error_text(self.error)

    def bundle(self, output_format: str = "markdown") -> dict[str, str]:
        """A MIME bundle: Markdown for notebooks, plain text for terminals and logs."""
        if output_format == "text":
            return {"text/plain": self.plain()}
        return {"text/markdown": self.markdown(), "text/plain": self.plain()}


_HANDLERS: dict[str, Callable[[Timeline, Any, dict[str, Any]], bool]] = {
    "assistant.delta": Timeline._assistant,
    "assistant.message": Timeline._assistant,
    "user.message": Timeline._user,
    "reasoning.delta": Timeline._reasoning,
    "reasoning.summary": Timeline._reasoning,
    "command.started": Timeline._command,
    "command.completed": Timeline._command,
    "file_change.started": Timeline._file_change,
    "file_change.updated": Timeline._file_change,
    "file_change.completed": Timeline._file_change,
    "tool_call.started": Timeline._tool,
    "tool_call.completed": Timeline._tool,
    "plan.updated": Timeline._plan,
    "approval.requested": Timeline._approval,
    "approval.resolved": Timeline._approval,
    "error": Timeline._error,
    "turn.completed": Timeline._turn_completed,
    "token_usage": Timeline._usage,
}


class LiveDisplay:
    """One cell output that follows a :class:`Timeline` (``display_id`` updates).

    Updates are throttled to one per ``interval``; a change that arrives too soon
    is shown by :meth:`tick`, called by a timer on the running loop (``timer=True``)
    or by whoever waits for the turn.
    """

    def __init__(
        self,
        timeline: Timeline,
        output_format: str = "markdown",
        *,
        interval: float = 0.1,
        timer: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeline = timeline
        self.output_format = output_format
        self.interval = interval
        self.timer = timer
        self._clock = clock
        self._handle: Any = None
        self._last = 0.0
        self._dirty = False
        self._pending: Any = None

    def show(self) -> None:
        """Show the output now (``display_data``); later calls update it."""
        from IPython.display import display

        self._handle = display(self.timeline.bundle(self.output_format), raw=True, display_id=True)
        self._last = self._clock()

    def add(self, event: Any) -> None:
        """Fold an event in; refresh now, or soon if the last refresh was too recent."""
        if self.timeline.add(event):
            self._dirty = True
        if not self._dirty:
            return
        wait = self.interval - (self._clock() - self._last)
        if wait <= 0:
            self.refresh()
        elif self.timer and self._pending is None:
            import asyncio

            self._pending = asyncio.get_running_loop().call_later(wait, self.tick)

    def tick(self) -> None:
        """Show a pending change once the interval has passed."""
        self._pending = None
        if self._dirty and self._clock() - self._last >= self.interval:
            self.refresh()

    def refresh(self) -> None:
        """Update the output now (``update_display_data``)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._handle is None:
            self.show()
            return
        self._handle.update(self.timeline.bundle(self.output_format), raw=True)
        self._last = self._clock()
        self._dirty = False


__all__ = ["LiveDisplay", "Timeline", "event_data", "event_field"]
