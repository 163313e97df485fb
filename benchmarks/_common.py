"""Shared pieces of the benchmarks: a Jupyter server subprocess, the fake app-server,
statistics and the result table.

Every benchmark runs on loopback only, in a fresh temporary folder, and stops what it
started. Subprocesses get ``PYTHONPYCACHEPREFIX`` (a persistent folder in the system
temp dir) and no ``PYTHONDONTWRITEBYTECODE``, so that imports are timed from compiled
bytecode, as after ``pip install``, without writing ``__pycache__`` into the checkout.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAKE_APP_SERVER = HERE / "fake_app_server.py"
PYCACHE = Path(tempfile.gettempdir()) / "jupyter_codex_bench_pycache"

#: Server extensions other than ours that ``--ServerApp.jpserver_extensions`` may enable.
_EXTENSION_CONFIG_DIR = "jupyter_server_config.d"


# ---- results --------------------------------------------------------------


@dataclass
class Row:
    """One measured value, its same-run baseline and the verdict against the target."""

    benchmark: str
    metric: str
    measured: float
    baseline: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.baseline is None or self.baseline <= 0:
            return "n/a"
        return f"{self.measured / self.baseline:.2f}x"

    @property
    def verdict(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "FAIL")


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100 or unit in ("events", "count"):
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.2f} {unit}".strip()


def table(rows: Sequence[Row], markdown: bool = False) -> str:
    """The rows as a plain-text (or Markdown) table."""
    head = ["benchmark", "metric", "measured", "baseline", "ratio", "target", "result", "note"]
    body = [
        [
            r.benchmark,
            r.metric,
            _fmt(r.measured, r.unit),
            _fmt(r.baseline, r.unit),
            r.ratio,
            r.target or "-",
            r.verdict,
            r.note,
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(out)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_info() -> str:
    """One line describing where the numbers come from."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {load[0]:.2f}"
    )


# ---- processes -------------------------------------------------------------


def bench_env(**extra: str) -> dict[str, str]:
    """Environment for subprocesses: compiled bytecode in a private cache, no pager."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE), **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` from ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (from ``/proc/<pid>/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live descendants."""
    total = 0.0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(p)
    return total


def tree_peak_rss_kib(pid: int) -> int:
    """Peak resident set (``VmHWM``) summed over a process and its descendants."""
    return sum(_status_kib(p, "VmHWM") for p in process_tree(pid))


def tree_pss_kib(pid: int) -> int:
    """Proportional set size (shared pages split between sharers) of a process tree:
    the fair memory sum of many copies of one binary."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total


def tree_private_kib(pid: int) -> int:
    """Private memory (USS: ``Private_Clean`` + ``Private_Dirty``) of a process tree."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    return total


def fake_codex_bin(folder: Path) -> str:
    """A wrapper executable that runs the fake app-server with this interpreter.

    ``AppServerManager.build_argv`` calls it as ``<bin> app-server -c k=v ...``; the
    fake ignores those arguments.
    """
    path = folder / "fake-codex"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_APP_SERVER}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def other_server_extensions() -> list[str]:
    """Installed server extensions other than ours (from the config path)."""
    from jupyter_core.paths import jupyter_config_path

    names: set[str] = set()
    for folder in jupyter_config_path():
        d = Path(folder) / _EXTENSION_CONFIG_DIR
        if not d.is_dir():
            continue
        for f in d.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                data = json.loads(f.read_text())
                names.update(data.get("ServerApp", {}).get("jpserver_extensions", {}))
    names.discard("jupyter_codex")
    return sorted(names)


class JupyterServer:
    """A ``jupyter server`` subprocess in its own folders, with a known token.

    Parameters
    ----------
    workdir:
        Private folder: config, data, runtime, the server root and the codex data dir.
    codex:
        Whether ``jupyter_codex`` is enabled.
    only_codex:
        Disable every other installed server extension (less start-up noise).
    fake_app_server:
        Point ``AppServerManager.codex_bin`` at the benchmark fake.
    config:
        Extra config sections merged into ``jupyter_server_config.json``.
    config_py:
        Source of a ``jupyter_server_config.py`` (runs in the server process at start:
        the benchmarks use it for instrumentation, never to change the extension).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        codex: bool = True,
        only_codex: bool = True,
        fake_app_server: bool = True,
        config: dict[str, dict[str, Any]] | None = None,
        config_py: str = "",
    ) -> None:
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.root = workdir / "root"
        self.data_dir = workdir / "codex"
        for sub in ("config", "data", "runtime", "root"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        extensions = {name: False for name in (other_server_extensions() if only_codex else [])}
        extensions["jupyter_codex"] = codex
        cfg: dict[str, dict[str, Any]] = {
            "ServerApp": {"jpserver_extensions": extensions},
            "CodexExtensionApp": {"data_dir": str(self.data_dir)},
        }
        if fake_app_server:
            cfg["AppServerManager"] = {"codex_bin": fake_codex_bin(workdir)}
        for section, values in (config or {}).items():
            cfg.setdefault(section, {}).update(values)
        (workdir / "config" / "jupyter_server_config.json").write_text(json.dumps(cfg))
        if config_py:
            (workdir / "config" / "jupyter_server_config.py").write_text(config_py)
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 120.0, ready_path: str = "/api/status") -> float:
        """Start the server; return seconds from spawn until ``ready_path`` answers 200."""
        env = bench_env(
            JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
            JUPYTER_DATA_DIR=str(self.workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
        )
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            "--no-browser",
            "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        with self.log_path.open("ab") as log:
            t0 = time.perf_counter()
            self.process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            self.wait_ready(ready_path, t0 + timeout)
        except BaseException:
            self.stop()
            raise
        return time.perf_counter() - t0

    def wait_ready(self, path: str, deadline: float) -> None:
        """Poll ``path`` every 5 ms until it answers 200 (fails if the server exits)."""
        assert self.process is not None
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter exited early:\n{self.log_tail()}")
            if self.get_status(path) == 200:
                return
            time.sleep(0.005)
        raise RuntimeError(f"jupyter was not ready in time:\n{self.log_tail()}")

    def get_status(self, path: str) -> int | None:
        """HTTP status of a GET, or ``None`` when nothing listens yet."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers=self.headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except OSError:
            return None
        finally:
            conn.close()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 30.0, kill: bool = False) -> None:
        """SIGTERM (Jupyter's clean shutdown, stopping the app-server too), then SIGKILL.

        ``kill``: SIGKILL at once (only when no app-server was started)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"jcx-bench-{prefix}-") as d:
        yield Path(d)


def print_rows(title: str, rows: Sequence[Row]) -> None:
    print(f"\n== {title} ({machine_info()})")
    print(table(rows))
