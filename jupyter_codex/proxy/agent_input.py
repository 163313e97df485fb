"""Agent-mode requests: what the client asked for, as Codex turn input.

Pure functions (plus the image files a request carries): the conversation id
a client sent, the ``outputSchema`` from ``response_format``, and the codex
``UserInput`` items, which hold only the newest user message when the thread
already knows the conversation, or the earlier turns flattened in front of it
when it does not.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidRequestError
from .responses import as_list

#: Body fields and headers that name a conversation in agent mode, most specific first.
AGENT_SESSION_FIELDS = ("session_id", "conversation_id", "thread_id", "user")
AGENT_SESSION_HEADERS = (
    "x-session-id",
    "session-id",
    "x-conversation-id",
    "x-thread-id",
    "x-user-id",
)
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def conversation_id(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The conversation id an agent-mode client sent, if any."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in AGENT_SESSION_HEADERS:
        value = lower.get(name, "").strip()
        if value:
            return value
    for name in AGENT_SESSION_FIELDS:
        field_value = body.get(name)
        if isinstance(field_value, str) and field_value.strip():
            return field_value.strip()
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    return user_id.strip() if isinstance(user_id, str) and user_id.strip() else None


@dataclass
class AgentRequest:
    """What one agent-mode request asks for (built by ``ProxyService.prepare``)."""

    conversation: str | None  # the client's conversation id, None: a fresh session
    client_id: str
    model: str  # upstream model for the session ("" = codex's default)
    effort: str | None
    messages: list[dict[str, Any]]  # Responses input items of the request
    instructions: str
    output_schema: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        if self.conversation is None:
            return None
        raw = f"{self.client_id}\0{self.conversation}".encode()
        return hashlib.sha256(raw).hexdigest()


def output_schema_of(responses_body: Mapping[str, Any]) -> dict[str, Any] | None:
    """``text.format`` of a Responses body (from ``response_format``) -> codex ``outputSchema``."""
    text = responses_body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequestError("response_format json_schema needs a 'schema' object.")
        return schema
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    return None


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for part in as_list(content):
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "\n".join(parts)


def split_conversation(
    items: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(earlier items, the last user message) of a Responses ``input``."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return items[:i], item
    return items, None


def transcript(instructions: str, earlier: list[dict[str, Any]]) -> str:
    """Earlier turns flattened as ``[ROLE]`` blocks (for a thread that never saw them)."""
    blocks = [f"[SYSTEM]\n{instructions}"] if instructions.strip() else []
    for item in earlier:
        kind = item.get("type", "message")
        if kind == "message":
            role = str(item.get("role") or "user").upper()
            text = text_of(item.get("content"))
        elif kind == "function_call":
            role, text = "TOOL CALL", f"{item.get('name')}({item.get('arguments') or ''})"
        elif kind == "function_call_output":
            role, text = "TOOL RESULT", text_of(item.get("output"))
        else:
            continue
        if text.strip():
            blocks.append(f"[{role}]\n{text}")
    return "\n\n".join(blocks)


def codex_input(
    request: AgentRequest, *, new_thread: bool, images: ImageFiles
) -> list[dict[str, Any]]:
    """Codex ``UserInput`` items: the newest user message (with the earlier turns
    flattened in front when the thread has not seen them)."""
    earlier, last = split_conversation(request.messages)
    if last is None:
        raise InvalidRequestError("Agent mode needs a user message to send.")
    items: list[dict[str, Any]] = []
    texts: list[str] = []
    if new_thread:
        context = transcript(request.instructions, earlier)
        if context:
            texts.append(context + "\n\n[USER]")
    content = last.get("content")
    for part in [content] if isinstance(content, str) else as_list(content):
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and part.get("type") == "input_image":
            items.append(images.add(part))
    text = "\n".join(t for t in texts if t)
    if not text.strip() and not items:
        raise InvalidRequestError("The last user message is empty.")
    return [{"type": "text", "text": text, "text_elements": []}, *items]


class ImageFiles:
    """Images of one agent request, written where codex can read them (0600) and removed
    after the turn. Only data: URLs are written; http(s) URLs go to codex as they are;
    file paths are refused (a proxy client must not make the server read its files)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.paths: list[Path] = []

    def remove(self) -> None:
        for path in self.paths:
            with contextlib.suppress(OSError):
                path.unlink()
        self.paths = []

    def add(self, part: dict[str, Any]) -> dict[str, Any]:
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        if not isinstance(url, str) or not url:
            raise InvalidRequestError("An image part needs an image_url.")
        if url.startswith(("http://", "https://")):
            return {"type": "image", "url": url}
        if not url.startswith("data:"):
            raise InvalidRequestError(
                "Agent mode takes images as data: URLs or http(s) URLs, not file paths."
            )
        header, _, payload = url.partition(",")
        mime = header[5:].split(";")[0].lower()
        if mime not in _IMAGE_TYPES or ";base64" not in header:
            raise InvalidRequestError(
                "Images must be base64 data URLs of PNG, JPEG, GIF or WebP images."
            )
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequestError("An image data URL is not valid base64.") from None
        if len(data) > self.max_bytes:
            raise InvalidRequestError(
                f"An image is {len(data)} bytes; the limit is {self.max_bytes}."
            )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{uuid.uuid4().hex}.{_IMAGE_TYPES[mime]}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self.paths.append(path)
        return {"type": "localImage", "path": str(path)}


__all__ = [
    "AGENT_SESSION_FIELDS",
    "AGENT_SESSION_HEADERS",
    "AgentRequest",
    "ImageFiles",
    "codex_input",
    "conversation_id",
    "output_schema_of",
    "split_conversation",
    "text_of",
    "transcript",
]
