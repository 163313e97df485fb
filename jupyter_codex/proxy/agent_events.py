"""Workspace events of one agent turn -> Responses API stream events.

Agent mode runs a real Codex turn; its workspace events (documented in
``docs/websocket.md``) are turned into the same Responses events an upstream
model stream carries, so the dialect adapters that serve direct mode (chat
completions, Anthropic Messages, Responses) serve agent mode unchanged. Agent
messages become ``message`` output items, reasoning summaries ``reasoning``
items; commands and file changes stay in the workspace timeline (the client
asked for an answer, not a transcript of the agent's tools).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

#: token_usage keys -> Responses usage fields
_USAGE_KEYS = ("input", "cached_input", "cache_write_input", "output", "reasoning_output")


@dataclass
class _Item:
    index: int
    kind: str  # "message" | "reasoning"
    id: str
    text: list[str] = field(default_factory=list)
    done: bool = False


class AgentTurnTranslator:
    """Feeds on workspace event envelopes, yields Responses events.

    :meth:`feed` returns the events for one envelope; :attr:`finished` turns
    true with the turn's ``turn.completed``, after which the terminal
    ``response.completed`` / ``response.failed`` has been returned.
    """

    def __init__(self, model: str, *, response_id: str | None = None) -> None:
        self.model = model
        self.response_id = response_id or f"resp_agent_{uuid.uuid4().hex}"
        self.created_at = int(time.time())
        self.finished = False
        self.turn_id: str | None = None
        self.usage_totals = dict.fromkeys(_USAGE_KEYS, 0)
        self._items: dict[str, _Item] = {}
        self._started = False

    # -- output ----------------------------------------------------------------------

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "model": self.model,
            "status": status,
            "output": [self._item_body(i) for i in self._items.values()],
            **extra,
        }

    def _item_body(self, item: _Item) -> dict[str, Any]:
        text = "".join(item.text)
        if item.kind == "reasoning":
            summary = [{"type": "summary_text", "text": text}] if text else []
            return {"type": "reasoning", "id": item.id, "summary": summary}
        return {
            "type": "message",
            "id": item.id,
            "role": "assistant",
            "status": "completed" if item.done else "in_progress",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }

    def usage(self) -> dict[str, Any]:
        """The turn's tokens (every model call of the turn added up) as Responses usage."""
        u = self.usage_totals
        return {
            "input_tokens": u["input"],
            "input_tokens_details": {
                "cached_tokens": u["cached_input"],
                "cache_write_tokens": u["cache_write_input"],
            },
            "output_tokens": u["output"],
            "output_tokens_details": {"reasoning_tokens": u["reasoning_output"]},
            "total_tokens": u["input"] + u["output"],
        }

    def start(self) -> list[dict[str, Any]]:
        """``response.created`` (once)."""
        if self._started:
            return []
        self._started = True
        return [{"type": "response.created", "response": self._response("in_progress")}]

    # -- input -----------------------------------------------------------------------

    def _open(self, key: str, kind: str) -> tuple[_Item, list[dict[str, Any]]]:
        item = self._items.get(key)
        if item is not None:
            return item, []
        prefix = "msg" if kind == "message" else "rs"
        item = _Item(len(self._items), kind, f"{prefix}_{uuid.uuid4().hex[:24]}")
        self._items[key] = item
        if kind == "message":
            body: dict[str, Any] = {
                "type": "message",
                "id": item.id,
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            events = [
                {"type": "response.output_item.added", "output_index": item.index, "item": body}
            ]
            events.append(
                {
                    "type": "response.content_part.added",
                    "item_id": item.id,
                    "output_index": item.index,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                }
            )
            return item, events
        body = {"type": "reasoning", "id": item.id, "summary": []}
        return item, [
            {"type": "response.output_item.added", "output_index": item.index, "item": body},
            {
                "type": "response.reasoning_summary_part.added",
                "item_id": item.id,
                "output_index": item.index,
                "summary_index": 0,
                "part": {"type": "summary_text", "text": ""},
            },
        ]

    def _delta(self, key: str, kind: str, delta: str) -> list[dict[str, Any]]:
        item, events = self._open(key, kind)
        if not delta or item.done:
            return events
        item.text.append(delta)
        if kind == "message":
            events.append(
                {
                    "type": "response.output_text.delta",
                    "item_id": item.id,
                    "output_index": item.index,
                    "content_index": 0,
                    "delta": delta,
                }
            )
        else:
            events.append(
                {
                    "type": "response.reasoning_summary_text.delta",
                    "item_id": item.id,
                    "output_index": item.index,
                    "summary_index": 0,
                    "delta": delta,
                }
            )
        return events

    def _done(self, key: str, kind: str, final: str | None) -> list[dict[str, Any]]:
        item, events = self._open(key, kind)
        if item.done:
            return events
        streamed = "".join(item.text)
        if final is not None and final != streamed:
            # The authoritative text wins; send what the deltas did not cover.
            if final.startswith(streamed):
                events += self._delta(key, kind, final[len(streamed) :])
            item.text = [final]
        item.done = True
        text = "".join(item.text)
        if kind == "message":
            events.append(
                {
                    "type": "response.output_text.done",
                    "item_id": item.id,
                    "output_index": item.index,
                    "content_index": 0,
                    "text": text,
                }
            )
        events.append(
            {
                "type": "response.output_item.done",
                "output_index": item.index,
                "item": self._item_body(item),
            }
        )
        return events

    def _close_open_items(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for key, item in list(self._items.items()):
            if not item.done:
                events += self._done(key, item.kind, None)
        return events

    def feed(self, envelope: dict[str, Any]) -> list[dict[str, Any]]:
        """The Responses events for one workspace event of this turn."""
        if self.finished:
            return []
        kind = envelope.get("type")
        data = envelope.get("data") or {}
        key = str(envelope.get("item_id") or "")
        events = self.start()
        if kind == "turn.started":
            self.turn_id = envelope.get("turn_id") or self.turn_id
        elif kind == "assistant.delta":
            events += self._delta("m:" + key, "message", str(data.get("delta") or ""))
        elif kind == "assistant.message":
            text = data.get("text")
            events += self._done("m:" + key, "message", text if isinstance(text, str) else None)
        elif kind == "reasoning.delta" and not data.get("raw"):
            events += self._delta("r:" + key, "reasoning", str(data.get("delta") or ""))
        elif kind == "reasoning.summary":
            summary = data.get("summary")
            final = "\n\n".join(s for s in summary if isinstance(s, str)) if summary else None
            if final or "r:" + key in self._items:
                events += self._done("r:" + key, "reasoning", final)
        elif kind == "token_usage":
            last = data.get("last") or {}
            for name in _USAGE_KEYS:
                value = last.get(name)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    self.usage_totals[name] += value
        elif kind == "turn.completed":
            events += self._close_open_items()
            events.append(self._terminal(data))
            self.finished = True
        return events

    def fail(self, message: str, code: str) -> list[dict[str, Any]]:
        """End the turn's stream with a failure that did not come from the turn itself."""
        if self.finished:
            return []
        self.finished = True
        error = {"code": code, "message": message}
        return [
            *self.start(),
            *self._close_open_items(),
            {"type": "response.failed", "response": self._response("failed", error=error)},
        ]

    def _terminal(self, data: dict[str, Any]) -> dict[str, Any]:
        status = data.get("status")
        if status == "completed":
            return {
                "type": "response.completed",
                "response": self._response("completed", usage=self.usage()),
            }
        error = data.get("error") or {}
        if status == "interrupted":
            message, code = "The agent turn was stopped before it finished.", "turn_interrupted"
        else:
            message = str(error.get("message") or "The agent turn failed.")
            code = str(error.get("code") or "agent_turn_failed")
        return {
            "type": "response.failed",
            "response": self._response(
                "failed", error={"code": code, "message": message}, usage=self.usage()
            ),
        }


__all__ = ["AgentTurnTranslator"]
