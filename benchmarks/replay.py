"""Replay of a 10,000-event session log: target < 200 ms.

The log is filled through the real server: the fake app-server emits one turn of a
realistic mix (reasoning, command output, agent message deltas, token usage) so the
session holds exactly ``--events`` events. Then, medians of ``--reps`` runs:

* ``GET codex/api/sessions/{id}/events?after=0`` until the whole body has arrived;
* WebSocket ``subscribe`` with ``after=0`` until ``subscribed`` (every event received);
* baseline: the same rows with a raw ``sqlite3`` SELECT on the same database file.

A last check appends a few events (so the log exceeds ``max_events_per_page``) and
verifies that a WebSocket subscribe with ``after=0`` still replays all of them.
Run: ``python benchmarks/replay.py [--events 10000 --reps 7]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from typing import Any

import httpx
from _common import JupyterServer, Row, cpu_seconds, median, print_rows, workdir
from websockets.asyncio.client import ClientConnection, connect

TARGET_MS = 200.0


async def _wait_idle(http: httpx.AsyncClient, sid: str, min_seq: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = (await http.get(f"/codex/api/sessions/{sid}")).json()
        if session["state"] == "idle" and session["last_seq"] >= min_seq:
            return int(session["last_seq"])
        await asyncio.sleep(0.05)
    raise TimeoutError(f"session {sid} did not reach seq {min_seq}")


async def _ws_replay(ws: ClientConnection, sid: str) -> tuple[float, int, int]:
    """Subscribe after=0; return (seconds until subscribed, events received, last_seq)."""
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "subscribe", "session_id": sid, "after": 0}))
    count = 0
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "event":
            count += 1
        elif message["type"] == "events":  # replay frames batch up to 1,000 events
            count += len(message["events"])
        elif message["type"] == "subscribed":
            elapsed = time.perf_counter() - t0
            break
        elif message["type"] == "error":
            raise RuntimeError(message)
    await ws.send(json.dumps({"type": "unsubscribe", "session_id": sid}))
    while json.loads(await ws.recv())["type"] != "unsubscribed":
        pass
    return elapsed, count, int(message["last_seq"])


def _sqlite_select(db: str, sid: str, limit: int) -> tuple[float, int, int]:
    """Seconds for the raw SELECT of the rows, row count and total body bytes."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        t0 = time.perf_counter()
        bodies = [
            r[0]
            for r in conn.execute(
                "SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (sid, 0, limit),
            )
        ]
        return time.perf_counter() - t0, len(bodies), sum(len(b) for b in bodies)
    finally:
        conn.close()


async def measure(server: JupyterServer, events: int, reps: int) -> dict[str, Any]:
    """Fill one session and time the three replays."""
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.headers, timeout=120, trust_env=False
    ) as http:
        session = (await http.post("/codex/api/sessions", json={"cwd": ""})).json()
        sid = session["id"]
        text = f"benchmark mix=1 total={events - session['last_seq']}"
        t0 = time.perf_counter()
        (
            await http.post(f"/codex/api/sessions/{sid}/messages", json={"text": text})
        ).raise_for_status()
        out["last_seq"] = await _wait_idle(http, sid, events, 300)
        out["fill_s"] = time.perf_counter() - t0
        url = f"/codex/api/sessions/{sid}/events?after=0"
        rest: list[float] = []
        rest_cpu: list[float] = []
        for i in range(reps + 1):
            cpu0 = cpu_seconds(server.pid)
            t0 = time.perf_counter()
            response = await http.get(url)
            body = response.content
            if i:
                rest.append(time.perf_counter() - t0)
                rest_cpu.append(cpu_seconds(server.pid) - cpu0)
        out["rest"], out["rest_cpu"] = rest, rest_cpu
        out["rest_bytes"] = len(body)
        out["rest_events"] = len(json.loads(body)["events"])

        ws = await connect(
            f"{server.ws_url}/codex/api/events",
            additional_headers=server.headers,
            max_size=None,
            max_queue=None,
            proxy=None,
        )
        try:
            await ws.recv()  # hello
            runs, ws_cpu = [], []
            for _ in range(reps + 1):
                cpu0 = cpu_seconds(server.pid)
                runs.append(await _ws_replay(ws, sid))
                ws_cpu.append(cpu_seconds(server.pid) - cpu0)
            runs, out["ws_cpu"] = runs[1:], ws_cpu[1:]
            out["ws"] = [r[0] for r in runs]
            out["ws_events"] = runs[0][1]
            db = str(server.data_dir / "codex.db")
            selects = [_sqlite_select(db, sid, events) for _ in range(reps + 1)][1:]
            out["sqlite"] = [s[0] for s in selects]
            out["sqlite_rows"], out["sqlite_bytes"] = selects[0][1], selects[0][2]
            # Past one REST page: does the WebSocket still replay everything?
            (
                await http.post(
                    f"/codex/api/sessions/{sid}/messages", json={"text": "benchmark deltas=5"}
                )
            ).raise_for_status()
            out["grown_seq"] = await _wait_idle(http, sid, out["last_seq"] + 1, 60)
            _, out["grown_ws_events"], out["grown_ws_last"] = await _ws_replay(ws, sid)
        finally:
            await ws.close()
    return out


def run(events: int = 10_000, reps: int = 7) -> tuple[list[Row], list[str]]:
    """Fill, time, check; return the rows and detail lines."""
    with workdir("replay") as tmp:
        server = JupyterServer(tmp)
        try:
            server.start()
            r = asyncio.run(measure(server, events, reps))
        finally:
            server.stop()
    if not (r["rest_events"] == r["ws_events"] == r["sqlite_rows"] == events):
        raise RuntimeError(f"event counts differ: {r}")
    base = median(r["sqlite"]) * 1000
    rest, ws = median(r["rest"]) * 1000, median(r["ws"]) * 1000
    complete = r["grown_ws_events"] == r["grown_seq"]
    rows = [
        Row(
            "replay",
            f"REST GET events?after=0 ({events:,} events)",
            rest,
            base,
            "ms",
            f"< {TARGET_MS:.0f} ms",
            rest < TARGET_MS,
            note="baseline: raw sqlite3 SELECT",
        ),
        Row(
            "replay",
            f"WebSocket subscribe after=0 until subscribed ({events:,})",
            ws,
            base,
            "ms",
            f"< {TARGET_MS:.0f} ms",
            ws < TARGET_MS,
        ),
        Row(
            "replay",
            "server CPU per replay: REST vs WebSocket",
            median(r["rest_cpu"]) * 1000,
            median(r["ws_cpu"]) * 1000,
            "ms",
            note="jupyter server process; baseline = WS",
        ),
        Row(
            "replay",
            "fill rate through the server (fake line -> event log)",
            events / r["fill_s"],
            None,
            "ev/s",
            note=f"{events:,} events in {r['fill_s']:.1f} s",
        ),
        Row(
            "replay",
            f"WS replay of a {r['grown_seq']:,}-event log: events received",
            r["grown_ws_events"],
            r["grown_seq"],
            "events",
            "all of them",
            complete,
            note=f"'subscribed' said last_seq={r['grown_ws_last']}",
        ),
    ]
    details = [
        (
            f"payload: {r['rest_bytes'] / 1e6:.2f} MB JSON over REST, "
            f"{r['sqlite_bytes'] / events:.0f} B per event body on average"
        ),
        (
            f"raw runs (ms): REST {[round(x * 1000) for x in r['rest']]}, "
            f"WS {[round(x * 1000) for x in r['ws']]}, "
            f"sqlite {[round(x * 1000, 1) for x in r['sqlite']]}"
        ),
    ]
    return rows, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    rows, details = run(args.events, args.reps)
    print_rows("replay", rows)
    print("\n".join(details))
    sys.exit(0 if all(r.ok is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
