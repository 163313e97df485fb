"""Sessions on one app-server vs one app-server per session, with the real codex binary.

jupyter-codex runs every session of a target as a thread of **one** ``codex
app-server``; a gateway in the codex-gateway style starts **one app-server per
session**. Both are measured here with the same real binary (``openai-codex-cli-bin``),
the same JSONL client (``tests/fakes/appserver.py``) and the same fake upstream
(``--serve-fake`` of ``proxy_latency.py``), for each count in ``--sessions``:

* one app-server: spawn + ``initialize`` once, then ``thread/start`` per session, one
  after the other; start latency of the first session (process included) and the
  median of the others; memory: PSS of the process tree after the last one;
* one per session: all app-servers spawned at once (N users arriving together), each
  spawn + ``initialize`` + ``thread/start``; start latency median and the time until
  all are ready; memory: the PSS sum of every process tree.

PSS (proportional set size) splits pages shared between processes (the binary's
code) among them: summing RSS would count the shared code N times. codex-gateway
itself (a FastAPI app in front of those processes) is not started: its own process
would only add to the per-session side. Run:
``python benchmarks/workspace_models.py [--sessions 1,10] [--slow]`` (``--slow``: 50).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO, Row, print_rows, tree_private_kib, tree_pss_kib

sys.path.insert(0, str(REPO / "tests"))

from fakes.appserver import AppServer
from fakes.codex_env import codex_test_config, codex_test_env, write_chatgpt_auth_json

ACCOUNT_ID, EMAIL, REFRESH_TOKEN = "acct-bench", "bench@example.com", "rt-bench"


@dataclass
class FakeAddress:
    """The parts of ``FakeUpstream`` that ``codex_test_config`` reads, for a fake that
    runs in another process."""

    url: str
    ca_path: str

    @property
    def chatgpt_base_url(self) -> str:
        return self.url + "/backend-api"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"


@dataclass
class Model:
    """One way of hosting ``sessions`` sessions."""

    name: str
    sessions: int
    first_start_ms: float  # first session ready, process start included
    start_p50_ms: float  # median session start
    all_ready_ms: float  # every session ready
    pss_mib: float  # memory of all app-server processes (shared pages split)
    private_mib: float  # their private memory (what each extra process really adds)
    processes: int


def _codex_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    write_chatgpt_auth_json(home, EMAIL, ACCOUNT_ID, REFRESH_TOKEN)


async def _app_server(fake: FakeAddress, home: Path) -> AppServer:
    await asyncio.to_thread(_codex_home, home)
    server = AppServer(home, codex_test_config(fake), codex_test_env(fake), cwd=home)  # type: ignore[arg-type]
    await server.start(client_name="jupyter_codex_bench")
    return server


async def _thread(server: AppServer, cwd: Path) -> str:
    result = await server.request("thread/start", {"cwd": str(cwd)}, timeout=120)
    return str(result["thread"]["id"])


def _pid(server: AppServer) -> int:
    assert server.proc is not None
    return server.proc.pid


async def one_server(fake: FakeAddress, sessions: int, root: Path, settle: float) -> Model:
    t0 = time.perf_counter()
    server = await _app_server(fake, root / "home-shared")
    try:
        starts: list[float] = []
        for _ in range(sessions):
            t = time.perf_counter()
            await _thread(server, root)
            # the first session waits for the process too
            starts.append((time.perf_counter() - (t if starts else t0)) * 1000)
        all_ready = (time.perf_counter() - t0) * 1000
        await asyncio.sleep(settle)
        pss = tree_pss_kib(_pid(server)) / 1024
        private = tree_private_kib(_pid(server)) / 1024
    finally:
        await server.close()
    return Model(
        "one app-server (jupyter-codex)",
        sessions,
        starts[0],
        statistics.median(starts),
        all_ready,
        pss,
        private,
        1,
    )


async def per_session(fake: FakeAddress, sessions: int, root: Path, settle: float) -> Model:
    t0 = time.perf_counter()
    servers: list[AppServer] = []
    ready: list[float] = []

    async def start(i: int) -> None:
        server = await _app_server(fake, root / f"home-{i}")
        servers.append(server)
        await _thread(server, root)
        ready.append((time.perf_counter() - t0) * 1000)

    try:
        await asyncio.gather(*(start(i) for i in range(sessions)))
        all_ready = (time.perf_counter() - t0) * 1000
        await asyncio.sleep(settle)
        pss = sum(tree_pss_kib(_pid(s)) for s in servers) / 1024
        private = sum(tree_private_kib(_pid(s)) for s in servers) / 1024
    finally:
        await asyncio.gather(*(s.close() for s in servers), return_exceptions=True)
    return Model(
        "one app-server per session (codex-gateway model)",
        sessions,
        min(ready),
        statistics.median(ready),
        all_ready,
        pss,
        private,
        sessions,
    )


async def measure(fake: FakeAddress, counts: list[int], settle: float = 2.0) -> list[Model]:
    with tempfile.TemporaryDirectory(prefix="jcx-bench-ws-") as d:  # warm the page cache
        await (await _app_server(fake, Path(d) / "home")).close()
    models: list[Model] = []
    for n in counts:
        for fn in (one_server, per_session):
            with tempfile.TemporaryDirectory(prefix="jcx-bench-ws-") as d:
                models.append(await fn(fake, n, Path(d), settle))
                print(f"  {models[-1]}", flush=True)
    return models


def rows(models: list[Model]) -> list[Row]:
    """Per count: per-session memory and start latency, gateway model vs ours."""
    out: list[Row] = []
    for n in sorted({m.sessions for m in models}):
        ours = next(m for m in models if m.sessions == n and m.name.startswith("one app-server ("))
        theirs = next(m for m in models if m.sessions == n and "per session" in m.name)
        out += [
            Row(
                "workspace",
                f"app-server memory (PSS), {n} sessions: one per session vs one shared",
                theirs.pss_mib,
                ours.pss_mib,
                "MiB",
                note=f"{theirs.processes} vs 1 process(es)",
            ),
            Row(
                "workspace",
                f"app-server private memory, {n} sessions: one per session vs one shared",
                theirs.private_mib,
                ours.private_mib,
                "MiB",
                note="USS: pages no other process shares",
            ),
            Row(
                "workspace",
                f"time until all {n} sessions are ready: one per session vs one shared",
                theirs.all_ready_ms,
                ours.all_ready_ms,
                "ms",
                note="per session: spawned together; shared: thread/start one after the other",
            ),
            Row(
                "workspace",
                f"median session start, {n} sessions: one per session vs one shared",
                theirs.start_p50_ms,
                ours.start_p50_ms,
                "ms",
                note="shared: a thread/start on a running app-server",
            ),
        ]
    return out


def run(fake: FakeAddress, counts: list[int]) -> tuple[list[Row], list[Model]]:
    models = asyncio.run(measure(fake, counts))
    return rows(models), models


def main() -> None:
    from proxy_latency import FakeProcess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10", help="comma-separated session counts")
    parser.add_argument("--slow", action="store_true", help="add 50 sessions (50 processes)")
    args = parser.parse_args()
    counts = [int(x) for x in args.sessions.split(",") if x]
    if args.slow and 50 not in counts:
        counts.append(50)
    fake = FakeProcess()
    try:
        out, _ = run(FakeAddress(fake.url, fake.ca_path), counts)
    finally:
        with contextlib.suppress(Exception):
            fake.stop()
    print_rows("workspace_models", out)


if __name__ == "__main__":
    main()
