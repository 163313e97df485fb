"""Say so when a running turn goes quiet: the model service may have stalled.

Codex notices a dropped connection at once (and reports its retries as ``error``
events), but a stream that stays open without data is only given up after
``stream_idle_timeout_ms`` (five minutes by default, not configurable for the
built-in provider). Until then the session looks busy and silent. This watch
emits one ``warning`` (``source: "workspace"``, ``code: "turn_silent"``) when a
running turn has produced no event for :attr:`seconds`, unless it is waiting for
a human (a pending approval) or for a command or tool it started (those may run
silently for as long as they like). Events resuming re-arm it.

One ``call_later`` timer per running turn, re-armed lazily: no task, no cost per
event beyond a timestamp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .eventlog import EventLog

#: Event types that open and close work which may legitimately be silent.
_OPENS = {"command.started": "command.completed", "tool_call.started": "tool_call.completed"}
_CLOSES = frozenset(_OPENS.values())


@dataclass
class _Watch:
    turn_id: str | None
    last: float
    warned: bool = False
    busy: set[str] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


class StallWatch:
    """Per-session silence timers of running turns."""

    def __init__(
        self, events: EventLog, waiting_for_human: Callable[[str], bool], seconds: float = 0.0
    ) -> None:
        self._events = events
        self._waiting_for_human = waiting_for_human
        #: Silence (seconds) before the warning; 0 turns the watch off.
        self.seconds = seconds
        self._watches: dict[str, _Watch] = {}

    def seen(
        self, session_id: str, event_type: str, turn_id: str | None, item_id: str | None
    ) -> None:
        """An event of a session arrived."""
        if event_type == "turn.started":
            self.ended(session_id)
            if self.seconds > 0:
                new = self._watches[session_id] = _Watch(turn_id, time.monotonic())
                self._arm(session_id, new, self.seconds)
            return
        watch = self._watches.get(session_id)
        if watch is None:
            return
        watch.last = time.monotonic()
        watch.warned = False
        if event_type in _OPENS and item_id:
            watch.busy.add(item_id)
        elif event_type in _CLOSES and item_id:
            watch.busy.discard(item_id)

    def ended(self, session_id: str) -> None:
        """The session's turn ended (or the session is gone)."""
        watch = self._watches.pop(session_id, None)
        if watch is not None and watch.timer is not None:
            watch.timer.cancel()

    def _arm(self, session_id: str, watch: _Watch, delay: float) -> None:
        loop = asyncio.get_running_loop()
        watch.timer = loop.call_later(max(delay, 0.05), self._check, session_id, watch)

    def _check(self, session_id: str, watch: _Watch) -> None:
        if self._watches.get(session_id) is not watch:
            return
        quiet = time.monotonic() - watch.last
        if quiet < self.seconds:
            self._arm(session_id, watch, self.seconds - quiet)
            return
        if not watch.warned and not watch.busy and not self._waiting_for_human(session_id):
            watch.warned = True
            self._events.append(
                session_id,
                "warning",
                {
                    "message": (
                        f"Nothing from the model service for {quiet:.0f} s. It may still "
                        "be thinking, or the connection may have stalled: then Codex gives "
                        "up on it after its stream idle timeout (5 minutes by default) and "
                        "retries. Stop ends the turn now."
                    ),
                    "details": None,
                    "source": "workspace",
                    "code": "turn_silent",
                },
                turn_id=watch.turn_id,
            )
        self._arm(session_id, watch, self.seconds)


__all__ = ["StallWatch"]
