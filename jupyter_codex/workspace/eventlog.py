"""The per-session event log: sequence numbers, live fan-out, batched persistence.

Live delivery must not wait for the disk (the latency budget from an app-server
line to a WebSocket is a few milliseconds), so an event is numbered, published
and *then* queued for a writer task that commits whatever has accumulated in
one transaction. Replay flushes that queue first, so a client never sees a gap.

When the disk is full or the data dir read-only, nothing is lost and nothing
blocks: the events stay queued in memory and the writer retries every second;
the log is *degraded* (:meth:`EventLog.health`, shown by ``GET codex/api/status``),
replay answers at once from what is on disk plus the in-memory tail, and the log
gets one warning with the real cause per episode and one line when it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from ..errors import StoreError, StoreUnavailableError
from ..store import EventRepository
from ..tasks import OwnedTask, TaskOwner, within

#: ``(session_id, body_json)``; called synchronously on the event loop.
Subscriber = Callable[[str, str], None]

ALL_SESSIONS = "*"


class EventBroker:
    """In-memory publish/subscribe keyed by session id (``"*"`` gets everything)."""

    def __init__(self, log: logging.Logger) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._log = log

    def subscribe(self, session_id: str, subscriber: Subscriber) -> Callable[[], None]:
        """Register a subscriber and return the function that removes it."""
        self._subscribers.setdefault(session_id, set()).add(subscriber)

        def unsubscribe() -> None:
            subs = self._subscribers.get(session_id)
            if subs is not None:
                subs.discard(subscriber)
                if not subs:
                    del self._subscribers[session_id]

        return unsubscribe

    def publish(self, session_id: str, body: str) -> None:
        """Deliver one event body to the session's and the global subscribers."""
        for key in (session_id, ALL_SESSIONS):
            for subscriber in tuple(self._subscribers.get(key, ())):
                try:
                    subscriber(session_id, body)
                except Exception:  # noqa: BLE001 - one broken client must not starve the others
                    self._log.exception("Event subscriber failed; dropping it")
                    self._subscribers.get(key, set()).discard(subscriber)


class EventLog:
    """Numbers, publishes and persists workspace events.

    Writes are batched: the writer waits up to ``COALESCE_SECONDS`` after the first
    pending event (a crash loses at most that much), and :meth:`flush` skips the wait.

    Parameters
    ----------
    repository:
        Where events are stored.
    broker:
        Where live subscribers listen.
    """

    COALESCE_SECONDS = 0.02
    #: Pause between write attempts while the store cannot be written.
    RETRY_SECONDS = 1.0
    #: How long a replay waits for the writer before it reads disk + memory instead.
    REPLAY_FLUSH_SECONDS = 0.5

    def __init__(self, repository: EventRepository, broker: EventBroker, log: logging.Logger):
        self._repo = repository
        self.broker = broker
        self._log = log
        self._last_seq: dict[str, int] = {}
        self._pending: list[tuple[str, int, str, float, str]] = []
        self._queued = 0
        self._written = 0
        self._wakeup = asyncio.Event()
        self._urgent = asyncio.Event()
        self._progress = asyncio.Condition()
        self._tasks = TaskOwner("codex-event-writer")
        self._writer: OwnedTask | None = None
        #: Most events kept per session (0: all); older ones are pruned by the writer.
        self.max_events = 0
        self._pruned_to: dict[str, int] = {}
        self._inflight: list[tuple[str, int, str, float, str]] = []
        self._degraded: tuple[str, float] | None = None  # (cause, since)

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Start the writer task (owned here, stopped by :meth:`stop`)."""
        if self._writer is None:
            self._writer = self._tasks.start_soon(self._write_forever, name="codex-event-writer")

    async def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout`` s), then stop the writer."""
        if self._writer is None:
            return
        try:
            await within(self._flush_or_recover(), timeout)
        except asyncio.TimeoutError:
            cause = self._degraded[0] if self._degraded else "the writer did not finish"
            self._log.error(
                "Stopping with %d workspace events not saved (%s)",
                len(self._pending) + len(self._inflight),
                cause,
            )
        self._writer = None
        await self._tasks.aclose()

    # -- sequence numbers ----------------------------------------------------

    def set_last_seq(self, session_id: str, seq: int) -> None:
        """Tell the log where a session's numbering stands (from the store)."""
        self._last_seq[session_id] = max(seq, self._last_seq.get(session_id, 0))

    def last_seq(self, session_id: str) -> int:
        """The highest sequence number handed out for a session."""
        return self._last_seq.get(session_id, 0)

    def forget(self, session_id: str) -> None:
        """Drop a deleted session's counter."""
        self._last_seq.pop(session_id, None)
        self._pruned_to.pop(session_id, None)

    # -- appending -----------------------------------------------------------

    def append(
        self,
        session_id: str,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        turn_id: str | None = None,
        item_id: str | None = None,
    ) -> dict[str, Any]:
        """Number, publish and queue one event; return its envelope."""
        seq = self._last_seq.get(session_id, 0) + 1
        self._last_seq[session_id] = seq
        now = time.time()
        envelope = {
            "seq": seq,
            "session_id": session_id,
            "type": type,
            "time": now,
            "turn_id": turn_id,
            "item_id": item_id,
            "data": data or {},
        }
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str)
        self.broker.publish(session_id, body)
        self._pending.append((session_id, seq, type, now, body))
        self._queued += 1
        self._wakeup.set()
        return envelope

    async def flush(self) -> None:
        """Wait until every event appended so far is committed; raise
        :class:`StoreUnavailableError` instead of waiting while the store cannot be
        written (the events stay queued and are saved once it can)."""
        target = self._queued
        self._urgent.set()
        self._wakeup.set()
        if self._writer is None:
            await self._write_pending()
        else:
            async with self._progress:
                await self._progress.wait_for(
                    lambda: self._written >= target or self._degraded is not None
                )
        if self._written < target and self._degraded is not None:
            raise StoreUnavailableError(
                f"Workspace events cannot be saved right now ({self._degraded[0]}); they are "
                "kept in memory and saved once the data dir can be written again."
            )

    async def _flush_or_recover(self) -> None:
        """Flush, waiting through a degraded episode (for a last chance at shutdown)."""
        while True:
            try:
                await self.flush()
                return
            except StoreUnavailableError:
                await asyncio.sleep(self.RETRY_SECONDS)

    async def replay(self, session_id: str, after: int, limit: int) -> list[str]:
        """Event bodies with ``seq > after``, oldest first, at most ``limit``.

        Normally the queue is flushed first and the store answers. While the store
        cannot be written (or the writer is slow), the answer is what is on disk plus
        the events still in memory, so a replay never waits on the disk."""
        if self._degraded is None:
            try:
                await within(self.flush(), self.REPLAY_FLUSH_SECONDS)
            except (asyncio.TimeoutError, StoreUnavailableError):
                pass
            else:
                return await self._repo.bodies_after(session_id, after, limit)
        return await self._replay_from_memory(session_id, after, limit)

    async def _replay_from_memory(self, session_id: str, after: int, limit: int) -> list[str]:
        try:
            stored = await self._repo.bodies_after(session_id, after, limit)
        except Exception as e:  # noqa: BLE001 - memory still has the tail
            self._log.debug("Replay of session %s read nothing from disk: %s", session_id, e)
            stored = []
        last = int(json.loads(stored[-1])["seq"]) if stored else after
        tail = [
            body
            for sid, seq, _type, _time, body in (*self._inflight, *self._pending)
            if sid == session_id and seq > last
        ]
        return (stored + tail)[:limit]

    def health(self) -> dict[str, Any]:
        """``ok``, or ``degraded`` with the cause, since when, and the unsaved count."""
        unsaved = len(self._pending) + len(self._inflight)
        if self._degraded is None:
            return {"state": "ok", "reason": None, "since": None, "unsaved_events": unsaved}
        cause, since = self._degraded
        return {"state": "degraded", "reason": cause, "since": since, "unsaved_events": unsaved}

    # -- writer --------------------------------------------------------------

    async def _write_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            if not self._urgent.is_set():
                # Gather a burst (streamed deltas come ~1 ms apart) into one transaction:
                # fewer hand-offs to the database thread, less GIL contention on the loop.
                with contextlib.suppress(asyncio.TimeoutError):
                    await within(self._urgent.wait(), self.COALESCE_SECONDS)
            self._wakeup.clear()
            self._urgent.clear()
            await self._write_pending()

    async def _write_pending(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        self._inflight = rows
        try:
            await self._repo.append(rows)
        except Exception as e:  # noqa: BLE001 - whatever failed, the rows must not be lost
            # Keep the rows: the next wake-up retries them (disk full, read-only, locked).
            self._pending[:0] = rows
            self._inflight = []
            self._failed(e)
            async with self._progress:
                self._progress.notify_all()  # flush() waiters answer instead of waiting
            await asyncio.sleep(self.RETRY_SECONDS)
            self._wakeup.set()
            return
        self._inflight = []
        if self._degraded is not None:
            cause, since = self._degraded
            self._degraded = None
            self._log.warning(
                "Workspace events are saved again after %.0f s (%s); %d were kept in memory",
                time.time() - since,
                cause,
                len(rows),
            )
        self._written += len(rows)
        await self._prune({row[0]: row[1] for row in rows})
        async with self._progress:
            self._progress.notify_all()

    def _failed(self, error: Exception) -> None:
        """One warning per episode, with the real cause; quiet retries after it."""
        if self._degraded is not None:
            self._log.debug("Workspace events still not saved: %s", error)
            return
        self._degraded = (str(error), time.time())
        if isinstance(error, StoreError):
            self._log.warning(
                "Cannot save workspace events: %s. Keeping %d in memory and retrying every "
                "%.0f s; replays answer from disk plus memory meanwhile",
                error,
                len(self._pending),
                self.RETRY_SECONDS,
            )
        else:  # not a storage condition: a bug, worth its traceback (once)
            self._log.error("Cannot save workspace events", exc_info=error)

    async def _prune(self, last: dict[str, int]) -> None:
        """Delete the oldest events of sessions over :attr:`max_events`, in slices of a
        tenth of the limit so a busy session costs one DELETE per slice, not per batch."""
        limit = self.max_events
        if limit <= 0:
            return
        slack = max(1, limit // 10)
        for session_id, seq in last.items():
            cutoff = seq - limit
            if cutoff >= self._pruned_to.get(session_id, 0) + slack:
                try:
                    await self._repo.prune(session_id, cutoff)
                except Exception:  # noqa: BLE001 - pruning is housekeeping; retry next time
                    self._log.exception("Could not prune old events of session %s", session_id)
                    continue
                self._pruned_to[session_id] = cutoff
