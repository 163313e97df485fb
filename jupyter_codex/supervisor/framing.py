"""Lines and secrets on the app-server's pipes: JSONL framing with a size cap, redaction.

Shared by the connection (stdout, JSON-RPC) and the launcher (stderr, for
error messages). :class:`LineSplitter` skips a line longer than its limit
without buffering it and without desynchronising the stream; :func:`redact`
masks tokens and keys in anything we log or show that we did not write.
"""

from __future__ import annotations

import re
import traceback
from typing import NamedTuple

# ---- redaction ----

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # JWTs (access and id tokens).
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[REDACTED]"),
    # OpenAI API keys and similar prefixed secrets.
    (re.compile(r"\b(sk|rt|sess)-[A-Za-z0-9_\-]{8,}"), r"\1-[REDACTED]"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1[REDACTED]"),
    # key=value / "key": "value" pairs whose key names a secret.
    (
        re.compile(
            r"(?i)(\"?\b[a-z_]*(?:token|api_?key|secret|password|authorization)\"?\s*[:=]\s*\"?)"
            r"([^\"\s,}]+)"
        ),
        r"\1[REDACTED]",
    ),
]


def redact(text: str) -> str:
    """Mask tokens, keys and secret-looking ``key=value`` pairs in ``text``.

    Used on everything that leaves the process in a log line or an error
    message and that we did not write ourselves (app-server stderr, error
    messages from the server, exception texts).
    """
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def format_error(error: BaseException) -> str:
    """A redacted traceback, for logging exceptions that may quote a secret."""
    return redact("".join(traceback.format_exception(error)).rstrip())


# ---- framing ----


class OversizedLine(NamedTuple):
    """A line that exceeded the limit: its total size and its first bytes."""

    size: int
    head: bytes


class LineSplitter:
    """Incremental newline framing with a per-line size cap.

    ``feed()`` returns complete lines (without the newline); a line over
    ``max_line_bytes`` comes out as an :class:`OversizedLine` and its bytes are
    dropped as they arrive, so memory stays bounded by the cap.
    """

    _HEAD = 256

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()
        self._skipped = 0  # > 0 while inside an oversized line
        self._head = b""

    def feed(self, data: bytes) -> list[bytes | OversizedLine]:
        """Consume ``data`` and return the lines it completed."""
        out: list[bytes | OversizedLine] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start:end]
            if self._skipped:
                self._skipped += len(piece)
            elif len(self._buf) + len(piece) > self.max_line_bytes:
                room = max(self._HEAD - len(self._buf), 0)
                self._head = bytes(self._buf[: self._HEAD]) + piece[:room]
                self._skipped = len(self._buf) + len(piece)
                self._buf.clear()
            else:
                self._buf += piece
            if end < 0:
                return out
            out.append(self._take())
            start = end + 1

    def flush(self) -> list[bytes | OversizedLine]:
        """Return the unterminated last line at end of stream, if any."""
        if not self._buf and not self._skipped:
            return []
        return [self._take()]

    def _take(self) -> bytes | OversizedLine:
        if self._skipped:
            item: bytes | OversizedLine = OversizedLine(self._skipped, self._head)
            self._skipped, self._head = 0, b""
            return item
        line = bytes(self._buf)
        self._buf.clear()
        return line


__all__ = ["LineSplitter", "OversizedLine", "format_error", "redact"]
