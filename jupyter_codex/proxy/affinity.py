"""Conversation affinity: one stable session key per conversation, and its account.

The codex backend keys its prompt cache on the ``session_id`` header (and, more
loosely, ``prompt_cache_key``), and a warm cache lives on one account: a
conversation that hops accounts pays full price for its prefix (routers.md §2.5).
So every request gets a session key, from the client when it names its
conversation, else derived from what stays fixed across its turns (model,
instructions, first system and user messages). Keys are namespaced by client
(two API keys never share one) and shaped as UUIDs, as codex sends them.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

#: Request headers naming a conversation, most specific first.
SESSION_HEADERS = (
    "x-session-id",
    "session_id",
    "session-id",
    "x-codex-session-id",
    "conversation_id",
    "x-conversation-id",
    "x-codex-conversation-id",
)
#: Body fields naming a conversation (or at least a user), most specific first.
SESSION_FIELDS = ("session_id", "conversation_id", "prompt_cache_key")
_PREFIX_CHARS = 4096


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content, sort_keys=True, default=str) if content is not None else ""


def _first(items: Any, roles: tuple[str, ...]) -> str:
    if isinstance(items, str):
        return items if "user" in roles else ""
    if not isinstance(items, list):
        return ""
    for item in items:
        if isinstance(item, dict) and item.get("role") in roles:
            return _text(item.get("content"))[:_PREFIX_CHARS]
    return ""


def explicit_session(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The conversation id the client sent, if any (header, then body fields)."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in SESSION_HEADERS:
        header = lower.get(name, "").strip()
        if header:
            return f"h:{header}"
    for name in SESSION_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return f"b:{value.strip()}"
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id.strip():
        return f"m:{user_id.strip()}"
    user = body.get("user")
    if isinstance(user, str) and user.strip():
        return f"u:{user.strip()}"
    return None


def derived_session(upstream_body: Mapping[str, Any], model: str) -> str:
    """A key from the conversation's fixed prefix (a Responses-shaped body)."""
    parts = [
        model,
        _text(upstream_body.get("instructions"))[:_PREFIX_CHARS],
        _first(upstream_body.get("input"), ("system", "developer")),
        _first(upstream_body.get("input"), ("user",)),
    ]
    return "d:" + "\x00".join(parts)


def session_key(
    client_id: str,
    original: Mapping[str, Any],
    headers: Mapping[str, str],
    upstream_body: Mapping[str, Any],
    model: str,
) -> str:
    """The stable session key (a UUID string) for this request's conversation."""
    raw = explicit_session(original, headers) or derived_session(upstream_body, model)
    digest = hashlib.sha256(f"{client_id}\x00{raw}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


class AffinityMap:
    """session key -> account id, each entry living ``ttl`` seconds after its last use."""

    def __init__(self, ttl: float = 3600.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    def bind(self, key: str, account_id: str) -> None:
        self._entries.pop(key, None)  # re-insert: dict order is least recently bound first
        self._entries[key] = (account_id, time.monotonic() + self.ttl)
        if len(self._entries) > self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def forget_account(self, account_id: str) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[0] != account_id}

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["AffinityMap", "derived_session", "explicit_session", "session_key"]
