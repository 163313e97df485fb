"""What each client dialect sends back: SSE frames, keep-alives, errors, whole answers.

One adapter per request wraps the translator for its dialect (chat
completions, Anthropic Messages, Responses) and renders bytes for the
handler, so the handler itself is dialect-free apart from the choice of class.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from . import anthropic, openai_chat
from .errors import (
    anthropic_error,
    anthropic_error_type,
    openai_error,
    stream_error_chunk_openai,
    stream_error_event_anthropic,
)
from .prepared import Prepared
from .responses import ResponsesAggregator, ResponsesStreamRelay

_DONE = b"data: [DONE]\n\n"


def _data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _event(name: str, obj: Any) -> bytes:
    return f"event: {name}\n".encode() + _data(obj)


class Adapter:
    """Base: OpenAI-style error bodies and an SSE comment as keep-alive."""

    keepalive = b": keep-alive\n\n"

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared

    @staticmethod
    def error_body(
        status: int, message: str, code: str | None = None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = openai_error(status, message, code=code)
        body["error"].update(extra or {})
        return body

    def feed(self, event: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def collect(self, event: dict[str, Any]) -> None:
        """Feed one event of a non-stream request."""
        self.feed(event)

    def finish(self) -> bytes:
        raise NotImplementedError

    def fail(self, status: int, message: str, code: str | None) -> bytes:
        """An in-stream error once SSE headers are out (and the stream's end)."""
        raise NotImplementedError

    def result(self) -> tuple[int, dict[str, Any]]:
        """(status, body) of a non-stream answer after every event was fed."""
        raise NotImplementedError

    def final_response(self) -> dict[str, Any] | None:
        """The Responses object of the answer, where the dialect has one."""
        return None


class ChatAdapter(Adapter):
    def __init__(self, prepared: Prepared) -> None:
        self.translator = openai_chat.ChatStreamTranslator(
            prepared.info, completion_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time())
        )

    def feed(self, event: dict[str, Any]) -> bytes:
        return b"".join(_data(c) for c in self.translator.feed(event))

    def finish(self) -> bytes:
        return b"".join(_data(c) for c in self.translator.finish()) + _DONE

    def fail(self, status: int, message: str, code: str | None) -> bytes:
        return _data(stream_error_chunk_openai(message, code)) + _DONE

    def result(self) -> tuple[int, dict[str, Any]]:
        self.translator.finish()
        error = self.translator.error
        if error is not None:
            return error.status, error.openai_body()
        return 200, self.translator.completion()


def _sum_usage(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one chat ``usage`` object into ``total`` (nested counts included)."""
    for key, value in part.items():
        if isinstance(value, dict):
            _sum_usage(total.setdefault(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


class ChatChoicesAdapter(ChatAdapter):
    """A streamed chat request with ``n > 1``: ``n`` upstream runs stream side by side as
    choices ``0..n-1`` of one ``chat.completion.chunk`` stream (one id, as OpenAI's), and
    with ``include_usage`` one final usage chunk sums every run (each is billed)."""

    def __init__(self, prepared: Prepared, n: int) -> None:
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        self.translators = [
            openai_chat.ChatStreamTranslator(
                prepared.info, completion_id=completion_id, created=created
            )
            for _ in range(n)
        ]
        self.translator = self.translators[0]
        self.usage: dict[str, Any] = {}

    def _frames(self, index: int, chunks: list[dict[str, Any]]) -> bytes:
        out = []
        for chunk in chunks:
            if "choices" in chunk and not chunk["choices"]:  # a run's own usage chunk
                _sum_usage(self.usage, chunk.get("usage") or {})
                continue
            for choice in chunk.get("choices") or []:
                choice["index"] = index
            out.append(_data(chunk))
        return b"".join(out)

    def feed_choice(self, index: int, event: dict[str, Any]) -> bytes:
        """One upstream event of run ``index``, as chunks of choice ``index``."""
        return self._frames(index, self.translators[index].feed(event))

    def feed(self, event: dict[str, Any]) -> bytes:
        return self.feed_choice(0, event)

    def finish(self) -> bytes:
        out = b"".join(self._frames(i, t.finish()) for i, t in enumerate(self.translators))
        if self.translator.info.include_usage and self.usage:
            last = {
                "id": self.translator.completion_id,
                "object": "chat.completion.chunk",
                "created": self.translator.created,
                "model": self.translator.info.model,
                "choices": [],
                "usage": self.usage,
            }
            out += _data(last)
        return out + _DONE


class AnthropicAdapter(Adapter):
    keepalive = _event("ping", {"type": "ping"})

    def __init__(self, prepared: Prepared) -> None:
        self.translator = anthropic.AnthropicStreamTranslator(
            prepared.info, message_id=f"msg_{uuid.uuid4().hex[:24]}"
        )

    @staticmethod
    def error_body(
        status: int, message: str, code: str | None = None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return anthropic_error(status, message)

    def feed(self, event: dict[str, Any]) -> bytes:
        return b"".join(_event(n, d) for n, d in self.translator.feed(event))

    def finish(self) -> bytes:
        return b"".join(_event(n, d) for n, d in self.translator.finish())

    def fail(self, status: int, message: str, code: str | None) -> bytes:
        return _event(*stream_error_event_anthropic(message, anthropic_error_type(status)))

    def result(self) -> tuple[int, dict[str, Any]]:
        self.translator.finish()
        error = self.translator.error
        if error is not None:
            return error.status, error.anthropic_body()
        return 200, self.translator.message()


class ResponsesAdapter(Adapter):
    def __init__(self, prepared: Prepared) -> None:
        self.relay = ResponsesStreamRelay(prepared.name_map)
        self.aggregator = ResponsesAggregator(prepared.name_map)

    def collect(self, event: dict[str, Any]) -> None:
        self.aggregator.feed(event)

    def feed(self, event: dict[str, Any]) -> bytes:
        return b"".join(_event(str(e.get("type")), e) for e in self.relay.feed(event))

    def finish(self) -> bytes:
        return b"".join(_event(str(e.get("type")), e) for e in self.relay.finish())

    def fail(self, status: int, message: str, code: str | None) -> bytes:
        return _event("error", {"type": "error", "code": code, "message": message, "param": None})

    def final_response(self) -> dict[str, Any]:
        """The whole Response object, streamed or not (for ``previous_response_id``)."""
        collected = self.aggregator if self.aggregator.has_events else self.relay.aggregator
        return collected.result()

    def result(self) -> tuple[int, dict[str, Any]]:
        response = self.aggregator.result()
        error = self.aggregator.error
        if error is not None:
            return error.status, error.openai_body()
        return 200, response


ADAPTERS: dict[str, type[Adapter]] = {
    "chat": ChatAdapter,
    "anthropic": AnthropicAdapter,
    "responses": ResponsesAdapter,
}


def adapter_for(prepared: Prepared) -> Adapter:
    return ADAPTERS[prepared.dialect](prepared)


__all__ = ["ADAPTERS", "Adapter", "ChatChoicesAdapter", "adapter_for"]
