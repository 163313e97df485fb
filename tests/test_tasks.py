"""The one task owner (``jupyter_codex/tasks.py``): stop means cancelled *and* awaited."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jupyter_codex import tasks
from jupyter_codex.tasks import (
    TaskOwner,
    all_or_none,
    first_completed,
    run_to_completion,
    scoped,
    within,
)


async def test_aclose_cancels_and_awaits_every_task() -> None:
    owner = TaskOwner("test")
    cleaned: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # a clean-up that itself awaits
            cleaned.append(name)

    tasks = [owner.start_soon(forever, n, name=n) for n in ("a", "b", "c")]
    await asyncio.sleep(0.01)
    assert len(owner) == 3
    await owner.aclose()
    assert sorted(cleaned) == ["a", "b", "c"]
    assert all(t.done() for t in tasks)
    assert len(owner) == 0


async def test_a_failing_task_is_logged_and_spares_its_siblings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("test")
    sibling_done = asyncio.Event()

    async def boom() -> None:
        raise ValueError("broken")

    async def sibling() -> None:
        await asyncio.sleep(0.05)
        sibling_done.set()

    with caplog.at_level(logging.ERROR):
        owner.start_soon(boom, name="boom")
        owner.start_soon(sibling, name="sibling")
        await asyncio.wait_for(sibling_done.wait(), 5)
        await owner.drain()
    assert "Background task boom of test failed" in caplog.text
    await owner.aclose()


async def test_cancel_from_synchronous_code_ends_every_task() -> None:
    owner = TaskOwner("test")
    ended: list[str] = []
    started: list[str] = []
    both = asyncio.Event()

    async def forever(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both.set()
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append(name)

    handles = [owner.start_soon(forever, n) for n in ("a", "b")]
    await asyncio.wait_for(both.wait(), 5)
    owner.cancel()
    for handle in handles:
        await asyncio.wait_for(handle.wait(), 5)
    assert sorted(ended) == ["a", "b"] and len(owner) == 0


async def test_one_task_stops_alone_and_the_owner_is_reusable() -> None:
    owner = TaskOwner("test")
    other = owner.start_soon(asyncio.sleep, 3600, name="other")
    task = owner.start_soon(asyncio.sleep, 3600, name="one")
    await asyncio.sleep(0)
    await task.stop()
    assert task.done() and not other.done()
    await owner.aclose()
    assert other.done()
    # After close (and once idle) a new task brings the group back.
    result: list[int] = []

    async def add() -> None:
        result.append(1)

    owner.start_soon(add)
    await owner.drain()
    assert result == [1]
    await owner.aclose()


async def test_an_idle_owner_holds_no_task() -> None:
    owner = TaskOwner("idle-test")
    before = set(asyncio.all_tasks())
    owner.start_soon(asyncio.sleep, 0)
    await owner.drain()
    for _ in range(5):
        await asyncio.sleep(0)
    assert {t for t in asyncio.all_tasks() - before if not t.done()} == set()


async def test_run_to_completion_finishes_despite_cancellation() -> None:
    finished = asyncio.Event()

    async def cleanup() -> None:
        await asyncio.sleep(0.05)
        finished.set()

    caller = asyncio.ensure_future(run_to_completion(cleanup()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished.is_set()


async def test_first_completed_never_cancels_a_shared_future() -> None:
    shared: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    await first_completed(shared, asyncio.sleep(0.01))
    assert not shared.done()
    shared.set_result(None)
    await first_completed(shared, asyncio.sleep(3600))


async def test_a_scoped_task_is_cancelled_and_awaited_when_its_block_ends() -> None:
    """The proxy's request-scoped work: leaving the block (here by an error, as a
    client that went away does) ends the task before the block's exit returns."""
    cleaned: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # a clean-up that itself awaits
            cleaned.append("work")

    before = set(asyncio.all_tasks())
    with pytest.raises(LookupError):
        async with scoped(work()) as fut:
            await asyncio.wait([fut], timeout=0.01)
            raise LookupError
    assert fut.cancelled() and cleaned == ["work"]
    assert {t for t in asyncio.all_tasks() - before if not t.done()} == set()
    async with scoped(asyncio.sleep(0, "value")) as fut:
        assert await fut == "value"
    shared: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with scoped(shared) as fut:
        assert fut is shared
    assert not shared.done()  # a caller's future is watched, never cancelled
    shared.cancel()


async def test_all_or_none_leaves_no_run_behind() -> None:
    cleaned: list[int] = []

    async def run(i: int, fail_after: float | None = None) -> int:
        try:
            if fail_after is not None:
                await asyncio.sleep(fail_after)
                raise ValueError(f"run {i} failed")
            await asyncio.sleep(0.01 * i)
            return i
        finally:
            await asyncio.sleep(0)  # a clean-up that itself awaits
            cleaned.append(i)

    assert await all_or_none(run(2), run(0), run(1)) == [2, 0, 1]  # results in order

    cleaned.clear()
    slow = [run(5, fail_after=None)]  # 50 ms, still running when run 9 fails

    async def forever() -> int:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(-1)
        return -1

    with pytest.raises(ValueError, match="run 9 failed"):
        await all_or_none(*slow, forever(), run(9, fail_after=0.005))
    assert sorted(cleaned) == [-1, 5, 9]  # the others were cancelled *and* awaited

    cleaned.clear()
    outer = asyncio.ensure_future(all_or_none(forever(), forever()))
    await asyncio.sleep(0.01)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert cleaned == [-1, -1]


async def _cancelled_as_work_completes(
    timeout_call: Callable[[Awaitable[Any], float], Awaitable[Any]],
) -> tuple[bool, Any]:
    """Cancel a task in the very loop iteration its awaited work completes: did the
    cancellation win (True), or did the call return the work's result (False, value)?"""
    work: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def waiter() -> Any:
        return await timeout_call(work, 30)

    task = asyncio.ensure_future(waiter())
    await asyncio.sleep(0.01)  # the task now waits on work
    work.set_result("done")
    task.cancel()
    try:
        return False, await task
    except asyncio.CancelledError:
        return True, None


async def test_within_never_swallows_a_cancellation() -> None:
    """The stop-24 teardown hang: a usage poll ended as the scheduler was being stopped,
    ``asyncio.wait_for`` returned its result instead of raising, and the loop went on."""
    assert await _cancelled_as_work_completes(within) == (True, None)
    if sys.version_info < (3, 12):  # the flaw within() exists for
        assert await _cancelled_as_work_completes(asyncio.wait_for) == (False, "done")


async def test_within_times_out_and_cancels_its_work() -> None:
    ended: list[str] = []

    async def slow() -> str:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("slow")
        return "never"

    with pytest.raises(asyncio.TimeoutError):
        await within(slow(), 0.05)
    assert ended == ["slow"]  # cancelled *and* awaited
    assert await within(asyncio.sleep(0, "quick"), 5) == "quick"
    shared: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await within(asyncio.shield(shared), 0.01)
    assert not shared.cancelled()  # a shielded future is the caller's to keep
    with pytest.raises(ZeroDivisionError):
        await within(_fail(), 5)  # the work's own error passes through


async def _fail() -> None:
    raise ZeroDivisionError


async def test_a_task_slow_to_stop_is_named_and_still_awaited(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "STOP_WARNING_SECONDS", 0.05)
    caplog.set_level(logging.WARNING)
    owner = TaskOwner("test-owner")
    ended: list[str] = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.3)  # a slow clean-up
            ended.append("stubborn")

    owner.start_soon(stubborn, name="stubborn-loop")
    await asyncio.sleep(0.01)
    await owner.aclose()
    assert ended == ["stubborn"]  # awaited to the end, not abandoned
    assert "Task stubborn-loop of test-owner has not ended" in caplog.text
