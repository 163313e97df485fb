"""Find the processes a test run left behind (used by tests/conftest.py at session end).

The run puts a marker with its own id in the environment (:data:`RUN_VAR`) before it
starts anything; every process it starts, and everything those start (servers, their
app-servers and kernels), inherits it, also once orphaned and re-parented to init.
At the end, any live process carrying the marker is a leak. (A child subreaper would
find orphans too, but it must then reap them, and unreaped zombies confuse the tests
that check a process is gone.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path

#: The environment variable that marks the processes of one test run.
RUN_VAR = "JCX_TEST_RUN"


def mark_run() -> None:
    """Give this run its marker (kept if an outer run already set one)."""
    os.environ.setdefault(RUN_VAR, uuid.uuid4().hex)


def marked_processes() -> list[int]:
    """Live processes (not zombies) other than this one that carry this run's marker."""
    if not sys.platform.startswith("linux") or RUN_VAR not in os.environ:
        return []
    marker = f"{RUN_VAR}={os.environ[RUN_VAR]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and _state(int(entry.name)) not in ("Z", "X", "gone"):
            found.append(int(entry.name))
    return found


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


def descendants(pid: int | None = None) -> list[int]:  # used by the check's own test
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
    """Processes of this run still alive after ``grace`` seconds (shutdowns may be
    finishing)."""
    deadline = time.monotonic() + grace
    while True:
        _reap_zombies()
        alive = marked_processes()
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
