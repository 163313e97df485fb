"""Owned background tasks: the one place that starts them, stops them and awaits them.

Every long-lived object that runs work in the background holds a
:class:`TaskOwner` and starts that work with :meth:`TaskOwner.start_soon`
(anyio's word). The owner hosts an anyio task group, so each task has a
parent that outlives it:

* ``await owner.aclose()`` cancels every task *and waits for it*, so a stop
  never leaves a task behind (``stop_extension`` relies on it);
* ``await owner.drain()`` waits for the running tasks without cancelling them;
* one :class:`OwnedTask` can be cancelled and awaited on its own
  (``await task.stop()``), e.g. a watcher or a periodic loop;
* a task that fails is logged with its name and does not take its siblings down
  (anyio's group would otherwise cancel them all);
* cancellation is asyncio's own (``Task.cancel()``, edge-triggered), not the
  group's cancel scope (level-triggered), so clean-up code written for asyncio
  may still await in its ``finally``;
* an owner with nothing to run holds no task: the group's host task exits when
  the last task ends and comes back with the next one.

Besides the owner, these helpers cover the other uses of ``asyncio`` tasks,
so that ``asyncio.create_task``/``ensure_future`` (and ``asyncio.wait_for``, see
:func:`within`) appear nowhere else in the server (``tests/test_architecture.py``
checks it, with no exception): :func:`within` (a timeout that never swallows a
cancellation),
:func:`single_flight` (one computation many callers await),
:func:`run_to_completion` (finish a clean-up even if the caller is cancelled),
:func:`first_completed` (wait for whichever of several waits ends first) and
:func:`scoped` (a task that lives for one ``async with`` block: a request
racing its upstream exchange against the client's disconnect).

Tasks run in the owner's context, not the spawner's: a ``ContextVar`` set by
the caller of ``start_soon`` is not seen by the task.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: Seconds a cancelled task may take to end before ``TaskOwner.aclose`` logs its name.
STOP_WARNING_SECONDS = 10.0


class OwnedTask:
    """One task started by a :class:`TaskOwner`: cancel it, wait for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._done = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._cancelled = False

    def done(self) -> bool:
        """Whether the task has ended (returned, failed or was cancelled)."""
        return self._done.is_set()

    def cancel(self) -> None:
        """Cancel the task (asyncio's edge-triggered cancellation: its clean-up may
        await); one not started yet never runs."""
        self._cancelled = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait(self) -> None:
        """Wait until the task has ended."""
        await self._done.wait()

    def is_current(self) -> bool:
        """Whether this is the task running the caller."""
        return self._task is not None and self._task is asyncio.current_task()

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended. Idempotent; never raises.

        Called from the task itself it does nothing: the task is running this code.
        """
        if self.is_current():
            return
        self.cancel()
        await self.wait()


class TaskOwner:
    """Start background tasks and own them until they end or the owner closes.

    Parameters
    ----------
    name
        Names the owner in log lines and its host task.
    log
        Where failures of owned tasks are logged (with their traceback).
    """

    def __init__(
        self, name: str, log: logging.Logger | logging.LoggerAdapter[Any] | None = None
    ) -> None:
        self.name = name
        self.log = log or _log
        self._tasks: set[OwnedTask] = set()
        self._pending: list[tuple[OwnedTask, Callable[..., Awaitable[Any]], tuple[Any, ...]]] = []
        self._group: TaskGroup | None = None
        self._hosts: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None

    def __len__(self) -> int:
        """How many owned tasks have not ended yet."""
        return len(self._tasks)

    def start_soon(
        self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None
    ) -> OwnedTask:
        """Run ``await fn(*args)`` as an owned task; return its handle. Needs a running loop."""
        task = OwnedTask(name or str(getattr(fn, "__qualname__", fn)))
        self._tasks.add(task)
        if self._group is not None:
            self._group.start_soon(self._run, task, fn, args, name=task.name)
        else:
            self._pending.append((task, fn, args))
            if self._wake is None:
                self._wake = asyncio.Event()
                host = asyncio.get_running_loop().create_task(
                    self._host(self._wake), name=f"{self.name}-tasks"
                )
                self._hosts.add(host)
                host.add_done_callback(self._hosts.discard)
        return task

    async def drain(self) -> None:
        """Wait until every task running now (and any they start) has ended."""
        while self._tasks:
            await next(iter(self._tasks)).wait()

    def cancel(self) -> None:
        """Cancel every task without waiting: for synchronous callers (a socket's
        ``on_close``). Each task still ends under the owner's group, which awaits it."""
        for task in list(self._tasks):
            if not task.is_current():
                task.cancel()

    async def aclose(self) -> None:
        """Cancel every task and wait for each to end. The owner may be used again.

        Called from one of its own tasks, that task is left alone (it runs this code).
        """
        current = next((t for t in self._tasks if t.is_current()), None)
        while others := [t for t in self._tasks if t is not current]:
            for task in others:
                task.cancel()
            for task in others:
                try:
                    await within(task.wait(), STOP_WARNING_SECONDS)
                except asyncio.TimeoutError:
                    # Still waited for (nothing is left behind), but a stop that hangs
                    # says which task holds it up.
                    self.log.warning(
                        "Task %s of %s has not ended %g s after it was cancelled; "
                        "still waiting for it",
                        task.name,
                        self.name,
                        STOP_WARNING_SECONDS,
                    )
                    await task.wait()
        if current is None:
            await asyncio.gather(*list(self._hosts), return_exceptions=True)

    async def _host(self, wake: asyncio.Event) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            pending, self._pending = self._pending, []
            for task, fn, args in pending:
                group.start_soon(self._run, task, fn, args, name=task.name)
            while self._tasks:
                await wake.wait()
                wake.clear()
            # From here on start_soon() opens a new group; this one has no task left.
            self._group = None
            self._wake = None

    async def _run(
        self, task: OwnedTask, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        current = task._task = asyncio.current_task()
        try:
            if not task._cancelled:
                await fn(*args)
        except asyncio.CancelledError:
            # Our own cancel() ends just this task; anything else (the loop
            # shutting down) propagates.
            if not task._cancelled or current is None:
                raise
            if sys.version_info >= (3, 11):
                current.uncancel()
        except Exception:
            self.log.exception("Background task %s of %s failed", task.name, self.name)
        finally:
            task._done.set()
            self._tasks.discard(task)
            if not self._tasks and self._wake is not None:
                self._wake.set()


def single_flight(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Start ``coro`` as the one shared computation its callers await (``asyncio.shield``
    it): a start-up or a token refresh that many requests wait for at once.

    Not background work: its callers own it, and its outcome (result or error) is theirs.
    """
    return asyncio.ensure_future(coro)


async def run_to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` and let it finish even if the caller is cancelled meanwhile.

    For clean-ups that must not stop half-way (ending a process group): the
    caller's cancellation is re-raised once ``coro`` has finished.
    """
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def within(work: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109 - the primitive
    """``await work`` for at most ``timeout`` seconds (None: no limit), else raise
    ``asyncio.TimeoutError``; ``work`` is cancelled and awaited if it has not ended.

    The server's ``asyncio.wait_for``: before Python 3.12, ``wait_for`` *swallows* a
    cancellation that arrives in the loop iteration where ``work`` completes (it
    returns the result instead), so a background loop being stopped went on running
    and its owner's ``aclose()`` waited forever (a usage poll that ended as the server
    stopped, stop 24). Here the caller's cancellation always wins. A future passed in
    is cancelled like ``wait_for`` would; wrap it in ``asyncio.shield`` to keep it.
    """
    inner = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait([inner], timeout=timeout)
    except asyncio.CancelledError:
        if not inner.done():
            inner.cancel()
            await asyncio.wait([inner])
        if not inner.cancelled():
            inner.exception()  # seen: the cancellation is the outcome
        raise
    if not done:
        inner.cancel()
        await asyncio.wait([inner])
        raise asyncio.TimeoutError()
    return inner.result()


async def first_completed(*waits: Awaitable[Any]) -> None:
    """Return as soon as one of ``waits`` has ended; cancel (and await) the rest.

    A future among ``waits`` is watched, never cancelled (others may await it too).
    """
    futures = [w if isinstance(w, asyncio.Future) else asyncio.ensure_future(w) for w in waits]
    own = [f for f, w in zip(futures, waits, strict=True) if f is not w]
    try:
        await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for f in own:
            f.cancel()
        await asyncio.gather(*own, return_exceptions=True)


async def all_or_none(*works: Coroutine[Any, Any, T]) -> list[T]:
    """Run ``works`` at once and return their results in order.

    Unlike ``asyncio.gather``, nothing outlives the call: the first failure cancels the
    others, waits for them to end and is then raised; cancelling the caller cancels
    (and awaits) them all. For the ``n`` upstream runs of one request.
    """
    tasks = [asyncio.ensure_future(w) for w in works]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        pending = [t for t in tasks if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending)
    errors = [t.exception() for t in tasks if not t.cancelled()]  # all seen
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [t.result() for t in tasks]


@asynccontextmanager
async def scoped(work: Awaitable[T]) -> AsyncIterator[asyncio.Future[T]]:
    """Run ``work`` for the length of an ``async with`` block and yield its future.

    The block may await the future however it likes (with timeouts, raced against
    another with ``asyncio.wait``); leaving the block cancels the task if it is still
    running *and waits for it to end*, so no task outlives the block that started it
    (a request-scoped owner). A future passed in is the caller's: it is watched,
    never cancelled here (others may await it too).
    """
    future = asyncio.ensure_future(work)
    own = future is not work
    try:
        yield future
    finally:
        if own:
            if not future.done():
                future.cancel()
                await asyncio.wait([future])
            if not future.cancelled():
                future.exception()  # seen: the block decided what the outcome means


__all__ = [
    "OwnedTask",
    "TaskOwner",
    "all_or_none",
    "first_completed",
    "run_to_completion",
    "scoped",
    "single_flight",
    "within",
]
