"""proxy/sse_writer.py without a server: keep-alives, flushing, back-pressure, a gone client.

The sink stands in for Tornado's response (the only framework piece); the writer under
test is the product's own code.
"""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codex.proxy.sse_writer import ClientGone, SSEWriter


class Closed(Exception):
    """What the sink's flush raises once the client is gone."""


class MemorySink:
    closed_errors: tuple[type[BaseException], ...] = (Closed,)

    def __init__(self) -> None:
        self.started = 0
        self.buffer = b""
        self.sent: list[bytes] = []  # one entry per flush: what left in one socket write
        self.finished = False
        self.gate: asyncio.Event | None = None  # set: flushes wait for it (a slow client)
        self.closed = False

    def start(self) -> None:
        self.started += 1

    def write(self, data: bytes) -> None:
        self.buffer += data

    def flush(self) -> asyncio.Future[None]:
        return asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.closed:
            raise Closed
        if self.buffer:
            self.sent.append(self.buffer)
            self.buffer = b""


async def test_keepalives_only_while_silent_and_only_for_streams() -> None:
    sink = MemorySink()
    writer = SSEWriter(sink, keepalive_seconds=0.05)
    writer.stream_mode = True
    never = asyncio.get_running_loop().create_future()
    result = await writer.wait(asyncio.ensure_future(asyncio.sleep(0.18, "done")), b":k\n\n", never)
    assert result == "done"
    assert sink.started == 1 and writer.started
    assert 2 <= sink.sent.count(b":k\n\n") <= 4
    quiet = SSEWriter(MemorySink(), keepalive_seconds=0.01)  # a JSON answer: no keep-alives
    await quiet.wait(asyncio.ensure_future(asyncio.sleep(0.05)), b":k\n\n", never)
    assert not quiet.started and quiet.sink.sent == []  # type: ignore[attr-defined]


async def test_frames_of_one_iteration_leave_in_one_flush() -> None:
    sink = MemorySink()
    writer = SSEWriter(sink, keepalive_seconds=10)
    await writer.send(b"")
    for frame in (b"a", b"b", b"c"):
        await writer.write_frames(frame)
    assert sink.sent == []  # scheduled, not yet flushed
    await asyncio.sleep(0.01)
    assert sink.sent == [b"abc"]


async def test_a_lagging_client_slows_the_relay_down() -> None:
    sink = MemorySink()
    writer = SSEWriter(sink, keepalive_seconds=10)
    await writer.send(b"")
    sink.gate = asyncio.Event()
    await writer.write_frames(b"1")
    await asyncio.sleep(0.01)  # the flush of "1" is in flight and blocked
    blocked = asyncio.ensure_future(writer.write_frames(b"2"))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # waits for the previous flush instead of buffering on
    sink.gate.set()
    await blocked
    await asyncio.sleep(0.01)
    assert b"".join(sink.sent) == b"12"


async def test_a_gone_client_ends_the_wait_and_the_writes() -> None:
    sink = MemorySink()
    writer = SSEWriter(sink, keepalive_seconds=10)
    closer = asyncio.get_running_loop().create_future()
    work = asyncio.ensure_future(asyncio.sleep(5))
    asyncio.get_running_loop().call_later(0.02, closer.set_result, None)
    with pytest.raises(ClientGone):
        await writer.wait(work, b":k\n\n", closer)
    await asyncio.sleep(0)
    assert work.cancelled()
    sink.closed = True
    with pytest.raises(ClientGone):
        await writer.send(b"data: x\n\n")
