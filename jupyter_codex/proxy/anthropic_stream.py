"""Upstream Responses events -> Anthropic Messages SSE events (routers.md §7.5-§7.7).

Claude Code breaks on a delta for a block that is not open, so exactly one
block is open at a time; events of a parallel item are held until the open one
ends. ``message_start`` waits for the first content: a failure that arrives
first then reaches the handler before any byte, so it can still fail over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import TRUNCATED, UpstreamFailure, failure_from_event, stream_error_event_anthropic
from .request_info import AnthropicRequestInfo
from .responses import Usage, as_dict, as_list, output_index, usage_of

Event = tuple[str, dict[str, Any]]


def anthropic_usage(usage: Usage | None) -> dict[str, int]:
    """Messages usage: ``input_tokens`` excludes cache reads and writes, so the three add
    up to the upstream's total prompt (never double counted, routers.md §7.6)."""
    u = usage or Usage()
    return {
        "input_tokens": max(0, u.input_tokens - u.cached_tokens - u.cache_write_tokens),
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cached_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
    }


@dataclass
class _Block:
    item: int  # upstream output index the block belongs to
    data: dict[str, Any]  # the content block as message() returns it
    args: str = ""  # tool_use: argument JSON sent so far (append-only)
    args_done: bool = False


class AnthropicStreamTranslator:
    """Upstream Responses events -> Messages SSE events (and a final Messages response)."""

    def __init__(self, info: AnthropicRequestInfo, *, message_id: str) -> None:
        self.info = info
        self.message_id = message_id
        self.error: UpstreamFailure | None = None
        self.stop_reason: str | None = None
        self._usage: Usage | None = None
        self._content: list[dict[str, Any]] = []
        self._open: _Block | None = None
        self._active: int | None = None  # the item whose events stream now
        self._held: dict[int, list[dict[str, Any]]] = {}  # events of other items, in order
        self._done: set[int] = set()
        self._seen: set[int] = set()
        self._item_ids: dict[str, int] = {}
        self._current = 0
        self._summary: tuple[int, Any] | None = None
        self._started = False
        self._finished = False

    def _message(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.info.model,
            "content": self._content,
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": anthropic_usage(self._usage),
        }

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [
            (
                "message_start",
                {"type": "message_start", "message": {**self._message(), "content": []}},
            )
        ]

    def _close(self) -> list[Event]:
        block, self._open = self._open, None
        if block is None:
            return []
        if block.data["type"] == "tool_use":
            try:
                block.data["input"] = json.loads(block.args) if block.args else {}
            except ValueError:
                block.data["input"] = {}
        return [
            ("content_block_stop", {"type": "content_block_stop", "index": len(self._content) - 1})
        ]

    def _open_block(self, item: int, data: dict[str, Any]) -> list[Event]:
        out = self._start() + self._close()
        self._open = _Block(item, data)
        self._content.append(data)
        start = {
            "type": "content_block_start",
            "index": len(self._content) - 1,
            "content_block": dict(data),
        }
        return [*out, ("content_block_start", start)]

    def _delta(self, delta: dict[str, Any]) -> Event:
        return "content_block_delta", {
            "type": "content_block_delta",
            "index": len(self._content) - 1,
            "delta": delta,
        }

    def _text(self, item: int, kind: str, text: str) -> list[Event]:
        """Append to the open text/thinking block of ``item``, opening one when needed."""
        if not text:
            return []
        out: list[Event] = []
        if not (self._open and self._open.item == item and self._open.data["type"] == kind):
            data = (
                {"type": "text", "text": ""}
                if kind == "text"
                else {"type": "thinking", "thinking": "", "signature": ""}
            )
            out = self._open_block(item, data)
        assert self._open is not None
        self._open.data[kind] += text
        return [*out, self._delta({"type": f"{kind}_delta", kind: text})]

    def _tool(self, item: int, fn: dict[str, Any]) -> list[Event]:
        name = str(fn.get("name") or "")
        data = {"type": "tool_use", "id": str(fn.get("call_id") or fn.get("id") or f"toolu_{item}"),
                "name": self.info.tool_names.get(name, name), "input": {}}  # fmt: skip
        return self._open_block(item, data)

    def _args(self, fragment: str, final: bool = False) -> list[Event]:
        """Arguments are append-only: a final snapshot only adds its unseen suffix."""
        block = self._open
        if block is None or block.data["type"] != "tool_use" or block.args_done:
            return []
        if final:
            block.args_done = True
            fragment = fragment[len(block.args) :] if fragment.startswith(block.args) else ""
        if not fragment:
            return []
        block.args += fragment
        return [self._delta({"type": "input_json_delta", "partial_json": fragment})]

    def _item_done(self, index: int, item: dict[str, Any]) -> list[Event]:
        kind = item.get("type")
        mine = self._open is not None and self._open.item == index
        out: list[Event] = []
        if kind == "function_call":
            out = [] if mine else self._tool(index, item)
            out += self._args(str(item.get("arguments") or ""), final=True)
        elif kind == "message" and not mine:  # no deltas came: send the text whole
            parts = [p for p in as_list(item.get("content")) if isinstance(p, dict)]
            out = self._text(
                index, "text", "".join(str(p.get("text") or p.get("refusal") or "") for p in parts)
            )
        elif kind == "reasoning" and self.info.thinking:
            if not (mine and self._open and self._open.data["type"] == "thinking"):
                texts = [
                    str(s.get("text") or "")
                    for s in as_list(item.get("summary"))
                    if isinstance(s, dict)
                ]
                out = self._close() + self._open_block(
                    index, {"type": "thinking", "thinking": "", "signature": ""}
                )
                out += self._text(index, "thinking", "\n\n".join(t for t in texts if t))
            signature = item.get("encrypted_content")
            if isinstance(signature, str) and signature and self._open:
                self._open.data["signature"] = signature
                out.append(self._delta({"type": "signature_delta", "signature": signature}))
        if self._open is not None and self._open.item == index:
            out += self._close()
        return out

    def _index(self, event: dict[str, Any]) -> int:
        known = self._item_ids.get(
            str(event.get("item_id") or as_dict(event.get("item")).get("id"))
        )
        return output_index(event, known if known is not None else self._current)

    def _process(self, index: int, event: dict[str, Any]) -> list[Event]:
        kind, item = event.get("type"), as_dict(event.get("item"))
        delta = str(event.get("delta") or "")
        if index in self._done:
            return []
        self._active = index
        self._seen.add(index)
        if kind == "response.output_item.added":
            if isinstance(item.get("id"), str):
                self._item_ids[item["id"]] = index
            return self._tool(index, item) if item.get("type") == "function_call" else []
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return self._text(index, "text", delta)
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if not self.info.thinking:
                return []
            key = (index, event.get("summary_index", event.get("content_index")))
            if self._summary and self._summary[0] == index and key != self._summary and delta:
                delta = "\n\n" + delta  # one thinking block per reasoning item, parts joined
            self._summary = key
            return self._text(index, "thinking", delta)
        if kind == "response.function_call_arguments.delta":
            return self._args(delta)
        if kind == "response.function_call_arguments.done":
            return self._args(str(event.get("arguments") or ""), final=True)
        if kind == "response.output_item.done":
            self._done.add(index)
            self._active = None
            return self._item_done(index, item)
        return []

    def _replay(self) -> list[Event]:
        out: list[Event] = []
        while self._active is None and self._held:
            index = next(iter(self._held))
            for event in self._held.pop(index):
                out += self._process(index, event)
        return out

    def _terminal(self, kind: str, response: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        while self._held:  # the stream is over: let every held item through
            self._active = None
            out += self._replay()
        for index, item in enumerate(as_list(response.get("output"))):  # backfill unannounced items
            if isinstance(item, dict) and index not in self._seen:
                out += self._process(index, {"type": "response.output_item.done", "item": item})
        out += self._close()
        self._usage = usage_of(response)
        reason = as_dict(response.get("incomplete_details")).get("reason")
        if kind == "response.incomplete" and reason in ("max_output_tokens", "max_tokens"):
            self.stop_reason = "max_tokens"
        elif kind == "response.incomplete" and reason == "content_filter":
            self.stop_reason = "refusal"
        elif any(b["type"] == "tool_use" for b in self._content):
            self.stop_reason = "tool_use"
        else:
            self.stop_reason = "end_turn"
        return out

    def feed(self, event: dict[str, Any]) -> list[Event]:
        """One upstream event -> zero or more ``(event name, data)`` pairs."""
        if self.error or self.stop_reason:
            return []
        failure = failure_from_event(event)
        if failure:
            self.error = failure
            return [stream_error_event_anthropic(failure.message, failure.anthropic_type)]
        kind = event.get("type")
        if kind in ("response.completed", "response.incomplete"):
            return self._terminal(str(kind), as_dict(event.get("response")))
        if not isinstance(kind, str) or not kind.startswith(
            ("response.output_", "response.function_call", "response.reasoning", "response.refusal")
        ):
            return []
        if kind == "response.output_item.added":
            index = self._current = output_index(event, self._current + bool(self._item_ids))
        else:
            index = self._index(event)
        if self._active is not None and index != self._active:
            self._held.setdefault(index, []).append(event)
            return []
        return self._process(index, event) + self._replay()

    def finish(self) -> list[Event]:
        """``message_delta`` (stop reason, final usage) and ``message_stop``; an ``error``
        event instead when the upstream stream ended without a terminal event."""
        if self._finished or self.error:
            return []
        self._finished = True
        if not self.stop_reason:
            self.error = TRUNCATED
            return [stream_error_event_anthropic(TRUNCATED.message, TRUNCATED.anthropic_type)]
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        usage = anthropic_usage(self._usage)
        return [
            *self._start(),
            ("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}),
            ("message_stop", {"type": "message_stop"}),
        ]

    def message(self) -> dict[str, Any]:
        """The non-stream Messages response (check :attr:`error` first)."""
        return {**self._message(), "stop_reason": self.stop_reason or "end_turn"}
