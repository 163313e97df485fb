"""The supervisor's one state machine: legal moves only, and the readiness future in step."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codex.errors import AppServerStartError
from jupyter_codex.supervisor import TRANSITIONS, Lifecycle
from jupyter_codex.supervisor.state import IllegalTransitionError


async def test_a_start_opens_one_future_that_running_resolves() -> None:
    life = Lifecycle("cli")
    assert life.state == "stopped" and life.ready is None
    fut = life.to("starting")
    assert fut is not None and life.ready is fut and not fut.done()
    assert life.to("running") is None
    assert fut.done() and fut.result() is None


async def test_a_failed_automatic_attempt_fails_its_waiters_and_opens_the_next() -> None:
    life = Lifecycle("cli")
    life.to("starting")
    life.to("running")
    first = life.to("restarting")
    assert first is not None
    assert life.to("restarting") is first  # a second report of the same crash: same future
    second = life.to("restarting", RuntimeError("no binary"))
    assert second is not None and second is not first
    with pytest.raises(AppServerStartError, match="failed to start: no binary"):
        first.result()
    life.to("dead", AppServerStartError("died 6 times in a row"))
    with pytest.raises(AppServerStartError, match="died 6 times"):
        second.result()
    assert life.ready is None


async def test_stop_fails_waiters_and_cancellation_reads_as_interrupted() -> None:
    life = Lifecycle("api")
    fut = life.to("starting")
    assert fut is not None
    life.to("stopped", asyncio.CancelledError())
    with pytest.raises(AppServerStartError, match="was interrupted"):
        fut.result()


@pytest.mark.parametrize(
    ("path", "illegal"),
    [((), "running"), (("starting",), "restarting"), (("starting", "running"), "starting")],
)
async def test_illegal_moves_are_refused(path: tuple[str, ...], illegal: str) -> None:
    life = Lifecycle("cli")
    for state in path:
        life.to(state)  # type: ignore[arg-type]
    assert illegal not in TRANSITIONS[life.state]
    with pytest.raises(IllegalTransitionError):
        life.to(illegal)  # type: ignore[arg-type]
