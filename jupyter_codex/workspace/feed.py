"""One client's live view of the workspace events: replay, then follow, each event once.

A client (a WebSocket today) holds one :class:`EventFeed`. Subscribing to a session
with ``after`` replays the persisted events after that sequence number and then
switches to live delivery without a gap or a duplicate: live events that arrive
during the replay are held back and released after it, minus those the replay
covered. Subscribing to ``"*"`` follows every session (and the system channel)
live, without replay.

Each live event goes to the client **once**, however many of its subscriptions
match it (``"*"`` and the event's session): the feed remembers the highest live
``seq`` it sent per session. A replay is the answer to an explicit request for
history, so it may repeat events the client already got live through ``"*"``.

The feed knows nothing of HTTP or WebSockets: it writes ready-made JSON frames
through the ``write`` callable it is given (protocol in ``docs/websocket.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .eventlog import ALL_SESSIONS, Subscriber

#: Most events in one replay frame.
REPLAY_BATCH = 1000


class EventSource(Protocol):
    """Where a feed reads history and live events (the :class:`WorkspaceManager`)."""

    max_events_per_page: int

    async def replay(self, session_id: str, after: int, limit: int | None = None) -> list[str]:
        """Stored event bodies with ``seq > after`` (raises NotFoundError)."""
        ...

    def subscribe(self, session_id: str, subscriber: Subscriber) -> Callable[[], None]:
        """Live event bodies of a session (or ``"*"``); returns the unsubscriber."""
        ...


@dataclass
class _Subscription:
    replaying: bool = True
    held: list[tuple[str, str]] = field(default_factory=list)
    unsubscribe: Callable[[], None] | None = None


def seq_of(body: str) -> int:
    """The ``seq`` of an event body (envelopes start with it: no full parse needed)."""
    if body.startswith('{"seq":'):
        end = body.find(",", 7)
        if end > 7 and body[7:end].isdigit():
            return int(body[7:end])
    seq = json.loads(body).get("seq")
    return seq if isinstance(seq, int) else 0


class EventFeed:
    """Subscriptions of one client, and the frames they produce."""

    def __init__(self, source: EventSource, write: Callable[[str], None]) -> None:
        self._source = source
        self._write = write
        self._subs: dict[str, _Subscription] = {}
        self._live_seq: dict[str, int] = {}

    @property
    def sessions(self) -> list[str]:
        """The session ids (and ``"*"``) subscribed now."""
        return list(self._subs)

    async def subscribe(self, session_id: str, after: int = 0) -> int:
        """Replay ``session_id``'s events after ``after``, then follow it live; return the
        last ``seq`` the replay and the held-back events covered. Raises the source's
        :class:`~jupyter_codex.errors.CodexError` (the subscription is then dropped)."""
        self.unsubscribe(session_id)
        sub = self._subs[session_id] = _Subscription()

        def deliver(event_session: str, body: str) -> None:
            if sub.replaying:
                sub.held.append((event_session, body))
            else:
                self._deliver_live(event_session, body)

        sub.unsubscribe = self._source.subscribe(session_id, deliver)
        last = after
        if session_id != ALL_SESSIONS:
            try:
                last = await self._replay(session_id, after)
            except BaseException:
                self.unsubscribe(session_id)
                raise
        for event_session, body in sub.held:
            seq = seq_of(body)
            if session_id == ALL_SESSIONS or seq > last:
                self._deliver_live(event_session, body)
                if session_id != ALL_SESSIONS:
                    last = max(last, seq)
        sub.held.clear()
        sub.replaying = False
        return last

    def unsubscribe(self, session_id: str) -> bool:
        """Stop following ``session_id``; whether it was subscribed."""
        sub = self._subs.pop(session_id, None)
        if sub is None:
            return False
        if sub.unsubscribe is not None:
            sub.unsubscribe()
        return True

    def close(self) -> None:
        """Drop every subscription (the client went away)."""
        for session_id in list(self._subs):
            self.unsubscribe(session_id)

    async def _replay(self, session_id: str, after: int) -> int:
        """Send the log after ``after`` in ``events`` frames of up to ``REPLAY_BATCH``
        events (one frame each instead of one per event: ~30x less CPU), paging
        through logs of any length. Returns the last sequence number sent."""
        page = self._source.max_events_per_page
        last = after
        while True:
            bodies = await self._source.replay(session_id, last, page)
            for start in range(0, len(bodies), REPLAY_BATCH):
                chunk = bodies[start : start + REPLAY_BATCH]
                self._write(
                    '{"type":"events","session_id":'
                    + json.dumps(session_id)
                    + ',"events":['
                    + ",".join(chunk)
                    + "]}"
                )
            if bodies:
                last = seq_of(bodies[-1])
            if len(bodies) < page:
                return last

    def _deliver_live(self, session_id: str, body: str) -> None:
        """Write one live event unless this feed already sent it (or a later one)."""
        seq = seq_of(body)
        if seq > 0:  # system events have no seq and match one subscription only
            if seq <= self._live_seq.get(session_id, 0):
                return
            self._live_seq[session_id] = seq
        self._write('{"type":"event","event":' + body + "}")


__all__ = ["REPLAY_BATCH", "EventFeed", "EventSource", "seq_of"]
