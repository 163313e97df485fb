"""A real JupyterHub (configurable-http-proxy, DummyAuthenticator, SimpleLocalProcessSpawner)
running docs/examples/jupyterhub_config.py, moved to free ports and a temporary folder.

configurable-http-proxy comes from npm: ``.ci/run`` installs it with
``npm install --prefix tests/hub/.node configurable-http-proxy``; a global install
(``npm install -g configurable-http-proxy``) or ``$CONFIGURABLE_HTTP_PROXY`` works too.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fakes import FakeUpstream, codex_test_config
from server_process import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "docs" / "examples" / "jupyterhub_config.py"
LOCAL_CHP = Path(__file__).resolve().parent / ".node" / "node_modules" / ".bin"


def find_chp() -> str:
    """The configurable-http-proxy executable, or a failure that says how to install it."""
    for candidate in (
        os.environ.get("CONFIGURABLE_HTTP_PROXY"),
        str(LOCAL_CHP / "configurable-http-proxy"),
        shutil.which("configurable-http-proxy"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "configurable-http-proxy not found: run "
        "`npm install --prefix tests/hub/.node configurable-http-proxy` (as .ci/run does)"
    )


class HubProcess:
    """One JupyterHub for a test module; users' servers point at ``fake``."""

    def __init__(self, workdir: Path, fake: FakeUpstream, extra_config: str = "") -> None:
        self.workdir = workdir
        self.homes = workdir / "homes"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_hex(16)
        self.log_path = workdir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.homes.mkdir(exist_ok=True)
        # The users' servers read CodexExtensionApp config from this folder (on
        # JUPYTER_CONFIG_PATH): the codex overrides that point app-server at the fake.
        server_config = workdir / "server-config"
        server_config.mkdir(exist_ok=True)
        (server_config / "jupyter_server_config.json").write_text(
            json.dumps(
                {"CodexExtensionApp": {"codex_config_overrides": codex_test_config(fake)}},
                indent=1,
            )
        )
        env = {
            "JUPYTER_CODEX_CHATGPT_BASE_URL": fake.chatgpt_base_url,
            "JUPYTER_CODEX_OPENAI_BASE_URL": fake.openai_base_url,
            "JUPYTER_CODEX_AUTH_BASE_URL": fake.auth_base_url,
            "JUPYTER_CODEX_CA_CERTIFICATE": fake.ca_path,
            "JUPYTER_CONFIG_PATH": str(server_config),
            # Report activity to the hub every second (default 300 s) so the test can
            # watch what an idle culler would see.
            "JUPYTERHUB_ACTIVITY_INTERVAL": "1",
        }
        config = f"""
import sys
c = get_config()
load_subconfig({str(EXAMPLE_CONFIG)!r})
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{find_chp()!r}]
c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(16)!r}
c.JupyterHub.db_url = "sqlite:///{workdir / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret = bytes.fromhex({secrets.token_hex(32)!r})
c.JupyterHub.cleanup_servers = True
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes)!r} + "/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = list(c.Spawner.args) + [
    "--allow-root",
    "--ServerApp.ip=127.0.0.1",
    "--CodexExtensionApp.activity_interval=0.5",
]
c.Spawner.environment.update({env!r})
c.Spawner.env_keep = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"]
c.Spawner.default_url = "/tree"
c.JupyterHub.services = [{{"name": "codex-test", "api_token": {self.admin_token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "codex-test-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
        "services": ["codex-test"],
    }}
]
{extra_config}
"""
        self.config_path = workdir / "jupyterhub_config.py"
        self.config_path.write_text(config)

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> HubProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_path)],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyterhub did not start in {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """TERM the hub: with cleanup_servers it stops the users' servers and the proxy."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    # -- hub REST API as the test's admin service --------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.admin_token}"}
        return httpx.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kwargs
        )

    def spawn(self, user: str, timeout: float = 120.0) -> str:
        """Create ``user``, start their server, wait until it answers; return its URL."""
        r = self.api("POST", f"users/{user}")
        assert r.status_code in (201, 409), r.text
        r = self.api("POST", f"users/{user}/server")
        assert r.status_code in (201, 202, 400), r.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return f"{self.url}{server['url']}"
            time.sleep(0.5)
        raise RuntimeError(f"{user}'s server did not become ready:\n{self.log_tail()}")

    def token(self, user: str, scopes: list[str]) -> str:
        """A hub API token owned by ``user`` with exactly ``scopes``."""
        r = self.api("POST", f"users/{user}/tokens", json={"scopes": scopes, "note": "codex test"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def last_activity(self, user: str) -> str | None:
        """What the hub (and so an idle culler) believes is the server's last activity."""
        server = (self.api("GET", f"users/{user}").json().get("servers") or {}).get("")
        return server.get("last_activity") if server else None

    def home(self, user: str) -> Path:
        return self.homes / user
