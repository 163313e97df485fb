"""Latency from an app-server stdout line to a WebSocket client, 20 sessions streaming.

Targets: added latency p50 < 2 ms and p99 < 10 ms.

The fake app-server (``fake_app_server.py``) stamps every ``item/agentMessage/delta``
with the wall-clock time taken right before it writes the line. Two runs, same fake,
same load (``--sessions`` turns at once, ``--deltas`` deltas each, one every
``--interval`` seconds):

* baseline: a minimal asyncio client reads the fake's stdout over a pipe (no Jupyter);
* measured: a real ``jupyter server`` with the extension supervises the fake; the
  client creates the sessions over REST, subscribes over the events WebSocket(s)
  (one per session by default, ``--sockets 1`` for a single shared socket, both
  with per-message deflate as browsers negotiate it), starts every turn at once and
  computes receive time minus stamp for each ``assistant.delta``.

"Added" is measured minus baseline, per percentile. Run:
``python benchmarks/event_latency.py [--sessions 20 --deltas 300 --interval 0.02]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import (
    FAKE_APP_SERVER,
    JupyterServer,
    Row,
    bench_env,
    cpu_seconds,
    percentile,
    print_rows,
    workdir,
)
from websockets.asyncio.client import ClientConnection, connect

P50_TARGET_MS = 2.0
P99_TARGET_MS = 10.0

#: Runs inside the server (``jupyter_server_config.py``): logs every garbage collection
#: pause to ``gc.log`` and, with ``--gc-freeze``, calls ``gc.freeze()`` once the
#: benchmark creates the ``freeze`` file (that is: after start-up, before the load).
_GC_PROBE = """
import gc, os, threading, time
_dir = os.path.dirname(os.path.abspath(__file__))
_start = [0.0]
def _gc_probe(phase, info):
    if phase == "start":
        _start[0] = time.perf_counter()
        return
    with open(os.path.join(_dir, "gc.log"), "a") as f:
        f.write(f"{time.time():.6f} {info['generation']} {time.perf_counter() - _start[0]:.6f}\\n")
gc.callbacks.append(_gc_probe)
def _freezer():
    flag = os.path.join(_dir, "freeze")
    for _ in range(6000):
        if os.path.exists(flag):
            gc.collect()
            gc.freeze()
            open(flag + ".done", "w").close()
            return
        time.sleep(0.1)
threading.Thread(target=_freezer, daemon=True).start()
"""


@dataclass
class Samples:
    """Latencies (seconds) of every delta and the receive window."""

    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of the process under test during the stream
    first: float = 0.0
    last: float = 0.0
    completed: int = 0

    def add(self, received: float, delta: str) -> None:
        self.latencies.append(received - float(delta.split(" ", 1)[0][1:]))
        self.first = self.first or received
        self.last = received

    @property
    def throughput(self) -> float:
        span = self.last - self.first
        return len(self.latencies) / span if span > 0 else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def _turn_text(deltas: int, interval: float) -> str:
    return f"benchmark deltas={deltas} interval={interval}"


async def baseline(sessions: int, deltas: int, interval: float, timeout: float) -> Samples:
    """The fake's lines read straight from its stdout by a minimal asyncio client."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(FAKE_APP_SERVER),
        "app-server",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=bench_env(),
        limit=64 * 1024 * 1024,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    ids = itertools.count()
    pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
    samples = Samples()
    done = asyncio.Event()

    async def read() -> None:
        while line := await stdout.readline():
            received = time.time()
            message = json.loads(line)
            method = message.get("method")
            if method == "item/agentMessage/delta":
                samples.add(received, message["params"]["delta"])
            elif method == "turn/completed":
                samples.completed += 1
                if samples.completed == sessions:
                    done.set()
            elif method is None and message.get("id") in pending:
                pending.pop(message["id"]).set_result(message.get("result") or {})

    async def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(ids)
        fut = pending[request_id] = asyncio.get_running_loop().create_future()
        stdin.write(
            json.dumps({"id": request_id, "method": method, "params": params}).encode() + b"\n"
        )
        await stdin.drain()
        return await fut

    reader = asyncio.create_task(read())
    try:
        await request("initialize", {"clientInfo": {"name": "bench"}})
        threads = [
            (await request("thread/start", {"cwd": "/"}))["thread"]["id"] for _ in range(sessions)
        ]
        text = _turn_text(deltas, interval)
        cpu0 = time.process_time()
        await asyncio.gather(
            *(
                request("turn/start", {"threadId": t, "input": [{"type": "text", "text": text}]})
                for t in threads
            )
        )
        await asyncio.wait_for(done.wait(), timeout)
        samples.cpu = time.process_time() - cpu0
    finally:
        stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return samples


async def _open_socket(server: JupyterServer, deflate: bool = True) -> ClientConnection:
    ws = await connect(
        f"{server.ws_url}/codex/api/events",
        additional_headers=server.headers,
        max_size=None,
        max_queue=4096,
        proxy=None,
        compression="deflate" if deflate else None,
    )
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello", hello
    return ws


async def _subscribe(ws: ClientConnection, session_ids: list[str]) -> None:
    for sid in session_ids:
        await ws.send(json.dumps({"type": "subscribe", "session_id": sid, "after": 0}))
    waiting = set(session_ids)
    while waiting:
        message = json.loads(await ws.recv())
        if message["type"] == "subscribed":
            waiting.discard(message["session_id"])


async def through_jupyter(
    server: JupyterServer,
    sessions: int,
    deltas: int,
    interval: float,
    sockets: int,
    timeout: float,
    deflate: bool = True,
    clients: int = 1,
) -> Samples:
    """Deltas of ``sessions`` concurrent turns, received over the events WebSocket(s).

    ``clients`` > 1: fan-out, that many sockets each subscribed to every session (as
    many browser tabs watching the same sessions); every delta is sampled per client."""
    samples = Samples()
    done = asyncio.Event()
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.headers, timeout=60, trust_env=False
    ) as http:
        ids: list[str] = []
        for _ in range(sessions):
            response = await http.post("/codex/api/sessions", json={"cwd": ""})
            response.raise_for_status()
            ids.append(response.json()["id"])
        groups = [ids[i::sockets] for i in range(sockets)] if clients == 1 else [ids] * clients
        conns = [await _open_socket(server, deflate) for _ in groups]
        try:
            for ws, group in zip(conns, groups, strict=True):
                await _subscribe(ws, group)

            async def receive(ws: ClientConnection) -> None:
                while True:
                    raw = await ws.recv()
                    received = time.time()
                    message = json.loads(raw)
                    if message["type"] != "event":
                        continue
                    event = message["event"]
                    if event["type"] == "assistant.delta":
                        samples.add(received, event["data"]["delta"])
                    elif event["type"] == "turn.completed":
                        samples.completed += 1
                        if samples.completed == sessions * clients:
                            done.set()

            receivers = [asyncio.create_task(receive(ws)) for ws in conns]
            text = _turn_text(deltas, interval)
            cpu0 = cpu_seconds(server.pid)
            answers = await asyncio.gather(
                *(
                    http.post(f"/codex/api/sessions/{sid}/messages", json={"text": text})
                    for sid in ids
                )
            )
            for answer in answers:
                answer.raise_for_status()
            try:
                await asyncio.wait_for(done.wait(), timeout)
                samples.cpu = cpu_seconds(server.pid) - cpu0
            finally:
                for task in receivers:
                    task.cancel()
                await asyncio.gather(*receivers, return_exceptions=True)
        finally:
            for ws in conns:
                await ws.close()
    return samples


def _gc_pauses(log: Path, start: float, end: float) -> list[tuple[int, float]]:
    """(generation, seconds) of the server's collections between ``start`` and ``end``."""
    if not log.exists():
        return []
    pauses = []
    for line in log.read_text().splitlines():
        when, gen, seconds = line.split()
        if start <= float(when) <= end:
            pauses.append((int(gen), float(seconds)))
    return pauses


def run(
    sessions: int = 20,
    deltas: int = 300,
    interval: float = 0.02,
    sockets: int | None = None,
    gc_freeze: bool = False,
    deflate: bool = True,
    clients: int = 1,
) -> tuple[list[Row], list[str]]:
    """Baseline first, then the Jupyter path; return the rows and detail lines.

    ``clients`` > 1 measures fan-out: that many WebSockets each receive every session's
    deltas (the baseline still reads each line once, over the pipe)."""
    sockets = clients if clients > 1 else (sockets or sessions)
    timeout = 60 + deltas * interval * 4
    base = asyncio.run(baseline(sessions, deltas, interval, timeout))
    with workdir("latency") as tmp:
        server = JupyterServer(tmp, config_py=_GC_PROBE)
        try:
            server.start()
            if gc_freeze:
                (tmp / "config" / "freeze").touch()
                deadline = time.monotonic() + 30
                while not (tmp / "config" / "freeze.done").exists():
                    if time.monotonic() > deadline:
                        raise RuntimeError("gc.freeze() probe did not run")
                    time.sleep(0.05)
            ours = asyncio.run(
                through_jupyter(
                    server, sessions, deltas, interval, sockets, timeout, deflate, clients
                )
            )
        finally:
            server.stop()
        pauses = _gc_pauses(tmp / "config" / "gc.log", ours.first - 1, ours.last)
    expected = sessions * deltas
    for name, s, want in (("baseline", base, expected), ("jupyter", ours, expected * clients)):
        if len(s.latencies) != want:
            raise RuntimeError(f"{name}: got {len(s.latencies)} deltas, expected {want}")
    label = (
        f"{sessions} sessions, "
        + (f"{clients} clients each subscribed to all" if clients > 1 else f"{sockets} socket(s)")
        + f"{'' if deflate else ', no deflate'}{', gc.freeze()' if gc_freeze else ''}"
    )
    rows = []
    for q, target in ((50, P50_TARGET_MS), (99, P99_TARGET_MS)):
        added = ours.ms(q) - base.ms(q)
        rows += [
            Row(
                "event_latency",
                f"p{q} line->WebSocket ({label})",
                ours.ms(q),
                base.ms(q),
                "ms",
                note="baseline: same fake read over a pipe",
            ),
            Row(
                "event_latency",
                f"p{q} added by jupyter_codex",
                added,
                None,
                "ms",
                f"< {target:g} ms",
                added < target,
            ),
        ]
    full = [p for g, p in pauses if g == 2]
    rows += [
        Row("event_latency", "max line->WebSocket", ours.ms(100), base.ms(100), "ms"),
        Row(
            "event_latency",
            "throughput (deltas/s, all sessions)",
            ours.throughput,
            base.throughput,
            "ev/s",
            note=f"offered ~{sessions / interval:.0f}/s",
        ),
        Row(
            "event_latency",
            "CPU per delta: jupyter server vs pipe reader",
            ours.cpu / (expected * clients) * 1e6,
            base.cpu / expected * 1e6,
            "us",
            note="server process CPU during the stream / deltas delivered",
        ),
        Row(
            "event_latency",
            "longest GC pause in the server during the stream",
            max((p for _, p in pauses), default=0.0) * 1000,
            None,
            "ms",
            note=f"{len(pauses)} collections, {len(full)} full (gen 2), "
            f"{sum(p for _, p in pauses) * 1000:.0f} ms in total",
        ),
    ]
    details = [
        (
            f"{expected} deltas per run: {sessions} sessions x {deltas} deltas, "
            f"one every {interval * 1000:g} ms per session (random phase)"
        )
    ]
    return rows, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--deltas", type=int, default=300, help="deltas per session")
    parser.add_argument(
        "--interval", type=float, default=0.02, help="seconds between deltas of one session"
    )
    parser.add_argument(
        "--sockets", type=int, default=0, help="WebSocket connections (default: one per session)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="fan-out: WebSocket clients each subscribed to every session",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment: gc.freeze() in the server after start-up",
    )
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="experiment: the client does not negotiate per-message deflate",
    )
    args = parser.parse_args()
    rows, details = run(
        args.sessions,
        args.deltas,
        args.interval,
        args.sockets or None,
        args.gc_freeze,
        not args.no_deflate,
        args.clients,
    )
    print_rows("event_latency", rows)
    print("\n".join(details))
    sys.exit(0 if all(r.ok is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
