"""Run a real ``jupyter server`` (or ``jupyter lab``) process for tests that need one
outside pytest-jupyter's in-process app: restarts, browsers, benchmarks."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from typing_extensions import Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_settings(folder: Path, **extra: Any) -> dict[str, Any]:
    """``LabApp`` config of a test lab: settings and workspaces in ``folder``, no news
    or update checks (nothing leaves 127.0.0.1); ``extra`` traits on top."""
    return {
        "user_settings_dir": str(folder / "user-settings"),
        "workspaces_dir": str(folder / "workspaces"),
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        **extra,
    }


def kill_group(pgid: int, grace: float = 5.0) -> None:
    """TERM, then KILL, every process left in group ``pgid`` (a no-op once it is empty)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pgid)
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


def _reap(pgid: int) -> None:
    """Collect the group's exited members that are our children (the server itself)."""
    while True:
        try:
            pid, _ = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class JupyterServerProcess:
    """A Jupyter server subprocess with the extension enabled and a known token."""

    def __init__(
        self,
        root_dir: Path,
        config_dir: Path,
        codex_config: dict[str, Any],
        *,
        app: str = "jupyter_server",
        extra_config: dict[str, Any] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.root_dir = root_dir
        self.config_dir = config_dir
        self.app = app
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or config_dir / "server.log"
        config: dict[str, Any] = {
            "ServerApp": {"jpserver_extensions": {"jupyter_codex": True}},
            "CodexExtensionApp": codex_config,
        }
        for key, value in (extra_config or {}).items():
            config.setdefault(key, {}).update(value)
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Self:
        """Start the server (once: ``with server.start():`` enters a running server)."""
        if self.process is not None and self.process.poll() is None:
            return self
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.config_dir)}
        argv = [
            sys.executable,
            "-m",
            self.app,
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            "--no-browser",
            "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
        ]
        log = self.log_path.open("ab")
        # Its own process group, so stop() reaps the app-servers and kernels it started too.
        self.process = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(f"{self.url}/api/status", headers=self.headers, timeout=2)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"jupyter did not start in {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop like Ctrl-C does (SIGINT twice is Jupyter's confirm-less shutdown: use TERM),
        then kill whatever is left of its process group (app-servers, kernels, terminals)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        kill_group(self.process.pid)

    def crash(self) -> None:
        """SIGKILL the server process alone, as a crash would (no shutdown hooks run),
        then reap the children it orphaned so the next server starts on a quiet data dir."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        kill_group(self.process.pid)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
