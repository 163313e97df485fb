"""Proxy overhead: time to first byte and streaming throughput, proxied vs direct.

Targets: added time-to-first-byte over calling the fake upstream directly p50 <= 2 ms
and p99 <= 10 ms at concurrency 1 and 32; throughput of 64 concurrent streams of
1,000 chunks each >= 80 % of direct. Informational: server CPU per 1,000 chunks
translated and an Anthropic (``codex/claude/v1/messages``) TTFB line at concurrency 1.

Three processes, all on 127.0.0.1:

* the fake upstream (``tests/fakes`` ``FakeUpstream``, HTTPS) in its **own** process
  (``--serve-fake`` mode of this script), so its CPU is measured on its own and does
  not share a GIL with the client; a request whose user text says ``chunks=N`` gets
  one text reply in N ``output_text.delta`` events, as fast as it can write them;
* a ``jupyter server`` with only the extension, pointed at the fake
  (``CodexExtensionApp`` base URLs and CA), one ChatGPT account imported over REST
  and set on the api target;
* this process: a lean asyncio HTTP/1.1 client (``_sse_client.py``: keep-alive pools,
  a few µs per chunk where httpx costs ~100 µs per read, CPU the server under test
  would otherwise lose on 2 cores) streaming POSTs either to
  ``codex/v1/chat/completions`` (``stream: true``, the Jupyter token as Bearer) or,
  the baseline, straight to the fake's ``/backend-api/codex/responses`` with the
  equivalent Responses body and the account's headers.

TTFB is the time from sending the request to the first line carrying content (a
chat ``delta.content``, an Anthropic ``text_delta``, a Responses
``output_text.delta``). Proxied and direct requests alternate so both see the same
machine load: one by one at concurrency 1; at concurrency 32 a closed loop (32
workers sending ``--per-worker`` requests back to back, so 32 are in flight all the
time) per route, routes alternating for ``--rounds``. "Added" is proxied minus
direct, per percentile. Throughput is content chunks received per second of wall
time, all streams together (median of ``--reps`` alternating runs).
Run: ``python benchmarks/proxy_latency.py [--requests 200 --rounds 6 --reps 3]``;
``--phases`` picks phases, ``--py-spy FILE`` samples the server (collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import (
    REPO,
    JupyterServer,
    Row,
    bench_env,
    cpu_seconds,
    median,
    percentile,
    print_rows,
    workdir,
)
from _sse_client import SSEClient

P50_TARGET_MS = 2.0
P99_TARGET_MS = 10.0
THROUGHPUT_TARGET = 0.80
MODEL = "gpt-5.2-codex"
ACCOUNT_ID, EMAIL, REFRESH_TOKEN = "acct-bench", "bench@example.com", "rt-bench"
WORD = "tok "  # one content chunk (4 characters)


# ---- the fake upstream, in its own process ---------------------------------------


def serve_fake(nagle: bool) -> None:
    """``--serve-fake``: run FakeUpstream until stdin closes; print its address first.

    Unless ``nagle``, every response goes out with ``TCP_NODELAY`` (Tornado turns
    Nagle's algorithm off only once a response is finished, so each flushed SSE event
    after the first would wait for the client's delayed ACK; real front ends stream
    with ``TCP_NODELAY``).
    """
    sys.path.insert(0, str(REPO / "tests"))
    from fakes import FakeUpstream, text
    from fakes.handler import FakeHandler

    if not nagle:

        def prepare(self: FakeHandler) -> None:
            self.request.connection.stream.set_nodelay(True)  # type: ignore[attr-defined]

        FakeHandler.prepare = prepare  # type: ignore[method-assign,assignment]

    chunks_re = re.compile(r"chunks=(\d+)")
    with FakeUpstream() as fake:
        fake.add_account(ACCOUNT_ID, EMAIL, refresh_token=REFRESH_TOKEN)

        def pick(body: dict[str, Any]) -> Any:
            found = chunks_re.search(json.dumps(body.get("input")))
            n = int(found.group(1)) if found else 3
            return text(WORD * n, chunks=n)

        fake._pick_step = pick  # type: ignore[method-assign]  # replies sized by the prompt
        info = {"url": fake.url, "ca_path": fake.ca_path, "pid": os.getpid()}
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # the benchmark closes our stdin (or dies): stop


class FakeProcess:
    """The ``--serve-fake`` subprocess: started, its address read, stopped on exit."""

    def __init__(self, nagle: bool = False) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", *(["--nagle"] if nagle else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=bench_env(),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fake upstream did not start")
        info = json.loads(line)
        self.url: str = info["url"]
        self.ca_path: str = info["ca_path"]
        self.pid: int = info["pid"]

    @property
    def chatgpt_base_url(self) -> str:
        return self.url + "/backend-api"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---- server instrumentation and experiments (jupyter_server_config.py) -------------

#: ``--profile``: cProfile the server's main thread (its event loop) until it exits.
_PROFILE = """
import atexit, cProfile
_prof = cProfile.Profile()
_prof.enable()
atexit.register(lambda: (_prof.disable(), _prof.dump_stats({path!r})))
"""


def server_config_py(args: argparse.Namespace) -> str:
    parts = []
    if args.profile:
        parts.append(_PROFILE.format(path=str(Path(args.profile).resolve())))
    return "\n".join(parts)


# ---- the client --------------------------------------------------------------------


@dataclass
class Route:
    """One way to ask for a streamed reply: where, with what, and how to read it."""

    name: str
    url: str
    headers: dict[str, str]
    body: Any  # (prompt) -> JSON body
    content: bytes  # substring of a data line that carries content
    end: bytes  # substring of the stream's last data line


@dataclass
class Outcome:
    ttfb: float | None = None  # seconds, None on error
    chunks: int = 0
    error: str = ""


def chat_body(prompt: str) -> dict[str, Any]:
    return {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompt}]}


def anthropic_body(prompt: str) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
    }


def responses_body(prompt: str) -> dict[str, Any]:
    """What the proxy sends upstream for :func:`chat_body` (same fields, same size)."""
    return {
        "model": MODEL,
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
        ],
        "instructions": "You are a helpful assistant.",
        "stream": True,
        "store": False,
        "parallel_tool_calls": True,
        "prompt_cache_key": "bench",
    }


async def stream_once(client: SSEClient, route: Route, prompt: str, want: int) -> Outcome:
    """One streamed request: TTFB, content chunks counted, errors named."""
    r = await client.stream(route.url, route.body(prompt), route.headers, route.content, route.end)
    out = Outcome(ttfb=r.ttfb, chunks=r.chunks, error=r.error)
    if not out.error and r.status != 200:
        out.error = f"HTTP {r.status}"
    elif not out.error and not r.ended:
        out.error = "stream ended without its terminal event"
    elif not out.error and r.chunks != want:
        out.error = f"{r.chunks} chunks, expected {want}"
    if out.error:
        out.ttfb = None
    return out


@dataclass
class Series:
    """TTFBs (ms) and errors of one route in one phase."""

    ttfb_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if o.error or o.ttfb is None:
                self.errors.append(o.error)
            else:
                self.ttfb_ms.append(o.ttfb * 1000)


_counter = iter(range(1, 10**9))


def prompt(chunks: int) -> str:
    """A unique prompt (own session key) asking the fake for ``chunks`` content chunks."""
    return f"bench request {next(_counter)}: reply with chunks={chunks}"


async def ttfb_phase(
    client: SSEClient,
    routes: tuple[Route, Route],
    concurrency: int,
    rounds: int,
    per_worker: int,
    chunks: int,
) -> tuple[Series, Series]:
    """Closed loop: ``concurrency`` workers, each sending ``per_worker`` requests back to
    back (so ``concurrency`` are in flight all the time), one route after the other,
    ``rounds`` times with the order swapped every round."""
    series = (Series(), Series())

    async def worker(route: Route) -> list[Outcome]:
        return [await stream_once(client, route, prompt(chunks), chunks) for _ in range(per_worker)]

    for r in range(rounds):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            done = await asyncio.gather(*(worker(routes[i]) for _ in range(concurrency)))
            series[i].add([o for outcomes in done for o in outcomes])
    return series


@dataclass
class Throughput:
    """One run of many concurrent long streams."""

    seconds: float
    chunks: int
    errors: list[str]
    cpu: dict[str, float]  # process name -> CPU seconds during the run

    @property
    def rate(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


async def throughput_run(
    client: SSEClient, route: Route, streams: int, chunks: int, pids: dict[str, int]
) -> Throughput:
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    t0 = time.perf_counter()
    outcomes = await asyncio.gather(
        *(stream_once(client, route, prompt(chunks), chunks) for _ in range(streams))
    )
    seconds = time.perf_counter() - t0
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    return Throughput(
        seconds,
        sum(o.chunks for o in outcomes),
        [o.error for o in outcomes if o.error],
        cpu,
    )


# ---- the run -----------------------------------------------------------------------


async def setup_account(client: httpx.AsyncClient, server: JupyterServer) -> str:
    """Import the fake's ChatGPT account and make it the api target's; its access token."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakes import chatgpt_auth_json

    auth = chatgpt_auth_json(EMAIL, ACCOUNT_ID, REFRESH_TOKEN, access_exp=int(time.time() + 7200))
    api = f"{server.url}/codex/api"
    r = await client.post(
        f"{api}/accounts/import",
        json={"auth_json": auth, "label": "bench"},
        headers=server.headers,
    )
    r.raise_for_status()
    r = await client.patch(
        f"{api}/targets/api", json={"account_id": r.json()["id"]}, headers=server.headers
    )
    r.raise_for_status()
    return str(auth["tokens"]["access_token"])


def ttfb_rows(
    label: str, concurrency: int, proxied: Series, direct: Series, targets: bool = True
) -> list[Row]:
    rows: list[Row] = []
    n = len(proxied.ttfb_ms) + len(proxied.errors)
    for q, target in ((50, P50_TARGET_MS), (99, P99_TARGET_MS)):
        p, d = percentile(proxied.ttfb_ms, q), percentile(direct.ttfb_ms, q)
        rows.append(Row("ttfb", f"{label} p{q}, c={concurrency}, n={n}", p, d, "ms"))
        added = p - d
        rows.append(
            Row(
                "ttfb",
                f"{label} p{q} added, c={concurrency}",
                added,
                None,
                "ms",
                target=f"<= {target:g} ms" if targets else "",
                ok=(added <= target) if targets else None,
            )
        )
    rows.append(
        Row(
            "ttfb",
            f"{label} max, c={concurrency}",
            max(proxied.ttfb_ms, default=float("nan")),
            max(direct.ttfb_ms, default=float("nan")),
            "ms",
        )
    )
    return rows


def request_cpu_row(concurrency: int, cpu: float, proxied: Series, chunks: int) -> Row:
    """Server CPU per proxied request of a TTFB phase (direct requests bypass it)."""
    n = len(proxied.ttfb_ms) + len(proxied.errors)
    return Row(
        "cpu",
        f"server CPU per request, c={concurrency} ({chunks} chunks each)",
        cpu / n * 1000 if n else float("nan"),
        None,
        "ms",
    )


def error_row(label: str, proxied: list[str], direct: list[str]) -> Row:
    shown = sorted(set(proxied + direct))[:3]
    return Row(
        "errors",
        label,
        len(proxied),
        len(direct),
        "count",
        target="0",
        ok=not proxied and not direct,
        note="; ".join(shown),
    )


async def run(args: argparse.Namespace) -> list[Row]:
    fake = FakeProcess(nagle=args.fake_nagle)
    try:
        with workdir("proxy") as tmp:
            server = JupyterServer(
                tmp,
                config={
                    "CodexExtensionApp": {
                        "chatgpt_base_url": fake.chatgpt_base_url,
                        "openai_base_url": fake.url + "/v1",
                        "auth_base_url": fake.url,
                        "ca_certificate": fake.ca_path,
                    }
                },
                config_py=server_config_py(args),
            )
            server.start()
            try:
                return await measure(args, fake, server)
            finally:
                server.stop()
    finally:
        fake.stop()


class PySpy:
    """``--py-spy FILE``: sample the server with py-spy (collapsed stacks) while it lives."""

    def __init__(self, path: str | None, pid: int) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        if path:
            self.process = subprocess.Popen(
                ["py-spy", "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", path],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # let it attach

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(60)


async def measure(args: argparse.Namespace, fake: FakeProcess, server: JupyterServer) -> list[Row]:
    import ssl

    verify = ssl.create_default_context(cafile=fake.ca_path)
    async with httpx.AsyncClient(verify=verify, timeout=60.0) as http:
        token = await setup_account(http, server)
    client = SSEClient(verify)
    try:
        return await measure_routes(args, fake, server, client, token)
    finally:
        await client.aclose()


async def measure_routes(
    args: argparse.Namespace,
    fake: FakeProcess,
    server: JupyterServer,
    client: SSEClient,
    token: str,
) -> list[Row]:
    proxied = Route(
        "proxied",
        f"{server.url}/codex/v1/chat/completions",
        {"Authorization": f"Bearer {server.token}"},
        chat_body,
        b'"content":"',
        b"[DONE]",
    )
    claude = Route(
        "anthropic",
        f"{server.url}/codex/claude/v1/messages",
        {"x-api-key": server.token, "anthropic-version": "2023-06-01"},
        anthropic_body,
        b'"text_delta"',
        b'"message_stop"',
    )
    direct = Route(
        "direct",
        f"{fake.chatgpt_base_url}/codex/responses",
        {
            "Authorization": f"Bearer {token}",
            "ChatGPT-Account-Id": ACCOUNT_ID,
            "Accept": "text/event-stream",
            "OpenAI-Beta": "responses=experimental",
            "originator": "codex_cli_rs",
            "session_id": "bench",
        },
        responses_body,
        b"response.output_text.delta",
        b"response.completed",
    )
    # Warm-up: connections in both pools, the server's first-request paths.
    for route in (proxied, claude, direct):
        for c in (1, 8, args.concurrency):
            await asyncio.gather(
                *(stream_once(client, route, prompt(args.chunks), args.chunks) for _ in range(c))
            )

    rows: list[Row] = []
    errors: dict[str, list[str]] = {"proxied": [], "direct": []}
    phases = set(args.phases.split(","))
    spy = PySpy(args.py_spy, server.pid)
    try:
        if "c1" in phases:
            print(f"TTFB c=1: {args.requests} requests per route, alternating", flush=True)
            cpu0 = cpu_seconds(server.pid)
            p1, d1 = await ttfb_phase(client, (proxied, direct), 1, args.requests, 1, args.chunks)
            rows += ttfb_rows("chat", 1, p1, d1)
            rows.append(request_cpu_row(1, cpu_seconds(server.pid) - cpu0, p1, args.chunks))
            errors["proxied"] += p1.errors
            errors["direct"] += d1.errors
        c = args.concurrency
        if "cN" in phases:
            print(
                f"TTFB c={c}: {args.rounds} rounds per route, alternating, of {c} workers "
                f"x {args.per_worker} requests back to back",
                flush=True,
            )
            cpu0 = cpu_seconds(server.pid)
            pc, dc = await ttfb_phase(
                client, (proxied, direct), c, args.rounds, args.per_worker, args.chunks
            )
            rows += ttfb_rows("chat", c, pc, dc)
            rows.append(request_cpu_row(c, cpu_seconds(server.pid) - cpu0, pc, args.chunks))
            errors["proxied"] += pc.errors
            errors["direct"] += dc.errors
        if "anthropic" in phases:
            n = args.anthropic_requests
            print(f"TTFB anthropic c=1: {n} requests, alternating", flush=True)
            pa, da = await ttfb_phase(client, (claude, direct), 1, n, 1, args.chunks)
            rows += ttfb_rows("anthropic", 1, pa, da, targets=False)
            errors["proxied"] += pa.errors
            errors["direct"] += da.errors
        if "throughput" in phases:
            rows += await throughput_phase(args, client, (proxied, direct), server, fake, errors)
    finally:
        spy.stop()
    rows.append(
        error_row(
            "failed requests (all phases, after warm-up)", errors["proxied"], errors["direct"]
        )
    )
    return rows


async def throughput_phase(
    args: argparse.Namespace,
    client: SSEClient,
    routes: tuple[Route, Route],
    server: JupyterServer,
    fake: FakeProcess,
    errors: dict[str, list[str]],
) -> list[Row]:
    """``--reps`` runs of ``--streams`` concurrent long streams per route, alternating."""
    print(
        f"throughput: {args.streams} streams x {args.long_chunks} chunks, "
        f"{args.reps} reps per route, alternating",
        flush=True,
    )
    pids = {"server": server.pid, "fake": fake.pid, "client": os.getpid()}
    runs: dict[str, list[Throughput]] = {"proxied": [], "direct": []}
    for rep in range(args.reps):
        for route in routes if rep % 2 == 0 else routes[::-1]:
            t = await throughput_run(client, route, args.streams, args.long_chunks, pids)
            runs[route.name].append(t)
            errors[route.name] += t.errors
            print(
                f"  {route.name:8s} {t.rate:9,.0f} chunks/s  {t.seconds:6.2f} s  "
                + "  ".join(f"{k} {v:.2f} s CPU" for k, v in t.cpu.items()),
                flush=True,
            )
    return throughput_rows(runs, args.streams)


def throughput_rows(runs: dict[str, list[Throughput]], streams: int) -> list[Row]:
    prox, dire = runs["proxied"], runs["direct"]
    p_rate, d_rate = median([t.rate for t in prox]), median([t.rate for t in dire])
    p_chunks = sum(t.chunks for t in prox) / 1000
    d_chunks = sum(t.chunks for t in dire) / 1000

    def per_k(ts: list[Throughput], name: str, k: float) -> float:
        return sum(t.cpu[name] for t in ts) / k * 1000 if k else float("nan")

    server_ms = per_k(prox, "server", p_chunks)
    return [
        Row("throughput", f"{streams} streams, chunks/s (median)", p_rate, d_rate, "/s"),
        Row(
            "throughput",
            "proxied / direct",
            p_rate / d_rate * 100 if d_rate else float("nan"),
            None,
            "%",
            target=f">= {THROUGHPUT_TARGET * 100:.0f} %",
            ok=d_rate > 0 and p_rate / d_rate >= THROUGHPUT_TARGET,
        ),
        Row(
            "cpu",
            "server CPU per 1,000 chunks translated",
            server_ms,
            per_k(dire, "fake", d_chunks),
            "ms",
            note="baseline: fake CPU per 1,000 chunks produced (direct runs)",
        ),
        Row(
            "cpu",
            "fake CPU per 1,000 chunks (proxied runs)",
            per_k(prox, "fake", p_chunks),
            per_k(dire, "fake", d_chunks),
            "ms",
        ),
        Row(
            "cpu",
            "client CPU per 1,000 chunks (proxied vs direct)",
            per_k(prox, "client", p_chunks),
            per_k(dire, "client", d_chunks),
            "ms",
        ),
    ]


def main() -> None:
    if sys.argv[1:2] == ["--serve-fake"]:
        serve_fake(nagle="--nagle" in sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="TTFB requests at c=1")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6, help="TTFB rounds at --concurrency")
    parser.add_argument(
        "--per-worker", type=int, default=5, help="requests per worker and round at --concurrency"
    )
    parser.add_argument("--anthropic-requests", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=16, help="content chunks per TTFB reply")
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--long-chunks", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="throughput runs per route")
    parser.add_argument(
        "--fake-nagle", action="store_true", help="keep Nagle on in the fake's streams"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the server's main thread into FILE"
    )
    parser.add_argument(
        "--phases",
        default="c1,cN,anthropic,throughput",
        help="comma-separated subset of c1,cN,anthropic,throughput",
    )
    parser.add_argument(
        "--py-spy", metavar="FILE", help="sample the server with py-spy into FILE (collapsed)"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    print_rows("proxy_latency", rows)
    if args.markdown:
        from _common import table

        print()
        print(table(rows, markdown=True))
    sys.exit(0 if all(r.ok is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
