"""Find the processes a test run left behind (used by tests/conftest.py at session end).

The run makes itself a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``): a process
whose parent dies is re-parented to the run rather than to init, so a server's
app-server or kernel that outlived a killed server is still one of our descendants.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Adopt this process's orphaned descendants (a no-op off Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[0]


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(raw.decode(errors="replace").split("\0")).strip()[:200]


def descendants(pid: int | None = None) -> list[int]:
    """Every live (not zombie) descendant of ``pid`` (default: this process)."""
    todo, found = _children(pid or os.getpid()), []
    while todo:
        child = todo.pop()
        if _state(child) not in ("Z", "X", "gone"):
            found.append(child)
        todo += _children(child)
    return found


def _reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def leaked_processes(grace: float = 10.0) -> list[tuple[int, str]]:
    """Descendants still alive after ``grace`` seconds (shutdowns may be finishing)."""
    deadline = time.monotonic() + grace
    while True:
        _reap_zombies()
        alive = descendants()
        if not alive or time.monotonic() >= deadline:
            return [(pid, _command(pid)) for pid in alive]
        time.sleep(0.2)


def stop_leaked(leaked: list[tuple[int, str]]) -> None:
    """TERM, then KILL, what :func:`leaked_processes` found."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, _ in leaked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(2)
        _reap_zombies()
