"""The job queue: enqueue latency, listing 10,000 jobs, and what the queue adds to a message.

Targets (issue 19): enqueue → ``turn/start`` on an idle session ≤ 50 ms p50; listing
10,000 stored jobs ≤ 100 ms; the queue adds no measurable latency to a plain message.

A real ``jupyter server`` with the extension supervises the benchmark fake app-server
(``fake_app_server.py``: one-delta turns), so what is timed is our server. One session,
one events WebSocket, ``--rounds`` rounds, each doing in turn and waiting for the turn
to finish before the next:

* plain: ``POST …/messages`` → its ``202`` (``turn/start`` answered inside) — the baseline;
* ``when_busy: "queue"`` on an idle session → its ``202`` (the same path plus the
  queue's check);
* a job: ``POST codex/api/jobs`` sent → its ``job.started`` event received on the
  WebSocket (emitted once ``turn/start`` answered), i.e. enqueue → turn started.

Then 10,000 finished jobs are written into the store and ``GET codex/api/jobs?limit=10000``
is timed (median of 5) against a bare ``sqlite3`` SELECT of the same rows.

Run: ``python benchmarks/jobs.py [--rounds 40]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
import uuid

import httpx
from _common import JupyterServer, Row, median, percentile, print_rows, workdir
from websockets.asyncio.client import ClientConnection, connect

ENQUEUE_TARGET_MS = 50.0
LIST_TARGET_MS = 100.0
RATIO_TARGET = 1.10
JOBS = 10_000


async def _next_event(ws: ClientConnection, wanted: str, timeout: float = 30.0) -> float:
    """Wait for an event of type ``wanted``; the time it arrived."""
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        now = time.perf_counter()
        message = json.loads(raw)
        events = [message["event"]] if message["type"] == "event" else message.get("events", [])
        if any(e["type"] == wanted for e in events):
            return now


async def measure(server: JupyterServer, rounds: int) -> tuple[dict[str, list[float]], str]:
    """Milliseconds per round of each path, and the session used."""
    times: dict[str, list[float]] = {"plain": [], "when_busy": [], "job": []}
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=30) as http:
        sid = (await http.post("/codex/api/sessions", json={"cwd": ""})).json()["id"]
        ws = await connect(
            f"{server.ws_url}/codex/api/events", additional_headers=server.headers, proxy=None
        )
        await ws.send(json.dumps({"type": "subscribe", "session_id": sid}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        body = {"text": "deltas=1"}
        for n in range(rounds + 3):  # 3 warm-up rounds
            t0 = time.perf_counter()
            r = await http.post(f"/codex/api/sessions/{sid}/messages", json=body)
            plain = time.perf_counter() - t0
            assert r.status_code == 202, r.text
            await _next_event(ws, "turn.completed")

            t0 = time.perf_counter()
            r = await http.post(
                f"/codex/api/sessions/{sid}/messages", json={**body, "when_busy": "queue"}
            )
            busy = time.perf_counter() - t0
            assert r.status_code == 202 and "turn_id" in r.json(), r.text
            await _next_event(ws, "turn.completed")

            t0 = time.perf_counter()
            r = await http.post("/codex/api/jobs", json={**body, "session_id": sid})
            assert r.status_code == 201, r.text
            job = await _next_event(ws, "job.started") - t0
            await _next_event(ws, "job.succeeded")
            if n >= 3:
                times["plain"].append(plain * 1000)
                times["when_busy"].append(busy * 1000)
                times["job"].append(job * 1000)
        await ws.close()
    return times, sid


def fill_jobs(db_path: str, session_id: str, count: int) -> None:
    """Write ``count`` finished jobs straight into the store, in the repository's own
    row format (preparation, not timed)."""
    from jupyter_codex.models import Job
    from jupyter_codex.store.jobs import row_of

    now = time.time()
    rows = [
        row_of(
            Job(
                id=uuid.uuid4().hex,
                session_id=session_id,
                text=f"job {i}: run the tests and summarise the failures",
                state="succeeded",
                attempts=1,
                created_at=now - count + i,
                started_at=now - count + i,
                finished_at=now - count + i + 1,
                result={"turn_id": f"turn-{i}", "text": "All tests pass.", "usage": {"input": 800}},
            )
        )
        for i in range(count)
    ]
    columns = list(rows[0])
    with sqlite3.connect(db_path) as conn:
        conn.executemany(
            f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
            rows,
        )


def time_listing(server: JupyterServer, db_path: str, count: int) -> tuple[float, float]:
    """Median ms of ``GET codex/api/jobs?limit=count`` and of a bare sqlite3 SELECT."""
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as http:
        samples = []
        for n in range(6):
            t0 = time.perf_counter()
            r = http.get("/codex/api/jobs", params={"limit": count})
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200 and len(r.json()["jobs"]) == count, r.text[:300]
            if n:
                samples.append(elapsed * 1000)
    base = []
    with sqlite3.connect(db_path) as conn:
        for _ in range(5):
            t0 = time.perf_counter()
            conn.execute("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", (count,)).fetchall()
            base.append((time.perf_counter() - t0) * 1000)
    return median(samples), median(base)


def run(rounds: int) -> list[Row]:
    with workdir("jobs") as tmp:
        server = JupyterServer(tmp)
        try:
            server.start()
            times, sid = asyncio.run(measure(server, rounds))
            db_path = str(server.data_dir / "codex.db")
            fill_jobs(db_path, sid, JOBS - rounds - 3)
            listing, select = time_listing(server, db_path, JOBS)
        finally:
            server.stop()
    plain, busy, job = (percentile(times[k], 50) for k in ("plain", "when_busy", "job"))
    return [
        Row(
            "jobs",
            "enqueue → turn started (job.started on the WS), p50",
            job,
            plain,
            "ms",
            f"≤ {ENQUEUE_TARGET_MS:g} ms",
            job <= ENQUEUE_TARGET_MS,
            "baseline: a plain message's POST → 202",
        ),
        Row("jobs", "… p99", percentile(times["job"], 99), percentile(times["plain"], 99), "ms"),
        Row(
            "jobs",
            'message with when_busy: "queue" (idle session), p50',
            busy,
            plain,
            "ms",
            f"≤ {RATIO_TARGET:.2f}x",
            busy <= plain * RATIO_TARGET,
            "same run, same session",
        ),
        Row(
            "jobs",
            f"GET codex/api/jobs, {JOBS:,} stored jobs, median of 5",
            listing,
            select,
            "ms",
            f"≤ {LIST_TARGET_MS:g} ms",
            listing <= LIST_TARGET_MS,
            "baseline: sqlite3 SELECT of the same rows",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    rows = run(args.rounds)
    print_rows("jobs", rows)
    if any(row.ok is False for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
