"""Request bodies with bounded cost: size refused before buffering, depth before parsing.

Every JSON body the extension reads (REST, the proxy endpoints, WebSocket frames)
goes through here, so that no body can cost more memory than its route's limit or
recurse deeply enough to raise ``RecursionError`` in a parser or a validator:

* :class:`BoundedBodyMixin` makes a handler stream its body (Tornado
  ``stream_request_body``): a ``Content-Length`` over the limit is answered 413 in
  ``prepare()`` before one byte of the body is read, and a chunked body is
  refused the moment it passes the limit; only bodies within the limit are kept.
* :func:`loads_json` checks the nesting depth with C-speed byte operations, then
  parses. Deeper than :data:`MAX_JSON_DEPTH` is a 400, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from itertools import accumulate, count
from operator import sub
from typing import Any

from tornado import web

from ..errors import InvalidRequestError, PayloadTooLargeError

#: Deepest accepted nesting of JSON arrays and objects. Real requests (tool schemas,
#: message content parts) stay far below; Python's parsers and pydantic recurse once
#: per level and fail near 1000.
MAX_JSON_DEPTH = 128
#: Most arrays + objects in one body: bounds the cost of the depth check (~0.1 s at
#: most) far above any real request (a 10,000-message conversation has ~60,000).
MAX_JSON_CONTAINERS = 250_000

_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_DEPTH_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def _structure(body: bytes) -> bytes:
    """The brackets of a JSON text, without those inside strings (byte operations only)."""
    # Escapes pair up left to right, as a parser reads them: drop escaped backslashes,
    # then escaped quotes; every quote left opens or closes a string.
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(plain.split(b'"')[::2])
    return outside.translate(None, _NOT_BRACKETS)


def json_shape_problem(body: bytes) -> str | None:
    """Why ``body`` is too deep or too bracket-heavy to parse safely, or ``None``.

    Linear and cheap: byte operations in C strip strings and keep the brackets, and the
    per-bracket depth count runs on at most ``2 * MAX_JSON_CONTAINERS`` of them.
    """
    brackets = _structure(body)
    if len(brackets) > 2 * MAX_JSON_CONTAINERS:
        return (
            f"holds more than {MAX_JSON_CONTAINERS} arrays/objects; split it into smaller requests"
        )
    if len(brackets) <= 2 * MAX_JSON_DEPTH:  # too few brackets to nest that deep
        return None
    steps = brackets.translate(_DEPTH_STEPS)  # an opener adds 2, a closer 0: depth = sum - n
    depth = max(map(sub, accumulate(steps), count(1)), default=0)
    if depth > MAX_JSON_DEPTH:
        return f"nests arrays/objects {depth} levels deep; the limit is {MAX_JSON_DEPTH}"
    return None


def loads_json(body: bytes | str, *, what: str = "The request body") -> Any:
    """Parse JSON after checking its depth; every failure is an InvalidRequestError."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    problem = json_shape_problem(raw)
    if problem is not None:
        raise InvalidRequestError(f"{what} {problem}.")
    try:
        return json.loads(raw)
    except RecursionError as e:  # pragma: no cover - the depth check comes first
        raise InvalidRequestError(f"{what} nests too deeply.") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidRequestError(f"{what} is not valid JSON: {e}") from e


@web.stream_request_body
class BoundedBodyMixin(web.RequestHandler):
    """Stream the body in and keep it only while it stays within :meth:`body_limit`.

    Subclasses run their ``prepare()`` work through :meth:`prepare_bounded` and read
    the body with :meth:`body_bytes`.
    """

    _body_parts: list[bytes]
    _body_size = 0
    _body_refused = False

    def body_limit(self) -> int:
        """Largest accepted body in bytes."""
        raise NotImplementedError

    async def prepare_bounded(self, prepare: Callable[[], Awaitable[None]]) -> None:
        """Run ``prepare`` (authentication and the like), then refuse a declared
        oversize body with 413 before a byte of it is read.

        An error ``prepare`` raises for a request whose body is within the limit is
        raised only once that body has been read: answering before it would make
        Tornado close the connection (the only way to skip a body), and a client that
        reuses it for its next request (any keep-alive client after a 401) would get
        a reset instead of an answer.
        """
        try:
            await prepare()
        except Exception as error:
            if self._declared_size() > self.body_limit():
                raise
            self._raise_after_body(error)
            return
        size, limit = self._declared_size(), self.body_limit()
        if size > limit:
            raise PayloadTooLargeError(
                f"The request body is {size} bytes; the limit is {limit} bytes."
            )

    def _declared_size(self) -> int:
        declared = self.request.headers.get("Content-Length", "").strip()
        return int(declared) if declared.isdigit() else 0

    def _raise_after_body(self, error: Exception) -> None:
        """Answer this request with ``error`` in place of its HTTP method, which Tornado
        calls once the body is in."""

        def raise_error(*args: Any, **kwargs: Any) -> None:
            raise error

        setattr(self, (self.request.method or "get").lower(), raise_error)

    def data_received(self, chunk: bytes) -> None:
        if self._body_refused:
            return
        if not hasattr(self, "_body_parts"):
            self._body_parts = []
        self._body_size += len(chunk)
        limit = self.body_limit()
        if self._body_size > limit:
            # A chunked body (no Content-Length) passed the limit: answer now; Tornado
            # closes the connection instead of reading the rest.
            self._body_refused = True
            self._body_parts = []
            error = PayloadTooLargeError(
                f"The request body is over the limit of {limit} bytes; it was refused "
                "while it was being sent."
            )
            if not self._finished:
                self.send_error(error.status_code, exc_info=(type(error), error, None))
            return
        self._body_parts.append(chunk)

    def body_bytes(self) -> bytes:
        """The whole body (only ever called once it is within the limit)."""
        parts: list[bytes] | None = getattr(self, "_body_parts", None)
        if parts is None:
            return bytes(self.request.body or b"")
        if len(parts) != 1:
            parts[:] = [b"".join(parts)]
        return parts[0]


__all__ = ["MAX_JSON_DEPTH", "BoundedBodyMixin", "json_shape_problem", "loads_json"]
