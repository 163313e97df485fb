"""Idle shutdown: memory of an idle server before and after, and the cost of the restart.

A real ``jupyter server`` with the extension and the **real** codex app-server against
the fake upstream (``tests/fakes``), ``IdleShutdown.timeout`` set to ``--idle`` seconds.

* Memory: RSS summed over the server process and its descendants (the codex children),
  after one turn and a few quiet seconds, then again once idle shutdown stopped codex.
* Latency: the time from sending a message (``send_and_wait``: read the session, POST
  the message, follow its events) to the turn's first event, on a warm app-server and
  right after an idle shutdown (codex starts, signs in and resumes the thread first).
  Median of ``--rounds`` each, in the same run.

Run: ``python benchmarks/idle_shutdown.py [--rounds 3] [--idle 8]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import Row, print_rows, rss_kib

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "ops")]

from fakes import text
from ops_server import ops_server

from jupyter_codex.kernel import CodexClient


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (``/proc/*/stat``; works without
    ``/proc/<pid>/task/*/children``, which some kernels lack)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children(p)
    return found


def tree_rss_kib(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += rss_kib(p)
        except (OSError, RuntimeError):
            continue
    return total


def first_event_s(client: CodexClient, session_id: str, message: str) -> float:
    """Seconds from sending ``message`` to the first event of its turn."""
    first: list[float] = []
    started = time.perf_counter()

    def on_event(_event: object) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    result = client.send_and_wait(session_id, message, on_event=on_event, timeout=120)
    if result.status != "completed" or not first:
        raise RuntimeError(f"turn {result.status}: {result.error}")
    return first[0]


def wait_state(client: CodexClient, state: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.status().targets["cli"]["state"] != state:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app-server did not become {state}")
        time.sleep(0.1)


def run(rounds: int = 3, idle: float = 8.0, settle: float = 2.0) -> list[Row]:
    extra = {"IdleShutdown": {"timeout": idle, "check_interval": 0.1}}
    with (
        tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp,
        ops_server(Path(tmp), extra) as ops,
    ):
        ops.fake.script("BENCH-IDLE", text("ok"))
        server_pid = ops.server.process.pid if ops.server.process else 0
        with CodexClient(ops.url, ops.server.token) as client:
            session = client.create_session("proj")
            first_event_s(client, session.id, "BENCH-IDLE warm up")
            warm = [
                first_event_s(client, session.id, f"BENCH-IDLE warm {i}") for i in range(rounds)
            ]
            time.sleep(settle)
            if client.status().targets["cli"]["state"] != "running":
                raise RuntimeError("codex stopped before the first reading: raise --idle")
            before = tree_rss_kib(server_pid)
            children_before = len(tree(server_pid)) - 1
            wait_state(client, "stopped")
            time.sleep(settle)
            after = tree_rss_kib(server_pid)
            children_after = len(tree(server_pid)) - 1
            cold = []
            for i in range(rounds):
                wait_state(client, "stopped")
                cold.append(first_event_s(client, session.id, f"BENCH-IDLE cold {i}"))
    print(f"processes besides the server: {children_before} before, {children_after} after")
    return [
        Row(
            "idle_shutdown",
            "idle RSS, server + codex children (baseline: before shutdown)",
            after / 1024,
            before / 1024,
            "MiB",
        ),
        Row(
            "idle_shutdown",
            "message -> first event after a shutdown (baseline: warm), median",
            statistics.median(cold) * 1000,
            statistics.median(warm) * 1000,
            "ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=8.0)
    args = parser.parse_args()
    print_rows("idle shutdown", run(args.rounds, args.idle))


if __name__ == "__main__":
    main()
