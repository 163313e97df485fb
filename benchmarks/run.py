"""jupyter-codex against the tools users would pick instead, in one run.

One fake upstream (``proxy_latency.py --serve-fake``: the test fake of OpenAI's
service, HTTPS, in its own process) serves everything. Each proxy (jupyter-codex,
the LiteLLM proxy, codex-lb; each peer in its own virtualenv, see ``peers.py``) is
measured against **the same fake called directly** in the same run, requests
alternating between the proxy and the direct call so both see the same machine load:

* added time to first content (TTFB) p50/p99 at concurrency 1, 32 and 128 (closed
  loop: that many requests in flight all the time), each request a streamed reply of
  ``--chunks`` content chunks;
* streaming throughput, 64 concurrent streams of ``--long-chunks`` chunks;
* CPU seconds (process tree) per 10,000 requests, peak RSS (``VmHWM``) and errors.

Then the workspace (``workspace_models.py``, the real codex binary): sessions on one
app-server vs one app-server per session (memory, start latency) for ``--sessions``
(default 1,10; ``--slow`` adds 50), and event fan-out latency to 1 and 20 WebSocket
clients (``event_latency.py --clients``).

Writes ``results/comparison.md`` (ratios first, with the machine) and
``results/comparison.png``. Run: ``python benchmarks/run.py`` (about 8 minutes on 2
cores; the first run also creates the peers' virtualenvs); ``--quick --no-peers`` is
the smallest mode (the smoke test); ``--peers litellm`` picks peers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import platform
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import event_latency
import peers
import proxy_latency as pl
import workspace_models
from _common import HERE, REPO, Row, machine_info, percentile, table, tree_cpu_seconds
from _common import tree_peak_rss_kib as peak_rss_kib
from _sse_client import SSEClient


@dataclass
class Plan:
    """How much of each measurement (``--quick`` shrinks everything)."""

    chunks: int = 16
    c1_requests: int = 100
    concurrency: tuple[int, ...] = (32, 128)
    rounds: int = 2  # alternating blocks per route at each concurrency
    per_worker: int = 2  # requests per worker and block
    streams: int = 64
    long_chunks: int = 1000
    reps: int = 1
    phase_timeout: float = 120.0  # seconds for one concurrency level or throughput run


@dataclass
class Phase:
    """TTFB of one concurrency for a proxy and the direct call."""

    concurrency: int
    proxied: list[float]
    direct: list[float]

    def p(self, which: str, q: float) -> float:
        return percentile(self.proxied if which == "proxied" else self.direct, q)


@dataclass
class Result:
    name: str
    version: str = ""
    notes: list[str] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    throughput: float = 0.0
    direct_throughput: float = 0.0
    requests: int = 0
    cpu_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    errors: list[str] = field(default_factory=list)
    direct_errors: list[str] = field(default_factory=list)
    failed: str = ""  # why it could not be measured
    timed_out: list[str] = field(default_factory=list)  # phases cut at plan.phase_timeout

    @property
    def cpu_per_10k(self) -> float:
        return self.cpu_seconds / self.requests * 10_000 if self.requests else float("nan")


def direct_route(fake: pl.FakeProcess, token: str) -> pl.Route:
    return pl.Route(
        "direct",
        f"{fake.chatgpt_base_url}/codex/responses",
        {
            "Authorization": f"Bearer {token}",
            "ChatGPT-Account-Id": peers.ACCOUNT_ID,
            "Accept": "text/event-stream",
            "OpenAI-Beta": "responses=experimental",
            "originator": "codex_cli_rs",
            "session_id": "bench",
        },
        pl.responses_body,
        b"response.output_text.delta",
        b"response.completed",
    )


async def measure(
    peer: peers.Peer, direct: pl.Route, client: SSEClient, plan: Plan, result: Result
) -> None:
    # "tok " is one content chunk; it appears in no other line of a chat stream
    route = pl.Route("proxied", peer.url, peer.headers, pl.chat_body, b"tok ", b"[DONE]")
    for c in (1, 8):  # warm-up: connections, first-request paths
        for r in (route, direct):
            await asyncio.gather(
                *(pl.stream_once(client, r, pl.prompt(plan.chunks), plan.chunks) for _ in range(c))
            )
    levels = [(1, plan.c1_requests, 1)] + [
        (c, plan.rounds, plan.per_worker) for c in plan.concurrency
    ]
    for concurrency, rounds, per_worker in levels:
        print(f"  {peer.name}: TTFB c={concurrency}", flush=True)
        cpu0 = tree_cpu_seconds(peer.pid)
        try:
            prox, dire = await asyncio.wait_for(
                pl.ttfb_phase(
                    client, (route, direct), concurrency, rounds, per_worker, plan.chunks
                ),
                plan.phase_timeout,
            )
        except asyncio.TimeoutError:
            result.timed_out.append(f"c={concurrency}")
            print(
                f"  {peer.name}: c={concurrency} cut after {plan.phase_timeout:.0f} s", flush=True
            )
            break
        result.cpu_seconds += tree_cpu_seconds(peer.pid) - cpu0
        result.requests += len(prox.ttfb_ms) + len(prox.errors)
        result.errors += prox.errors
        result.direct_errors += dire.errors
        result.phases.append(Phase(concurrency, prox.ttfb_ms, dire.ttfb_ms))
    print(f"  {peer.name}: throughput, {plan.streams} streams", flush=True)
    rates: dict[str, list[float]] = {"proxied": [], "direct": []}
    for rep in range(plan.reps):
        for r in (route, direct) if rep % 2 == 0 else (direct, route):
            try:
                t = await asyncio.wait_for(
                    pl.throughput_run(client, r, plan.streams, plan.long_chunks, {}),
                    plan.phase_timeout,
                )
            except asyncio.TimeoutError:
                result.timed_out.append(f"throughput ({r.name})")
                continue
            rates[r.name].append(t.rate)
            (result.errors if r is route else result.direct_errors).extend(t.errors)
    if rates["proxied"] and rates["direct"]:
        result.throughput = sorted(rates["proxied"])[len(rates["proxied"]) // 2]
        result.direct_throughput = sorted(rates["direct"])[len(rates["direct"]) // 2]
    result.peak_rss_mib = peak_rss_kib(peer.pid) / 1024


def run_proxy(name: str, fake: pl.FakeProcess, token: str, plan: Plan) -> Result:
    result = Result(name)
    with tempfile.TemporaryDirectory(prefix=f"jcx-bench-{name}-") as d:
        try:
            t0 = time.monotonic()
            peer = peers.STARTERS[name](fake, Path(d))
        except Exception as e:  # noqa: BLE001 - report it, measure the others
            result.failed = f"did not start: {str(e).strip().splitlines()[0][:300]}"
            print(f"  {name}: {result.failed}", flush=True)
            return result
        print(f"  {name} {peer.version} started in {time.monotonic() - t0:.0f} s", flush=True)
        result.name, result.version, result.notes = peer.name, peer.version, peer.notes
        try:
            context = ssl.create_default_context(cafile=fake.ca_path)
            # a request ends (keeping what arrived) before its phase is cut
            client = SSEClient(context, timeout=plan.phase_timeout * 0.9)

            async def go() -> None:
                try:
                    await measure(peer, direct_route(fake, token), client, plan, result)
                finally:
                    await client.aclose()

            asyncio.run(go())
        except Exception as e:  # noqa: BLE001
            result.failed = f"measurement failed: {type(e).__name__}: {e}"[:300]
            traceback.print_exc()
        finally:
            peer.stop()
    return result


# ---- report ----------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 and not math.isnan(a) else "n/a"


def _kinds(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for e in errors:
        counts[e] = counts.get(e, 0) + 1
    return ", ".join(f"{n}x {e}" for e, n in sorted(counts.items(), key=lambda kv: -kv[1])[:3])


def proxy_tables(results: list[Result], plan: Plan) -> list[str]:
    levels = [1, *plan.concurrency]
    head = ["proxy"] + [f"TTFB p50 ratio c={c}" for c in levels] + ["throughput ratio"]
    head += [f"added TTFB p50 / p99 c={c}" for c in levels]
    head += ["CPU s per 10k requests", "peak RSS", "errors (proxy / direct)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r.failed:
            lines.append(
                f"| {r.name} | " + " | ".join(["-"] * (len(head) - 2)) + f" | {r.failed} |"
            )
            continue
        by = {p.concurrency: p for p in r.phases}
        cut = f"cut at {plan.phase_timeout:.0f} s"
        cells = [f"{r.name} {r.version}"]
        cells += [
            _ratio(by[c].p("proxied", 50), by[c].p("direct", 50)) if c in by else cut
            for c in levels
        ]
        cells.append(_ratio(r.throughput, r.direct_throughput) if r.throughput else cut)
        for c in levels:
            p = by.get(c)
            cells.append(
                f"{p.p('proxied', 50) - p.p('direct', 50):.1f} / "
                f"{p.p('proxied', 99) - p.p('direct', 99):.1f} ms"
                if p
                else "-"
            )
        cells += [
            f"{r.cpu_per_10k:.0f}",
            f"{r.peak_rss_mib:.0f} MiB",
            f"{len(r.errors)} / {len(r.direct_errors)}"
            + (f" ({_kinds(r.errors + r.direct_errors)})" if r.errors or r.direct_errors else "")
            + (f" (cut: {', '.join(r.timed_out)})" if r.timed_out else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Absolute values (ms; chunks/s), proxied vs direct in the same run:", ""]
    head2 = ["proxy", *[f"TTFB p50 c={c}" for c in levels], "throughput"]
    lines += ["| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for r in results:
        if r.failed:
            continue
        by = {p.concurrency: p for p in r.phases}
        cells = [r.name]
        cells += [
            f"{by[c].p('proxied', 50):.1f} vs {by[c].p('direct', 50):.1f}" if c in by else "-"
            for c in levels
        ]
        cells.append(f"{r.throughput:,.0f} vs {r.direct_throughput:,.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def chart(results: list[Result], ws_rows: list[Row], plan: Plan, path: Path) -> bool:
    """Grouped bars of the ratios (log scale); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    measured = [r for r in results if not r.failed]
    levels = [1, *plan.concurrency]
    metrics = [f"TTFB p50\nc={c}" for c in levels] + ["throughput"]
    panels = 2 if ws_rows else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    width = 0.8 / max(len(measured), 1)
    for i, r in enumerate(measured):
        by = {p.concurrency: p for p in r.phases}
        values = [by[c].p("proxied", 50) / by[c].p("direct", 50) if c in by else 0 for c in levels]
        values.append(r.throughput / r.direct_throughput if r.direct_throughput else 0)
        xs = [j + (i - (len(measured) - 1) / 2) * width for j in range(len(metrics))]
        ax.bar(xs, values, width, label=r.name)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_yscale("log")
    ax.set_ylabel("proxy / direct call (same run)")
    ax.set_title("Proxies vs calling the fake upstream directly")
    ax.legend(fontsize=8)
    if ws_rows:
        ax2 = axes[0][1]
        labels = [
            r.metric.split(":")[0].replace("app-server ", "").replace(", ", "\n") for r in ws_rows
        ]
        values = [r.measured / r.baseline if r.baseline else 0 for r in ws_rows]
        ax2.barh(range(len(values)), values, color="tab:gray")
        ax2.axvline(1.0, color="black", linewidth=0.8)
        ax2.set_yticks(range(len(values)), labels, fontsize=7)
        ax2.set_xscale("log")
        ax2.set_xlabel("one app-server per session / one shared;  fan-out: WebSocket / pipe")
        ax2.set_title("Workspace")
        ax2.invert_yaxis()
    fig.suptitle(f"jupyter-codex benchmarks: {machine_info()}", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _git() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            check=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="litellm,codex-lb", help="comma-separated peers")
    parser.add_argument("--no-peers", action="store_true", help="jupyter-codex only")
    parser.add_argument("--quick", action="store_true", help="tiny counts, no workspace part")
    parser.add_argument("--no-workspace", action="store_true")
    parser.add_argument("--sessions", default="1,10", help="workspace session counts")
    parser.add_argument("--slow", action="store_true", help="add 50 sessions (50 app-servers)")
    parser.add_argument("--output", default=str(HERE / "results"), help="folder for the report")
    args = parser.parse_args()

    plan = Plan()
    if args.quick:
        plan = Plan(
            c1_requests=5, concurrency=(4,), rounds=1, per_worker=1, streams=4, long_chunks=50
        )
    names = ["jupyter-codex"] + ([] if args.no_peers else [p for p in args.peers.split(",") if p])
    counts = [int(x) for x in args.sessions.split(",") if x] + ([50] if args.slow else [])
    started = time.monotonic()
    before = machine_info()
    results: list[Result] = []
    ws_rows: list[Row] = []
    fake = pl.FakeProcess()
    try:
        token = str(peers.chatgpt_auth()["tokens"]["access_token"])
        for name in names:
            print(f"proxy: {name}", flush=True)
            results.append(run_proxy(name, fake, token, plan))
        if not (args.quick or args.no_workspace):
            print(f"workspace: {counts} sessions", flush=True)
            address = workspace_models.FakeAddress(fake.url, fake.ca_path)
            rows, _ = workspace_models.run(address, counts)
            ws_rows += rows
    finally:
        fake.stop()
    if not (args.quick or args.no_workspace):
        for clients in (1, 20):
            print(f"fan-out: {clients} WebSocket client(s)", flush=True)
            rows, _ = event_latency.run(sessions=1, deltas=200, interval=0.02, clients=clients)
            ws_rows += [r for r in rows if r.metric.startswith("p")][:4:2]  # p50, p99

    elapsed = time.monotonic() - started
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "comparison.png"
    has_chart = chart(results, [r for r in ws_rows if r.baseline], plan, png)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# jupyter-codex vs the alternatives",
        "",
        (
            f"`python benchmarks/run.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` "
            f"on {now}, commit {_git()}, {elapsed:.0f} s."
        ),
        f"Machine: {platform.platform()}; at start {before}; at end {machine_info()}.",
        (
            "Every ratio is proxy / the same fake upstream called directly, measured in the same "
            "run with requests alternating (lower TTFB ratio and higher throughput ratio are "
            f"better). Each request streams {plan.chunks} content chunks; throughput: "
            f"{plan.streams} streams x {plan.long_chunks} chunks."
        ),
        "",
        "## Proxies",
        "",
        *proxy_tables(results, plan),
        "",
        *[f"* {r.name}: {'; '.join(r.notes)}" for r in results if r.notes],
    ]
    if ws_rows:
        lines += ["", "## Workspace", "", table(ws_rows, markdown=True)]
    if has_chart:
        lines += ["", f"![ratios]({png.name})"]
    report = out / "comparison.md"
    report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {report}{' and ' + str(png) if has_chart else ''} ({elapsed:.0f} s)")
    sys.exit(1 if any(r.failed for r in results) else 0)


if __name__ == "__main__":
    main()
