"""An approval prompt: what Codex wants to do, and three buttons.

The prompt owns a future that the first click resolves; ``%codex`` awaits it
(and stops waiting if the approval is decided elsewhere or expires), so the
turn really waits for the person in front of the notebook.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..blocks import bare_command, diff_stats
from ..render import event_data

#: Button label → decision sent to the server.
CHOICES: tuple[tuple[str, str, str], ...] = (
    ("Accept", "accept", "success"),
    ("Accept for session", "acceptForSession", "info"),
    ("Decline", "decline", "danger"),
)


def _field(approval: Any, name: str) -> Any:
    if isinstance(approval, dict):
        return approval.get(name)
    return getattr(approval, name, None)


def describe_approval(approval: Any) -> str:
    """HTML summary of an approval request: the command or the files, and why."""
    kind = str(_field(approval, "kind") or "command")
    parts: list[str] = []
    command = _field(approval, "command")
    if command:
        parts.append(f"<b>Run</b> <code>{html.escape(bare_command(str(command)))}</code>")
    changes = _field(approval, "changes") or []
    for change in changes:
        added, removed = diff_stats(str(change.get("diff") or ""), str(change.get("kind")))
        path = html.escape(str(change.get("path") or "?"))
        parts.append(
            f"<b>{html.escape(str(change.get('kind') or 'edit'))}</b> "
            f"<code>{path}</code> +{added} −{removed}"
        )
    if not parts:
        parts.append(f"<b>{html.escape(kind.replace('_', ' '))}</b>")
    cwd = _field(approval, "cwd")
    if cwd:
        parts.append(f"<span style='opacity:.7'>in {html.escape(str(cwd))}</span>")
    reason = _field(approval, "reason")
    if reason:
        parts.append(f"<i>{html.escape(str(reason))}</i>")
    return "<br>".join(parts)


class ApprovalPrompt(widgets.VBox):  # type: ignore[misc]
    """Accept / Accept for session / Decline for one pending approval."""

    def __init__(
        self, approval: Any, on_decide: Callable[[str], Any] | None = None, **kwargs: Any
    ) -> None:
        self.approval = approval
        self.on_decide = on_decide
        self.approval_id = str(_field(approval, "id") or "")
        self.decision: str | None = None
        self._future: asyncio.Future[str] | None = None
        try:
            self._future = asyncio.get_running_loop().create_future()
        except RuntimeError:
            self._future = None
        expires = _field(approval, "expires_at")
        left = ""
        if isinstance(expires, (int, float)):
            minutes = max(0, round((expires - time.time()) / 60))
            left = f" (declined automatically in about {minutes} min)"
        self.title = widgets.HTML(f"<b>Codex asks for approval</b>{left}")
        self.body = widgets.HTML(describe_approval(approval))
        self.buttons = [
            widgets.Button(description=label, button_style=style, tooltip=decision)
            for label, decision, style in CHOICES
        ]
        for button, (_, decision, _) in zip(self.buttons, CHOICES, strict=True):
            button.on_click(lambda _b, d=decision: self.choose(d))
        self.result = widgets.HTML("")
        super().__init__(
            [self.title, self.body, widgets.HBox(self.buttons), self.result],
            layout=widgets.Layout(border="1px solid #d0a000", padding="4px 8px", margin="4px 0"),
            **kwargs,
        )
        self.add_class("jp-codex-approval")

    @classmethod
    def from_event(cls, event: Any) -> ApprovalPrompt:
        return cls(event_data(event))

    def choose(self, decision: str) -> None:
        """What a click does: record the decision once and wake up the waiter."""
        if self.decision is not None:
            return
        self.close_with(decision)
        if self._future is not None and not self._future.done():
            self._future.set_result(decision)
        if self.on_decide is not None:
            self.on_decide(decision)

    def close_with(self, decision: str, note: str = "") -> None:
        """Disable the buttons and show the outcome (also for decisions made elsewhere)."""
        self.decision = self.decision or decision
        for button in self.buttons:
            button.disabled = True
        self.result.value = f"<b>{html.escape(decision)}</b>{html.escape(note)}"

    async def wait(self) -> str:
        """The decision, once somebody clicks."""
        if self._future is None:
            raise RuntimeError("ApprovalPrompt.wait() needs the prompt built on a running loop")
        return await self._future


__all__ = ["CHOICES", "ApprovalPrompt", "describe_approval"]
