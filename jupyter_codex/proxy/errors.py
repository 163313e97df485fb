"""Error bodies in each client dialect, and the upstream failure a stream can carry.

The codex backend reports overloads, usage limits and bad prompts *inside* an
HTTP 200 SSE stream (``response.failed`` / ``error`` events). The translators
turn such an event into an :class:`UpstreamFailure`; the handler then answers
with a real HTTP status when nothing has reached the client yet (and may fail
over to another account), or sends the dialect's in-stream error otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import ProxyRequestError

#: OpenAI error ``type`` per HTTP status (the SDKs branch on the status, people read the type).
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

#: Anthropic error ``type`` per HTTP status (https://docs.anthropic.com/en/api/errors).
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}

#: Upstream Responses error codes -> HTTP status we answer with.
_UPSTREAM_STATUS = {
    "rate_limit_exceeded": 429,
    "usage_limit_reached": 429,
    "usage_not_included": 429,
    "insufficient_quota": 429,
    "server_is_overloaded": 503,
    "slow_down": 503,
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
    "invalid_request": 400,
    "invalid_request_error": 400,
    "cyber_policy": 400,
    "upstream_stream_truncated": 502,
}


def openai_error_type(status: int) -> str:
    """The OpenAI ``error.type`` for an HTTP status."""
    if status in _OPENAI_TYPES:
        return _OPENAI_TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def anthropic_error_type(status: int) -> str:
    """The Anthropic ``error.type`` for an HTTP status."""
    if status in _ANTHROPIC_TYPES:
        return _ANTHROPIC_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def openai_error(
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """OpenAI error body; ``type`` defaults to the one matching ``status``."""
    return {
        "error": {
            "message": message,
            "type": type or openai_error_type(status),
            "param": param,
            "code": code,
        }
    }


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    """Anthropic error body, its ``error.type`` mapped from ``status``."""
    return {"type": "error", "error": {"type": anthropic_error_type(status), "message": message}}


def stream_error_chunk_openai(message: str, code: str | None) -> dict[str, Any]:
    """The ``data:`` object sent inside a 200 chat stream after an upstream failure.

    The handler follows it with ``data: [DONE]`` (what codex-lb and the OpenAI SDK expect).
    """
    status = upstream_error_status(code)
    return {
        "error": {
            "message": message,
            "type": openai_error_type(status),
            "param": None,
            "code": code,
        }
    }


def stream_error_event_anthropic(message: str, type: str) -> tuple[str, dict[str, Any]]:
    """The ``event: error`` sent inside a 200 Messages stream."""
    return "error", {"type": "error", "error": {"type": type, "message": message}}


def upstream_error_status(code: str | None) -> int:
    """HTTP status for an upstream error code (502 when the code is unknown)."""
    return _UPSTREAM_STATUS.get(code or "", 502)


@dataclass(frozen=True)
class UpstreamFailure:
    """An upstream ``response.failed``/``error`` event, or a stream that ended too early."""

    message: str
    code: str | None = None

    @property
    def status(self) -> int:
        """HTTP status a non-streaming (or not yet started) answer should use."""
        return upstream_error_status(self.code)

    @property
    def anthropic_status(self) -> int:
        """Anthropic answers an overload with its own 529."""
        return 529 if self.status == 503 else self.status

    @property
    def anthropic_type(self) -> str:
        return anthropic_error_type(self.anthropic_status)

    def openai_body(self) -> dict[str, Any]:
        return openai_error(self.status, self.message, code=self.code)

    def anthropic_body(self) -> dict[str, Any]:
        return anthropic_error(self.anthropic_status, self.message)


TRUNCATED = UpstreamFailure(
    "The upstream stream ended before the response was complete; retry the request.",
    "upstream_stream_truncated",
)


def failure_from_event(event: dict[str, Any]) -> UpstreamFailure | None:
    """The failure an upstream event reports, or None for any other event.

    Accepts ``response.failed`` (``response.error``), ``error`` (top-level
    ``message``/``code`` or a nested ``error`` object).
    """
    kind = event.get("type")
    if kind == "response.failed":
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
    elif kind == "error":
        nested = event.get("error")
        error = nested if isinstance(nested, dict) else event
    else:
        return None
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    if not code and error is not event:
        code = error.get("type")
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = "The upstream model request failed."
    return UpstreamFailure(message, code if isinstance(code, str) else None)


class ProxyError(ProxyRequestError):
    """The request fails before anything was streamed: answer with ``status``.

    ``extra``: more fields of the OpenAI ``error`` object (``type`` included, e.g.
    the backend's own ``usage_limit_reached`` shape); the Anthropic dialect keeps
    only the message. ``should_retry``: the ``x-should-retry`` header the SDKs obey
    (None: none sent).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        extra: dict[str, Any] | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = self.status_code = status
        self.message = message
        self.code = code  # type: ignore[assignment]  # None: the dialect's body has none
        self.retry_after = retry_after
        self.extra = extra or {}
        self.should_retry = should_retry


#: The longest ``Retry-After`` hint a client gets (``resets_at`` says when, exactly).
MAX_RETRY_AFTER = 300.0


def reset_phrase(resets_at: float | None, *, now: float | None = None) -> str:
    """``"try again at 14:05 UTC"`` (with the date when it is not within a day)."""
    if resets_at is None:
        return "try again later"
    now = time.time() if now is None else now
    fmt = "%H:%M UTC" if resets_at - now < 86_400 else "%Y-%m-%d %H:%M UTC"
    return f"try again at {time.strftime(fmt, time.gmtime(resets_at))}"


def usage_limit_error(
    resets_at: float | None, plan_type: str | None, *, now: float | None = None
) -> ProxyError:
    """The 429 for an exhausted pool, in the backend's own ``usage_limit_reached`` shape.

    Codex reads ``error.type``/``resets_at``/``plan_type`` and prints its own
    usage-limit message without retrying; the SDKs get ``x-should-retry: false``
    when the reset is more than a minute away (retrying sooner is pointless).
    """
    now = time.time() if now is None else now
    resets_in = max(0, round(resets_at - now)) if resets_at is not None else None
    extra: dict[str, Any] = {"type": "usage_limit_reached", "plan_type": plan_type}
    if resets_at is not None:
        extra["resets_at"] = int(resets_at)
        extra["resets_in_seconds"] = resets_in
    retry = min(max(float(resets_in or 0), 1.0), MAX_RETRY_AFTER) if resets_in else 60.0
    return ProxyError(
        429,
        f"You've hit your usage limit on every account; {reset_phrase(resets_at, now=now)} "
        "or add another account.",
        code="usage_limit_reached",
        retry_after=retry,
        extra=extra,
        should_retry=False if resets_in is None or resets_in > 60 else None,
    )
