"""One running app-server: its process group and the JSON-RPC connection on its stdio.

:class:`AppServerProcess` is the mechanics under :class:`~.manager.AppServerManager`:
launch and handshake, notice the end (an exit, or stdout that became
unusable), and take the process down gracefully or not. It holds no lifecycle
state and fires no events; the manager decides what each of these means.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from ..config import ENV_CODEX_BIN
from ..errors import AppServerError, AppServerStartError
from ..tasks import first_completed, run_to_completion
from .connection import JsonRpcConnection
from .launcher import AppServerLauncher

#: How many stderr lines an error message quotes.
STDERR_IN_ERRORS = 12


def describe_exit(returncode: int | None) -> str:
    """``"exit code 1"``, ``"killed by SIGKILL"`` or ``"exit status unknown"``."""
    if returncode is None:
        return "exit status unknown"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class AppServerProcess:
    """Launch, watch and end the app-server process of one manager.

    Parameters
    ----------
    name
        The manager's name, for messages.
    log
        The manager's logger.
    """

    def __init__(self, *, name: str, log: logging.Logger) -> None:
        self.name = name
        self.log = log
        self.launcher = AppServerLauncher(log=log, label=f"codex app-server [{name}]")
        #: The connection to the current process, or ``None``.
        self.connection: JsonRpcConnection | None = None

    @property
    def pid(self) -> int | None:
        """Pid of the live process, or ``None``."""
        return self.launcher.pid if self.launcher.has_process() else None

    def stderr_tail(self) -> list[str]:
        """The last stderr lines, for error messages."""
        return self.launcher.stderr_tail(STDERR_IN_ERRORS)

    async def open(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        *,
        initialize_params: dict[str, Any],
        timeout: float,
        shutdown_wait_time: float,
        **connection_options: Any,
    ) -> dict[str, Any]:
        """Launch ``argv``, connect and perform the ``initialize`` handshake.

        Returns the ``initialize`` result. On failure no process is left behind
        (it is ended as :meth:`discard` does, within ``shutdown_wait_time``) and :class:`AppServerStartError` says why (with the exit and the last
        stderr lines); a cancellation propagates as such.
        """
        try:
            process = await self.launcher.launch(argv, env, cwd)
        except OSError as e:
            raise AppServerStartError(
                f"could not run codex app-server ({self.name}) from {argv[0]!r}: "
                f"{e.strerror or e}. Set c.AppServerManager.codex_bin or ${ENV_CODEX_BIN}.",
                name=self.name,
            ) from e
        assert process.stdout is not None and process.stdin is not None
        conn = JsonRpcConnection(process.stdout, process.stdin, log=self.log, **connection_options)
        conn.start()
        self.connection = conn
        try:
            result = await conn.request("initialize", initialize_params, timeout=timeout)
            await conn.notify("initialized")
        except BaseException as e:
            returncode = await self.discard(
                graceful=False,
                wait_time=shutdown_wait_time,
                reason=f"codex app-server ({self.name}) failed to start",
            )
            if not isinstance(e, AppServerError):
                raise
            raise AppServerStartError(self._failure_message(e, returncode), name=self.name) from e
        return result if isinstance(result, dict) else {}

    def _failure_message(self, error: AppServerError, returncode: int | None) -> str:
        parts = [f"codex app-server ({self.name}) did not start: {error.message}"]
        if returncode is not None:
            parts.append(f"It exited ({describe_exit(returncode)}).")
        tail = self.stderr_tail()
        if tail:
            parts.append("Last stderr lines:\n" + "\n".join(tail))
        return "\n".join(parts)

    async def ended(self) -> None:
        """Return once the process exits or its connection closes, whichever is first."""
        conn = self.connection
        if conn is None:
            await self.launcher.wait()
        else:
            await first_completed(self.launcher.wait(), conn.closed)

    async def reap(self) -> int | None:
        """After :meth:`ended`: kill a process whose output became unusable; return its exit."""
        # stdout closed or the reader failed while the process lives: the
        # protocol cannot recover, so treat it as a crash.
        if self.launcher.has_process() and await self.launcher.wait(1.0) is None:
            conn = self.connection
            reason = conn.close_reason if conn is not None else "no connection"
            self.log.error(
                "Lost the connection to codex app-server (%s) (%s); killing it", self.name, reason
            )
            self.launcher.kill()
            await self.launcher.wait(5.0)
        return self.launcher.poll()

    async def discard(self, *, graceful: bool, wait_time: float, reason: str) -> int | None:
        """Close the connection (failing pending requests) and end the process group.

        ``graceful``: EOF on stdin, wait half of ``wait_time``, SIGTERM, wait
        the other half, SIGKILL. Otherwise SIGTERM first. Runs to the end even
        if the caller is cancelled, so no process or task is left behind.
        """
        return await run_to_completion(self._discard_now(graceful, wait_time, reason))

    async def _discard_now(self, graceful: bool, wait_time: float, reason: str) -> int | None:
        conn, self.connection = self.connection, None
        if conn is not None:
            await conn.aclose(reason)  # also closes stdin: app-server exits on EOF
        launcher = self.launcher
        half = max(wait_time / 2, 0.0)
        if launcher.has_process() and graceful:
            await launcher.wait(half)
        if launcher.has_process():
            self.log.debug("Sending SIGTERM to codex app-server (%s)", self.name)
            launcher.terminate()
            await launcher.wait(half)
        if launcher.has_process():
            self.log.warning("codex app-server (%s) ignored SIGTERM; killing it", self.name)
            launcher.kill()
            await launcher.wait(5.0)
        returncode = launcher.poll()
        await launcher.cleanup()
        return returncode


__all__ = ["STDERR_IN_ERRORS", "AppServerProcess", "describe_exit"]
