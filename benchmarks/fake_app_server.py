"""A small fake ``codex app-server`` for the benchmarks (stdlib only).

JSON-RPC over stdio, one JSON object per line, no ``"jsonrpc"`` key, like the real
one. It answers ``initialize``, ``thread/start`` (then notifies ``thread/started``),
``thread/resume``, ``turn/start``, ``turn/interrupt`` and answers ``{}`` to anything
else. Command-line arguments (``app-server -c k=v ...``) are ignored. It exits at
end of stdin.

Each turn is configured by ``key=value`` words in the turn's text input:

``deltas=N``
    ``item/agentMessage/delta`` notifications in the turn (default 50). Each delta's
    text starts with ``@<unix time>`` taken right before its line is written.
``interval=S``
    Seconds between deltas (default 0: as fast as the pipe takes them). Each turn
    starts at a random phase within the first interval, so sessions are not in lockstep.
``total=N`` with ``mix=1``
    Exactly N notifications (``turn/started`` and ``turn/completed`` included) of a
    realistic mix: user message, reasoning, command execution with output, agent
    message deltas and token usage.

A turn emits ``turn/started``, the items, and ``turn/completed``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

JSON = dict[str, Any]

_OUTPUT = "".join(
    f"tests/test_module_{i:02d}.py ........................ [{i:3d}%]\n" for i in range(0, 100, 4)
)
_WORDS = ("the", "parser", "now", "handles", "nested", "quotes", "and", "all", "tests", "pass")
_random = random.Random(1234)


def _send(message: JSON) -> None:
    """Write one line to stdout, whole (blocking)."""
    data = memoryview(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    while data:
        data = data[os.write(1, data) :]


def _text_of(params: JSON) -> str:
    for item in params.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "text":
            return str(item.get("text") or "")
    return ""


def _spec(text: str) -> dict[str, float]:
    spec: dict[str, float] = {"deltas": 50, "interval": 0.0, "total": 0, "mix": 0}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep and key in spec:
            spec[key] = float(value)
    return spec


def _notify(method: str, params: JSON) -> JSON:
    return {"method": method, "params": params}


def _realistic(thread: str, turn: str) -> Iterator[JSON]:
    """An endless, realistic stream of turn items (without turn/started|completed)."""
    base = {"threadId": thread, "turnId": turn}
    yield _notify(
        "item/started",
        {
            **base,
            "item": {
                "type": "userMessage",
                "id": f"{turn}-u",
                "content": [
                    {"type": "text", "text": "Fix the failing parser tests", "text_elements": []}
                ],
            },
        },
    )
    for k in itertools.count(1):
        rid, cid, mid = f"{turn}-r{k}", f"{turn}-c{k}", f"{turn}-m{k}"
        yield _notify("item/started", {**base, "item": {"type": "reasoning", "id": rid}})
        parts = [f"**Step {k}** looking at the failing test and the parser " for _ in range(4)]
        for i, part in enumerate(parts):
            yield _notify(
                "item/reasoning/summaryTextDelta",
                {**base, "itemId": rid, "delta": part, "summaryIndex": i},
            )
        yield _notify(
            "item/completed",
            {
                **base,
                "item": {
                    "type": "reasoning",
                    "id": rid,
                    "summary": ["".join(parts)],
                    "content": [],
                },
            },
        )
        command = f"pytest -q tests/test_parser.py -k case_{k}"
        cmd_item = {
            "type": "commandExecution",
            "id": cid,
            "command": command,
            "cwd": "/home/me/proj",
            "processId": str(4000 + k),
            "status": "inProgress",
            "commandActions": [{"type": "unknown", "command": command}],
        }
        yield _notify("item/started", {**base, "item": cmd_item})
        for i in range(3):
            chunk = _OUTPUT[i * 400 : (i + 1) * 400]
            yield _notify(
                "item/commandExecution/outputDelta", {**base, "itemId": cid, "delta": chunk}
            )
        yield _notify(
            "item/completed",
            {
                **base,
                "item": {
                    **cmd_item,
                    "status": "completed",
                    "aggregatedOutput": _OUTPUT,
                    "exitCode": 0,
                    "durationMs": 1520,
                },
            },
        )
        yield _notify("item/started", {**base, "item": {"type": "agentMessage", "id": mid}})
        words = []
        for i in range(30):
            delta = " ".join(_WORDS[(i + j) % len(_WORDS)] for j in range(4)) + " "
            words.append(delta)
            yield _notify("item/agentMessage/delta", {**base, "itemId": mid, "delta": delta})
        yield _notify(
            "item/completed",
            {
                **base,
                "item": {
                    "type": "agentMessage",
                    "id": mid,
                    "text": "".join(words),
                    "phase": "commentary",
                },
            },
        )
        usage = {
            "totalTokens": 1000 * k,
            "inputTokens": 900 * k,
            "cachedInputTokens": 800 * k,
            "outputTokens": 100 * k,
            "reasoningOutputTokens": 20 * k,
        }
        yield _notify(
            "thread/tokenUsage/updated",
            {**base, "tokenUsage": {"total": usage, "last": usage, "modelContextWindow": 272000}},
        )


class FakeAppServer:
    """The request loop and the running turns."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.turns: dict[str, asyncio.Task[None]] = {}

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "method" in message and "id" in message:
                self.handle(message["id"], message["method"], message.get("params") or {})
        for task in self.turns.values():
            task.cancel()

    def handle(self, request_id: Any, method: str, params: JSON) -> None:
        result: JSON = {}
        after: list[JSON] = []
        if method == "initialize":
            result = {"userAgent": "fake_app_server/0.0.0 (benchmark)"}
        elif method in ("thread/start", "thread/resume"):
            thread_id = params.get("threadId") or f"thr-{next(self.ids)}-{os.getpid()}"
            thread = {
                "id": thread_id,
                "preview": "",
                "modelProvider": "openai",
                "cwd": params.get("cwd") or "",
                "createdAt": int(time.time()),
            }
            result = {"thread": thread, "model": "m", "modelProvider": "openai"}
            if method == "thread/start":
                after.append(_notify("thread/started", {"thread": thread}))
        elif method == "turn/start":
            turn_id = f"turn-{next(self.ids)}"
            result = {"turn": {"id": turn_id, "status": "inProgress", "items": []}}
            spec = _spec(_text_of(params))
            task = asyncio.ensure_future(self.run_turn(str(params.get("threadId")), turn_id, spec))
            self.turns[turn_id] = task
            task.add_done_callback(lambda _t: self.turns.pop(turn_id, None))
        elif method == "turn/interrupt":
            task = self.turns.get(str(params.get("turnId")))
            if task is not None:
                task.cancel()
        _send({"id": request_id, "result": result})
        for note in after:
            _send(note)

    async def run_turn(self, thread: str, turn: str, spec: dict[str, float]) -> None:
        started = int(time.time())
        _send(
            _notify(
                "turn/started",
                {
                    "threadId": thread,
                    "turn": {"id": turn, "status": "inProgress", "items": [], "startedAt": started},
                },
            )
        )
        status = "completed"
        try:
            if spec["mix"]:
                stream = _realistic(thread, turn)
                for n in range(max(int(spec["total"]) - 2, 0)):
                    _send(next(stream))
                    if n % 64 == 63:
                        await asyncio.sleep(0)
            else:
                await self.paced_deltas(thread, turn, int(spec["deltas"]), spec["interval"])
        except asyncio.CancelledError:
            status = "interrupted"
        _send(
            _notify(
                "turn/completed",
                {
                    "threadId": thread,
                    "turn": {
                        "id": turn,
                        "status": status,
                        "items": [],
                        "startedAt": started,
                        "completedAt": int(time.time()),
                    },
                },
            )
        )

    @staticmethod
    async def paced_deltas(thread: str, turn: str, count: int, interval: float) -> None:
        loop = asyncio.get_running_loop()
        item = f"{turn}-msg"
        base = {"threadId": thread, "turnId": turn}
        _send(_notify("item/started", {**base, "item": {"type": "agentMessage", "id": item}}))
        start = loop.time() + _random.random() * interval
        for k in range(count):
            delay = start + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif k % 64 == 63:
                await asyncio.sleep(0)
            words = " ".join(_WORDS[(k + j) % len(_WORDS)] for j in range(3))
            _send(
                _notify(
                    "item/agentMessage/delta",
                    {**base, "itemId": item, "delta": f"@{time.time():.6f} {words} "},
                )
            )
        _send(
            _notify(
                "item/completed",
                {
                    **base,
                    "item": {
                        "type": "agentMessage",
                        "id": item,
                        "text": f"{count} deltas",
                        "phase": None,
                    },
                },
            )
        )


def main() -> None:
    asyncio.run(FakeAppServer().serve())


if __name__ == "__main__":
    main()
