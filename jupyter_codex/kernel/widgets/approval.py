"""An approval prompt: what Codex wants to do, and three buttons.

The prompt owns a future that the first click resolves; ``%codex`` awaits it
(and stops waiting if the approval is decided elsewhere or expires), so the
turn really waits for the person in front of the notebook.

A question (``user_input``) shows each question with its options and a text box
(masked for secret questions); an MCP form (``elicitation``) shows one field per
property of its schema. Their Submit resolves the future with the answers dict
(question id → answers, or the form's content) that ``on_approval`` may return.
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


def _question_rows(approval: Any) -> list[tuple[str, Any, Callable[[], list[str]]]]:
    """One (question id, widget, read answers) per question of a user-input request."""
    rows: list[tuple[str, Any, Callable[[], list[str]]]] = []
    for q in _field(approval, "questions") or []:
        q = q if isinstance(q, dict) else q.model_dump()
        label = html.escape(str(q.get("header") or ""))
        title = widgets.HTML(f"<b>{label}</b> {html.escape(str(q.get('question') or ''))}")
        options = [str(o.get("label")) for o in q.get("options") or []]
        choice = (
            widgets.RadioButtons(options=options, value=None, layout={"width": "max-content"})
            if options
            else None
        )
        free = None
        if q.get("is_other") or not options:
            box = widgets.Password if q.get("is_secret") else widgets.Text
            free = box(placeholder="Other answer" if options else "Your answer")

        def read(choice: Any = choice, free: Any = free) -> list[str]:
            if free is not None and str(free.value).strip():
                return [str(free.value)]
            return [str(choice.value)] if choice is not None and choice.value else []

        parts = [title, *(w for w in (choice, free) if w is not None)]
        rows.append((str(q.get("id")), widgets.VBox(parts), read))
    return rows


def _reader(w: Any) -> Callable[[], Any]:
    return lambda: w.value


def _form_rows(approval: Any) -> list[tuple[str, Any, Callable[[], Any]]]:
    """One (field name, widget, read value) per property of an elicitation's schema."""
    form = _field(approval, "form") or {}
    form = form if isinstance(form, dict) else form.model_dump(by_alias=True)
    schema = form.get("schema") or {}
    rows: list[tuple[str, Any, Callable[[], Any]]] = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type")
        label = str(prop.get("title") or name)
        w: Any
        if prop.get("enum"):
            w = widgets.Dropdown(options=list(prop["enum"]), value=None, description=label)
        elif kind == "boolean":
            w = widgets.Checkbox(value=bool(prop.get("default", False)), description=label)
        elif kind == "integer":
            w = widgets.IntText(value=prop.get("default") or 0, description=label)
        elif kind == "number":
            w = widgets.FloatText(value=prop.get("default") or 0.0, description=label)
        else:
            w = widgets.Text(value=str(prop.get("default") or ""), description=label)
        rows.append((str(name), w, _reader(w)))
    return rows


def describe_approval(approval: Any) -> str:
    """HTML summary of an approval request: the command or the files, and why."""
    kind = str(_field(approval, "kind") or "command")
    parts: list[str] = []
    command = _field(approval, "command")
    if command and kind == "notebook_run":  # the command is the cell's source
        parts.append(
            "<b>Run this cell</b><pre style='margin:4px 0;white-space:pre-wrap'>"
            f"{html.escape(str(command))}</pre>"
        )
    elif command:
        parts.append(f"<b>Run</b> <code>{html.escape(bare_command(str(command)))}</code>")
    changes = _field(approval, "changes") or []
    for change in changes:
        added, removed = diff_stats(str(change.get("diff") or ""), str(change.get("kind")))
        path = html.escape(str(change.get("path") or "?"))
        parts.append(
            f"<b>{html.escape(str(change.get('kind') or 'edit'))}</b> "
            f"<code>{path}</code> +{added} −{removed}"
        )
    form = _field(approval, "form")
    if form:
        form = form if isinstance(form, dict) else form.model_dump(by_alias=True)
        server = html.escape(str(form.get("server") or "an MCP server"))
        parts.append(f"<b>{server}</b> asks: {html.escape(str(form.get('message') or ''))}")
        if form.get("url"):
            url = html.escape(str(form["url"]))
            parts.append(f"<a href='{url}' target='_blank' rel='noopener'>{url}</a>")
    if not parts and not _field(approval, "questions"):
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
        self, approval: Any, on_decide: Callable[[Any], Any] | None = None, **kwargs: Any
    ) -> None:
        self.approval = approval
        self.on_decide = on_decide
        self.approval_id = str(_field(approval, "id") or "")
        self.decision: str | None = None
        self._future: asyncio.Future[Any] | None = None
        try:
            self._future = asyncio.get_running_loop().create_future()
        except RuntimeError:
            self._future = None
        expires = _field(approval, "expires_at")
        left = ""
        if isinstance(expires, (int, float)):
            minutes = max(0, round((expires - time.time()) / 60))
            left = f" (declined automatically in about {minutes} min)"
        kind = _field(approval, "kind")
        asks = kind in ("user_input", "elicitation")
        heading = "Codex asks you" if asks else "Codex asks for approval"
        self.title = widgets.HTML(f"<b>{heading}</b>{left}")
        self.body = widgets.HTML(describe_approval(approval))
        self.fields: list[tuple[str, Any, Callable[[], Any]]] = (
            list(_question_rows(approval))
            if kind == "user_input"
            else list(_form_rows(approval))
            if kind == "elicitation"
            else []
        )
        if asks:
            self.buttons = [
                widgets.Button(description="Submit", button_style="success", tooltip="accept"),
                widgets.Button(description="Decline", button_style="danger", tooltip="decline"),
            ]
            self.buttons[0].on_click(lambda _b: self.submit())
            self.buttons[1].on_click(lambda _b: self.choose("decline"))
        else:
            self.buttons = [
                widgets.Button(description=label, button_style=style, tooltip=decision)
                for label, decision, style in CHOICES
            ]
            for button, (_, decision, _) in zip(self.buttons, CHOICES, strict=True):
                button.on_click(lambda _b, d=decision: self.choose(d))
        self.result = widgets.HTML("")
        super().__init__(
            [
                self.title,
                self.body,
                *(w for _, w, _ in self.fields),
                widgets.HBox(self.buttons),
                self.result,
            ],
            layout=widgets.Layout(border="1px solid #d0a000", padding="4px 8px", margin="4px 0"),
            **kwargs,
        )
        self.add_class("jp-codex-approval")

    @classmethod
    def from_event(cls, event: Any) -> ApprovalPrompt:
        return cls(event_data(event))

    def answers(self) -> dict[str, Any]:
        """What the fields hold: question id → answers, or the form's content."""
        values = {name: read() for name, _, read in self.fields}
        if _field(self.approval, "kind") == "user_input":
            return {k: v for k, v in values.items() if v}
        return values

    def submit(self) -> None:
        """Submit: the answers (or the form's content) accept the request."""
        answers = self.answers()
        if _field(self.approval, "kind") == "user_input" and not answers:
            self.result.value = "<i>Pick or type an answer first.</i>"
            return
        self.choose(answers)

    def choose(self, decision: Any) -> None:
        """What a click does: record the decision (a decision string, or the answers
        dict of a question or form) once and wake up the waiter."""
        if self.decision is not None:
            return
        self.close_with("accept" if isinstance(decision, dict) else decision)
        if self._future is not None and not self._future.done():
            self._future.set_result(decision)
        if self.on_decide is not None:
            self.on_decide(decision)

    def close_with(self, decision: str, note: str = "") -> None:
        """Disable the buttons and show the outcome (also for decisions made elsewhere)."""
        self.decision = self.decision or decision
        for button in self.buttons:
            button.disabled = True
        for _, w, _ in self.fields:
            for child in getattr(w, "children", None) or (w,):
                child.disabled = True
        self.result.value = f"<b>{html.escape(decision)}</b>{html.escape(note)}"

    async def wait(self) -> Any:
        """The decision (or the answers dict), once somebody clicks."""
        if self._future is None:
            raise RuntimeError("ApprovalPrompt.wait() needs the prompt built on a running loop")
        return await self._future


__all__ = ["CHOICES", "ApprovalPrompt", "describe_approval"]
