"""Upstream Responses events -> OpenAI ``chat.completion.chunk`` objects (routers.md §7.3).

Nothing is emitted for ``response.created``: if the first upstream event is a
failure (rate limit, overload), nothing has reached the client yet and the
handler can still fail over or answer with a real HTTP status. Text and tool
call arguments stream as they arrive; a final ``.done`` snapshot only adds the
suffix not yet sent, so arguments that come only there are not lost and
arguments that came as deltas are not duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import TRUNCATED, UpstreamFailure, failure_from_event, stream_error_chunk_openai
from .request_info import RequestInfo
from .responses import Usage, as_dict, as_list, output_index, usage_of


def chat_usage(usage: Usage | None) -> dict[str, Any]:
    """Responses usage -> chat usage (``prompt_tokens`` includes cached tokens, as in OpenAI)."""
    u = usage or Usage()
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


@dataclass
class _Call:
    index: int
    call_id: str
    name: str
    sent: str = ""  # argument text already emitted: arguments are append-only
    done: bool = False


class ChatStreamTranslator:
    """Upstream Responses events -> ``chat.completion.chunk`` objects (and a final completion)."""

    def __init__(self, info: RequestInfo, *, completion_id: str, created: int) -> None:
        self.info = info
        self.completion_id = completion_id
        self.created = created
        self.error: UpstreamFailure | None = None
        self.finish_reason: str | None = None
        self._usage: Usage | None = None
        self._calls: dict[int, _Call] = {}
        self._item_ids: dict[str, int] = {}
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._reasoning_key: tuple[Any, ...] | None = None
        self._streamed: set[int] = set()  # output indices whose text arrived as deltas
        self._done: set[int] = set()
        self._current = 0  # index of the latest output item
        self._role_sent = False
        self._finished = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self._role_sent:
            delta, self._role_sent = {"role": "assistant", **delta}, True
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunk = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.info.model,
            "choices": [choice],
        }
        if self.info.include_usage:
            chunk["usage"] = None
        return chunk

    def _index(self, event: dict[str, Any]) -> int:
        """The event's output index; by item id, then the latest item, when upstream omits it."""
        item = as_dict(event.get("item"))
        known = self._item_ids.get(str(event.get("item_id") or item.get("id")))
        return output_index(event, known if known is not None else self._current)

    def _start_call(self, index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        name = str(item.get("name") or "")
        call_id = str(item.get("call_id") or item.get("id") or f"call_{index}")
        call = self._calls[index] = _Call(
            len(self._calls), call_id, self.info.tool_names.get(name, name)
        )
        if isinstance(item.get("id"), str):
            self._item_ids[item["id"]] = index
        function = {"name": call.name, "arguments": ""}
        if self.info.legacy_functions:  # the deprecated `functions` API: one function_call
            return [self._chunk({"function_call": function})]
        tool_call = {
            "index": call.index,
            "id": call.call_id,
            "type": "function",
            "function": function,
        }
        return [self._chunk({"tool_calls": [tool_call]})]

    def _args(self, call: _Call, fragment: str) -> list[dict[str, Any]]:
        if not fragment:
            return []
        call.sent += fragment
        if self.info.legacy_functions:
            return [self._chunk({"function_call": {"arguments": fragment}})]
        return [
            self._chunk(
                {"tool_calls": [{"index": call.index, "function": {"arguments": fragment}}]}
            )
        ]

    def _finish_args(self, call: _Call, full: Any) -> list[dict[str, Any]]:
        """Emit only the unseen suffix of the final arguments; ``""`` becomes ``"{}"``."""
        if call.done:
            return []
        call.done = True
        full = full if isinstance(full, str) else ""
        suffix = full[len(call.sent) :] if full.startswith(call.sent) else ""
        return self._args(call, suffix or ("{}" if not call.sent else ""))

    def _say(self, key: str, store: list[str], text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        store.append(text)
        return [self._chunk({key: text})]

    def _item_done(self, index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        self._done.add(index)
        kind, content = item.get("type"), item.get("content")
        parts = [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []
        if kind == "function_call":
            out = [] if index in self._calls else self._start_call(index, item)
            return out + self._finish_args(self._calls[index], item.get("arguments"))
        if index in self._streamed:
            return []
        if kind == "message":  # no deltas came for this item: send it whole
            text = "".join(
                str(p.get("text") or "") for p in parts if p.get("type") == "output_text"
            )
            refusal = "".join(
                str(p.get("refusal") or "") for p in parts if p.get("type") == "refusal"
            )
            return self._say("content", self._text, text) + self._say(
                "refusal", self._refusal, refusal
            )
        if kind == "reasoning":
            summary = [s for s in as_list(item.get("summary")) if isinstance(s, dict)]
            texts = [str(s.get("text") or "") for s in summary]
            return self._say(
                "reasoning_content", self._reasoning, "\n\n".join(t for t in texts if t)
            )
        return []

    def _terminal(self, kind: str, response: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for index, item in enumerate(
            as_list(response.get("output"))
        ):  # backfill items the stream never announced
            if isinstance(item, dict) and index not in self._done and index not in self._streamed:
                out += self._item_done(index, item)
        self._usage = usage_of(response)
        reason = (response.get("incomplete_details") or {}).get("reason")
        if kind == "response.incomplete" and reason in ("max_output_tokens", "max_tokens"):
            self.finish_reason = "length"
        elif kind == "response.incomplete" and reason == "content_filter":
            self.finish_reason = "content_filter"
        else:
            calls = "function_call" if self.info.legacy_functions else "tool_calls"
            self.finish_reason = calls if self._calls else "stop"
        return out

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """One upstream event -> zero or more chunks. Text and arguments stream as they come."""
        if self.error or self.finish_reason:
            return []
        failure = failure_from_event(event)
        if failure:
            self.error = failure
            return [stream_error_chunk_openai(failure.message, failure.code)]
        kind, delta = event.get("type"), event.get("delta")
        delta = delta if isinstance(delta, str) else ""
        item = as_dict(event.get("item"))
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self._streamed.add(self._index(event))
            if kind == "response.output_text.delta":
                return self._say("content", self._text, delta)
            return self._say("refusal", self._refusal, delta)
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            index = self._index(event)
            self._streamed.add(index)
            key = (index, kind, event.get("summary_index"), event.get("content_index"))
            if self._reasoning and key != self._reasoning_key and delta:
                delta = "\n\n" + delta
            self._reasoning_key = key
            return self._say("reasoning_content", self._reasoning, delta)
        if kind == "response.output_item.added":
            index = self._current = output_index(event, self._current + bool(self._item_ids))
            if isinstance(item.get("id"), str):
                self._item_ids[item["id"]] = index
            if item.get("type") == "function_call" and index not in self._calls:
                return self._start_call(index, item)
            return []
        if kind == "response.function_call_arguments.delta":
            call = self._calls.get(self._index(event))
            return self._args(call, delta) if call and not call.done else []
        if kind == "response.function_call_arguments.done":
            call = self._calls.get(self._index(event))
            return self._finish_args(call, event.get("arguments")) if call else []
        if kind == "response.output_item.done" and item:
            index = self._index(event)
            if index in self._done and not isinstance(event.get("output_index"), int):
                index = max(self._done) + 1  # an item never announced, without an index
            return self._item_done(index, item)
        if kind in ("response.completed", "response.incomplete"):
            response = event.get("response")
            return self._terminal(kind, response if isinstance(response, dict) else {})
        return []

    def finish(self) -> list[dict[str, Any]]:
        """The chunk with ``finish_reason``, then the usage chunk when the client asked for it.

        If the upstream stream ended without a terminal event, an error chunk
        instead. The handler ends the stream with ``data: [DONE]`` either way.
        """
        if self._finished or self.error:
            return []
        self._finished = True
        if not self.finish_reason:
            self.error = TRUNCATED
            return [stream_error_chunk_openai(TRUNCATED.message, TRUNCATED.code)]
        chunks = [self._chunk({}, self.finish_reason)]
        if self.info.include_usage:
            chunk = self._chunk({})
            chunk.update(choices=[], usage=chat_usage(self._usage))
            chunks.append(chunk)
        return chunks

    def completion(self) -> dict[str, Any]:
        """The non-stream ``chat.completion`` (check :attr:`error` first)."""
        text = "".join(self._text)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._calls and self.info.legacy_functions:
            first = min(self._calls.values(), key=lambda c: c.index)
            message["function_call"] = {"name": first.name, "arguments": first.sent or "{}"}
        elif self._calls:
            message["tool_calls"] = [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.sent or "{}"},
                }
                for c in sorted(self._calls.values(), key=lambda c: c.index)
            ]
        elif not self._refusal:
            message["content"] = text
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self.finish_reason or "stop",
        }
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.info.model,
            "choices": [choice],
            "usage": chat_usage(self._usage),
        }
