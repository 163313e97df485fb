"""``previous_response_id`` for a backend that stores nothing.

The codex backend requires ``store: false``, so it cannot resolve a
``previous_response_id``. The proxy remembers, per client, the conversation
behind each response it served (the request's input items plus the response's
output items, as the client sent and saw them) for a while, and expands a
later request's ``previous_response_id`` into that history. The conversation's
session key comes along, so it stays on its account (and its prompt cache).
Bounded by entries and age; in memory only (a restart forgets, and the client
gets a clear ``previous_response_not_found``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Remembered:
    """What a later request needs to continue from a response."""

    items: list[dict[str, Any]]
    session_key: str


class ResponseMemory:
    """LRU of ``(client, response id) -> conversation``, bounded in size and age."""

    def __init__(self, *, max_entries: int = 512, ttl_seconds: float = 3600.0) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[tuple[str, str], tuple[float, Remembered]] = OrderedDict()

    def remember(
        self,
        client_id: str,
        response_id: str,
        input_items: list[dict[str, Any]],
        output_items: list[dict[str, Any]],
        session_key: str,
    ) -> None:
        if self.max_entries <= 0 or not response_id:
            return
        key = (client_id, response_id)
        self._entries[key] = (
            time.monotonic(),
            Remembered([*input_items, *output_items], session_key),
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def recall(self, client_id: str, response_id: str) -> Remembered | None:
        """The conversation up to and including ``response_id`` (None: unknown or expired)."""
        entry = self._entries.get((client_id, response_id))
        if entry is None:
            return None
        at, remembered = entry
        if time.monotonic() - at > self.ttl_seconds:
            del self._entries[(client_id, response_id)]
            return None
        self._entries.move_to_end((client_id, response_id))
        return remembered

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["Remembered", "ResponseMemory"]
