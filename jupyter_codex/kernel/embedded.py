"""A private, headless Jupyter server for kernels that run outside one.

``%codex`` talks to the server extension over HTTP. In plain IPython, or a
kernel launched by another frontend, there is no server to find, so the magics
start one: ``python -m jupyter_server`` on a free loopback port with a random
token (passed through the environment, never on the command line), the same
data dir and therefore the same accounts and sessions as any other server of
this user. The kernel owns it: the process is stopped at exit, and on Linux it
also gets SIGTERM if the kernel dies without running its exit handlers. The
kernel never imports the server; it only starts the process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ServerNotFoundError

#: Set to ``0`` to turn the fallback off (the magics then report that no server was found).
ENV_EMBEDDED = "JUPYTER_CODEX_EMBEDDED"

_PR_SET_PDEATHSIG = 1


def embedded_allowed(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ENV_EMBEDDED, "1").strip().lower() not in ("0", "false", "no", "off")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this thread dies.

    Only from the main thread: the signal follows the *thread* that forked.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec


class EmbeddedServer:
    """A ``jupyter server`` subprocess with jupyter-codex, owned by this process."""

    def __init__(
        self,
        root_dir: str | os.PathLike[str] | None = None,
        *,
        startup_timeout: float = 60.0,
        python: str = sys.executable,
    ) -> None:
        self.root_dir = str(Path(root_dir or os.getcwd()).resolve())
        self.startup_timeout = startup_timeout
        self.python = python
        self.port = 0
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir = ""
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        return Path(self._log_dir) / "server.log"

    def start(self) -> None:
        """Start the server (once) and wait until it accepts connections."""
        with self._lock:
            if self.running:
                return
            self.port = _free_port()
            self.token = secrets.token_hex(24)
            self._log_dir = tempfile.mkdtemp(prefix="jupyter-codex-embedded-")  # 0700
            env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CODEX_SERVER_")}
            env["JUPYTER_TOKEN"] = self.token
            argv = [
                self.python,
                "-m",
                "jupyter_server",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={self.root_dir}",
                "--ServerApp.jpserver_extensions",
                "jupyter_codex=True",
            ]
            fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as log:
                self.process = subprocess.Popen(
                    argv,
                    env=env,
                    cwd=self.root_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own session: "interrupt kernel" signals the kernel's process
                    # group, and must not stop the server with it.
                    start_new_session=True,
                    preexec_fn=_die_with_parent(),  # noqa: PLW1509
                )
            atexit.register(self.stop)
            self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServerNotFoundError(
                    "The private Jupyter server for Codex exited while starting "
                    f"(code {self.process.returncode}). Its log:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise ServerNotFoundError(
            f"The private Jupyter server for Codex did not start within "
            f"{self.startup_timeout:.0f} s. Its log:\n{self.log_tail()}"
        )

    def log_tail(self, chars: int = 2000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-chars:].replace(self.token, "***") if self.token else text[-chars:]

    def stop(self, timeout: float = 15.0) -> None:
        """TERM the server (it stops codex and flushes events), KILL it if it hangs."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_server: EmbeddedServer | None = None
_server_lock = threading.Lock()


def embedded_server(root_dir: str | os.PathLike[str] | None = None) -> EmbeddedServer:
    """The process's embedded server, started on first use."""
    global _server
    with _server_lock:
        if _server is None or not _server.running:
            server = EmbeddedServer(root_dir)
            server.start()
            _server = server
        return _server


def current_embedded_server() -> EmbeddedServer | None:
    """The embedded server if this process started one (it may have stopped since)."""
    return _server


def stop_embedded_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None


__all__ = [
    "ENV_EMBEDDED",
    "EmbeddedServer",
    "current_embedded_server",
    "embedded_allowed",
    "embedded_server",
    "stop_embedded_server",
]
