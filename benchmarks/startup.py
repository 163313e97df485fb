"""Start-up cost of the extension: target < 150 ms added to ``jupyter server`` start-up.

Two views, both measured in this run:

1. Subprocess: time from spawning ``python -m jupyter_server`` until ``/api/status``
   answers 200, with ``jupyter_codex`` enabled vs disabled
   (``jpserver_extensions {"jupyter_codex": false}``), runs interleaved, medians
   compared. Also reported: until ``codex/api/status`` answers (our start hook, which
   opens the database, runs after the server listens). By default every other
   installed server extension is disabled in both configurations to cut noise
   (``--all-extensions`` keeps them).
2. In-process (fresh interpreter): import ``jupyter_codex.app``, then
   ``CodexExtensionApp._load_jupyter_server_extension(serverapp)`` and its start hook
   on an initialized ``ServerApp``; the baseline is the server's own import+initialize.
   Plus ``python -X importtime``: what our import pulls in beyond ``jupyter_server``.

The app-server is never started. Run: ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import JupyterServer, Row, bench_env, median, print_rows, workdir

TARGET_MS = 150.0

_IN_PROCESS = r"""
import asyncio, json, sys, time
t0 = time.perf_counter()
from jupyter_server.serverapp import ServerApp
t1 = time.perf_counter()
app = ServerApp()
app.initialize(argv=[f"--ServerApp.root_dir={sys.argv[1]}", "--ServerApp.allow_root=True",
                     "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0"],
               find_extensions=False, new_httpserver=False)
t2 = time.perf_counter()
import pydantic
t3 = time.perf_counter()
from jupyter_codex.app import CodexExtensionApp
t4 = time.perf_counter()
ext = CodexExtensionApp._load_jupyter_server_extension(app)
t5 = time.perf_counter()
loop = asyncio.new_event_loop()
loop.run_until_complete(ext._start_jupyter_server_extension(app))
t6 = time.perf_counter()
loop.run_until_complete(ext.stop_extension())
print(json.dumps({"server_import": t1 - t0, "server_init": t2 - t1, "pydantic": t3 - t2,
                  "codex_import": t4 - t3, "codex_load": t5 - t4, "codex_start": t6 - t5}))
"""


def subprocess_view(runs: int, only_codex: bool) -> tuple[list[float], list[float], list[float]]:
    """Seconds to ready with the extension on, off, and until codex/api/status answers."""
    on: list[float] = []
    off: list[float] = []
    codex_ready: list[float] = []
    with workdir("startup") as tmp:

        def once(enabled: bool) -> tuple[float, float | None]:
            server = JupyterServer(
                tmp / ("on" if enabled else "off"), codex=enabled, only_codex=only_codex
            )
            try:
                t0 = time.perf_counter()
                ready = server.start()
                codex = None
                if enabled:
                    server.wait_ready("/codex/api/status", t0 + 120)
                    codex = time.perf_counter() - t0
                elif server.get_status("/codex/api/status") != 404:
                    raise RuntimeError("jupyter_codex answered although it was disabled")
                return ready, codex
            finally:
                server.stop(kill=True)  # no app-server runs; a clean shutdown takes seconds

        once(True)  # warm-up: compiles bytecode into the cache, warms the disk cache
        once(False)
        for i in range(runs):
            order = (True, False) if i % 2 == 0 else (False, True)
            for enabled in order:
                ready, codex = once(enabled)
                (on if enabled else off).append(ready)
                if codex is not None:
                    codex_ready.append(codex)
    return on, off, codex_ready


def in_process_view(runs: int) -> list[dict[str, float]]:
    """Phase timings from fresh interpreters (first run discarded as warm-up)."""
    results = []
    with workdir("startup-inproc") as tmp:
        (tmp / "config").mkdir()
        (tmp / "root").mkdir()
        (tmp / "config" / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "ServerApp": {"jpserver_extensions": {"jupyter_codex": False}},
                    "CodexExtensionApp": {"data_dir": str(tmp / "codex")},
                }
            )
        )
        env = bench_env(
            JUPYTER_CONFIG_DIR=str(tmp / "config"),
            JUPYTER_DATA_DIR=str(tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        )
        for i in range(runs + 1):
            out = subprocess.run(
                [sys.executable, "-c", _IN_PROCESS, str(tmp / "root")],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp,
                check=False,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-3000:])
            if i:
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def import_profile(top: int = 8) -> tuple[float, list[tuple[float, str]]]:
    """``-X importtime``: total self time (ms) of modules that ``jupyter_codex.app``
    imports beyond ``jupyter_server.serverapp``, and the heaviest of them."""
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import jupyter_server.serverapp; import jupyter_codex.app",
        ],
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path.cwd(),
        check=False,
    )
    lines = out.stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if line.endswith("| jupyter_server.serverapp"))
    rows: list[tuple[float, str]] = []
    for line in lines[start + 1 :]:
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        try:
            rows.append((int(parts[0].split(":")[1]) / 1000, parts[2].strip()))
        except ValueError:
            continue
    return sum(r[0] for r in rows), sorted(rows, reverse=True)[:top]


def run(runs: int = 5, only_codex: bool = True) -> tuple[list[Row], list[str]]:
    """Measure both views; return the table rows and detail lines."""
    on, off, codex_ready = subprocess_view(runs, only_codex)
    added = (median(on) - median(off)) * 1000
    spread = (max(off) - min(off)) * 1000
    rows = [
        Row(
            "startup",
            "time to /api/status, codex enabled (median)",
            median(on) * 1000,
            median(off) * 1000,
            "ms",
            note=f"{runs} interleaved runs each; disabled = baseline",
        ),
        Row(
            "startup",
            "added by codex to /api/status ready (median diff)",
            added,
            None,
            "ms",
            f"< {TARGET_MS:.0f} ms",
            added < TARGET_MS,
            note=f"baseline spread (max-min) {spread:.0f} ms",
        ),
        Row(
            "startup",
            "added by codex, min-of-runs diff (less noise-sensitive)",
            (min(on) - min(off)) * 1000,
            None,
            "ms",
            note="noise only adds time; info",
        ),
        Row(
            "startup",
            "time to codex/api/status ready (median)",
            median(codex_ready) * 1000,
            median(off) * 1000,
            "ms",
            note="includes our start hook (database open)",
        ),
    ]
    phases = in_process_view(max(3, runs))
    med = {k: median([p[k] for p in phases]) * 1000 for k in phases[0]}
    ours = med["pydantic"] + med["codex_import"] + med["codex_load"] + med["codex_start"]
    server = med["server_import"] + med["server_init"]
    rows += [
        Row(
            "startup",
            "in-process: import+load+start of jupyter_codex",
            ours,
            server,
            "ms",
            f"< {TARGET_MS:.0f} ms",
            ours < TARGET_MS,
            note="baseline: jupyter_server import + ServerApp.initialize",
        ),
        Row("startup", "  of which import pydantic", med["pydantic"], None, "ms"),
        Row(
            "startup", "  of which import jupyter_codex.app (rest)", med["codex_import"], None, "ms"
        ),
        Row("startup", "  of which _load_jupyter_server_extension", med["codex_load"], None, "ms"),
        Row(
            "startup",
            "  of which start hook (open db, load sessions)",
            med["codex_start"],
            None,
            "ms",
        ),
    ]
    total, heavy = import_profile()
    details = [
        (
            f"-X importtime: modules imported by jupyter_codex.app beyond jupyter_server: "
            f"{total:.0f} ms self time (importtime inflates it). Heaviest:"
        ),
        *[f"  {ms:7.1f} ms  {name}" for ms, name in heavy],
        (
            f"raw subprocess runs (s): enabled {[round(x, 2) for x in on]}, "
            f"disabled {[round(x, 2) for x in off]}"
        ),
    ]
    return rows, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per configuration")
    parser.add_argument(
        "--all-extensions",
        action="store_true",
        help="keep the other installed server extensions enabled",
    )
    args = parser.parse_args()
    rows, details = run(args.runs, not args.all_extensions)
    print_rows("startup", rows)
    print("\n".join(details))
    sys.exit(0 if all(r.ok is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
