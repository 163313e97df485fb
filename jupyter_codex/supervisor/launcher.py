"""Process mechanics of one ``codex app-server`` (jupyter_client's provisioner).

The launcher knows nothing about JSON-RPC: it starts the process in its own
session, so that signals reach the whole process *group* (the shells and
commands codex runs die with it), drains stderr into a small ring buffer of
recent lines for error messages, and answers ``poll``/``wait`` questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections import deque

from ..tasks import OwnedTask, TaskOwner, within
from .framing import LineSplitter, OversizedLine, redact

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_STDERR_CHUNK = 64 * 1024
_STDERR_LINE_MAX = 16 * 1024
# StreamReader buffer before the pipe is paused; the connection reads in 1 MiB chunks.
_STDOUT_BUFFER = 4 * 1024 * 1024


class AppServerLauncher:
    """Start, signal and reap one app-server process at a time.

    Every method that signals targets the process group created by
    ``start_new_session=True``. Called by :class:`AppServerManager` only.

    Parameters
    ----------
    log
        Where stderr lines go (at debug level, redacted).
    label
        Names the process in log lines, e.g. ``"codex app-server [cli]"``.
    stderr_lines
        How many recent stderr lines to keep for error messages.
    poll_interval
        Seconds between exit checks in :meth:`wait`.
    """

    def __init__(
        self,
        *,
        log: logging.Logger | None = None,
        label: str = "codex app-server",
        stderr_lines: int = 50,
        poll_interval: float = 0.05,
    ) -> None:
        self.log = log or logging.getLogger(__name__)
        self.label = label
        self.poll_interval = poll_interval
        self.process: asyncio.subprocess.Process | None = None
        self.recent_stderr: deque[str] = deque(maxlen=stderr_lines)
        self._pgid: int | None = None
        self._tasks = TaskOwner("codex-launcher", self.log)
        self._stderr_task: OwnedTask | None = None

    @property
    def pid(self) -> int | None:
        """Pid of the current process, or ``None`` before :meth:`launch`."""
        return self.process.pid if self.process is not None else None

    async def launch(
        self, argv: list[str], env: dict[str, str], cwd: str | None = None
    ) -> asyncio.subprocess.Process:
        """Start ``argv`` with piped stdio in a new session.

        Raises ``OSError`` if the executable cannot be started. The previous
        process, if any, must have been cleaned up.
        """
        self.recent_stderr.clear()
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            limit=_STDOUT_BUFFER,
        )
        self.process = process
        self._pgid = process.pid  # a session leader is its own group leader
        assert process.stderr is not None
        self._stderr_task = self._tasks.start_soon(
            self._drain_stderr, process.stderr, name="codex-stderr-drain"
        )
        self.log.debug("Launched %s, pid %d", self.label, process.pid)
        return process

    def poll(self) -> int | None:
        """Exit code of the process, or ``None`` while it runs (or was never started)."""
        return self.process.returncode if self.process is not None else None

    def has_process(self) -> bool:
        """Whether a process was launched and has not exited yet."""
        return self.process is not None and self.process.returncode is None

    async def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to exit; return its exit code, or ``None`` on timeout.

        Polls ``returncode`` instead of awaiting ``Process.wait()``: before
        Python 3.12 that also waits for the pipes to close, which a grandchild
        holding stdout could postpone forever.
        """
        if self.process is None:
            return None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.process.returncode is None:
            if deadline is not None and loop.time() >= deadline:
                return None
            await asyncio.sleep(self.poll_interval)
        return self.process.returncode

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group; a missing group is fine."""
        if self._pgid is None or self._pgid <= 1:  # never signal our own group or init
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._pgid, signum)

    def terminate(self) -> None:
        """SIGTERM the process group."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group."""
        self.send_signal(signal.SIGKILL)

    async def cleanup(self) -> None:
        """Reap what is left after the main process exited; forget the process.

        Kills stragglers still in the group, lets the stderr drain reach EOF
        (briefly), then cancels it.
        """
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            self.kill()
            await self.wait(timeout=5)
        self.kill()  # commands the app-server started and left behind
        task, self._stderr_task = self._stderr_task, None
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await within(task.wait(), 0.5)
            await task.stop()
        if process.stdin is not None:
            process.stdin.close()
        # If a process outside the group still holds a pipe, asyncio keeps the
        # transport open and warns at GC; close it ourselves (no public API).
        transport = getattr(process, "_transport", None)
        if transport is not None:
            transport.close()
        self.process = None
        self._pgid = None

    def stderr_tail(self, lines: int = 20) -> list[str]:
        """The last ``lines`` stderr lines, already redacted."""
        return list(self.recent_stderr)[-lines:]

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        # Undrained stderr would fill the pipe and block the app-server.
        splitter = LineSplitter(_STDERR_LINE_MAX)
        while True:
            chunk = await stream.read(_STDERR_CHUNK)
            items = splitter.feed(chunk) if chunk else splitter.flush()
            for item in items:
                if isinstance(item, OversizedLine):
                    text = f"[{item.size}-byte stderr line skipped]"
                else:
                    text = redact(_ANSI.sub("", item.decode("utf-8", "replace")).rstrip())
                    if not text:
                        continue
                self.recent_stderr.append(text)
                self.log.debug("%s stderr: %s", self.label, text)
            if not chunk:
                return


__all__ = ["AppServerLauncher"]
