"""The benchmark scripts still run: ``benchmarks/run.py`` in its smallest mode.

Benchmarks are scripts, not tests; this only keeps them from rotting. The quick mode
starts the fake upstream and a real ``jupyter server`` with the extension, streams a
handful of chat completions through the proxy and directly, and writes the report.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_run_py_quick_mode_writes_a_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "run.py", "--quick", "--no-peers", "--output", str(tmp_path)],
        cwd=REPO / "benchmarks",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "comparison.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| jupyter-codex "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith("x")  # TTFB p50 ratio at c=1: both sides measured
    assert cells[-1] == "0 / 0"  # no failed request, proxied or direct
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "comparison.png").stat().st_size > 1000
