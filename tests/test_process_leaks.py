"""The end-of-run leak check (tests/conftest.py) sees orphans, not just children."""

from __future__ import annotations

import subprocess
import sys

import pytest
from process_leaks import descendants, leaked_processes, marked_processes, stop_leaked

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def test_an_orphaned_grandchild_is_found_and_stopped() -> None:
    # The shell exits at once; its background sleep is orphaned (re-parented to init).
    subprocess.run(["sh", "-c", "sleep 120 >/dev/null 2>&1 &"], check=True)
    leaked = [(pid, cmd) for pid, cmd in leaked_processes(grace=0) if "sleep 120" in cmd]
    assert len(leaked) == 1, leaked
    assert leaked[0][0] not in descendants()  # not our child: found by its marker
    stop_leaked(leaked)
    assert leaked[0][0] not in marked_processes()
