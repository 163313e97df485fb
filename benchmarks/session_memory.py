"""Memory per additional idle session in the Jupyter server process: target < 1 MB.

A real ``jupyter server`` with the extension and the fake app-server. After one
warm-up session (which starts the app-server), the server's RSS (``VmRSS``, read
after a few idle seconds) is taken before and after creating ``--sessions`` sessions
over REST; the difference divided by the count is the cost per session.

Baseline, same run: the RSS growth per request of the same number of REST requests
that create nothing (``GET codex/api/sessions/{id}``), i.e. allocator and request
noise. The app-server's RSS is a separate process and is reported separately; with
the fake it says nothing about codex (the real app-server keeps its own per-thread
state). Run: ``python benchmarks/session_memory.py [--sessions 200]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from _common import JupyterServer, Row, print_rows, rss_kib, workdir

TARGET_KIB = 1024.0


def _settled_rss(pid: int, idle: float) -> int:
    """RSS after ``idle`` seconds without traffic (Python frees what it can by then)."""
    time.sleep(idle)
    return rss_kib(pid)


def run(sessions: int = 200, idle: float = 3.0) -> tuple[list[Row], list[str]]:
    """Measure; return the rows and detail lines."""
    with workdir("memory") as tmp:
        server = JupyterServer(tmp)
        try:
            server.start()
            with httpx.Client(
                base_url=server.url, headers=server.headers, timeout=60, trust_env=False
            ) as http:
                first = http.post("/codex/api/sessions", json={"cwd": ""}).json()["id"]
                app_pid = http.get("/codex/api/status").json()["targets"]["cli"]["pid"]
                control0 = _settled_rss(server.pid, idle)
                for _ in range(sessions):
                    http.get(f"/codex/api/sessions/{first}").raise_for_status()
                before = _settled_rss(server.pid, idle)
                app_before = rss_kib(app_pid)
                t0 = time.perf_counter()
                for _ in range(sessions):
                    http.post("/codex/api/sessions", json={"cwd": ""}).raise_for_status()
                create_s = time.perf_counter() - t0
                after = _settled_rss(server.pid, idle)
                app_after = rss_kib(app_pid)
                listed = len(http.get("/codex/api/sessions").json()["sessions"])
        finally:
            server.stop()
    if listed != sessions + 1:
        raise RuntimeError(f"expected {sessions + 1} sessions, listed {listed}")
    per_session = (after - before) / sessions
    per_request = (before - control0) / sessions
    rows = [
        Row(
            "session_memory",
            f"server RSS per idle session ({sessions} sessions)",
            per_session,
            per_request,
            "KiB",
            f"< {TARGET_KIB:.0f} KiB",
            per_session < TARGET_KIB,
            note=f"baseline: per no-op GET; RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB",
        ),
        Row(
            "session_memory",
            "session creation time (mean, via REST)",
            create_s / sessions * 1000,
            None,
            "ms",
        ),
        Row(
            "session_memory",
            "fake app-server RSS per session (not codex!)",
            (app_after - app_before) / sessions,
            None,
            "KiB",
            note=f"{app_before / 1024:.1f} -> {app_after / 1024:.1f} MiB; meaningless "
            "for the real codex app-server",
        ),
    ]
    details = [
        (
            f"server pid RSS: start {control0} KiB, after {sessions} GETs {before} KiB, "
            f"after {sessions} sessions {after} KiB"
        )
    ]
    return rows, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--idle", type=float, default=3.0, help="idle seconds before reading RSS")
    args = parser.parse_args()
    rows, details = run(args.sessions, args.idle)
    print_rows("session_memory", rows)
    print("\n".join(details))
    sys.exit(0 if all(r.ok is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
