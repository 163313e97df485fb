"""A real Jupyter server (subprocess, real codex, fake upstream) found through a private
runtime directory, and the ``jupyter codex`` CLI run as a subprocess against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes import FakeUpstream
from helpers import extension_config, sign_in_cli_target
from server_process import JupyterServerProcess

#: Variables that would point the CLI somewhere else than the runtime directory.
_POINTERS = ("JUPYTER_CODEX_SERVER_URL", "JUPYTER_CODEX_SERVER_TOKEN", "JUPYTERHUB_SERVICE_URL")


@dataclass
class Ops:
    server: JupyterServerProcess
    fake: FakeUpstream
    root: Path
    runtime: Path
    data: Path

    @property
    def url(self) -> str:
        return self.server.url + "/"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _POINTERS}
        return {**env, "JUPYTER_RUNTIME_DIR": str(self.runtime), **extra}

    def cli(
        self,
        *args: str,
        stdin: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_codex.cli", *args],
            env=env or self.env(),
            input=stdin,
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def proxy_key(ops: Ops) -> str:
    """A proxy client key, with a ChatGPT account active on the api target (made once)."""
    cached = getattr(ops, "_proxy_key", None)
    if cached:
        return str(cached)
    import time

    import httpx
    from fakes import chatgpt_auth_json

    rt = ops.fake.add_account("acct-proxy", "proxy@example.com", refresh_token="rt-proxy")
    auth = chatgpt_auth_json(
        "proxy@example.com", "acct-proxy", rt, access_exp=int(time.time() + 1800)
    )
    with httpx.Client(
        base_url=ops.url + "codex/api/", headers=ops.server.headers, timeout=30
    ) as api:
        account = api.post("accounts/import", json={"auth_json": auth}).json()
        api.patch("targets/api", json={"account_id": account["id"]}).raise_for_status()
        key = str(api.post("keys", json={"name": "ci"}).json()["key"])
    object.__setattr__(ops, "_proxy_key", key)
    return key


@contextmanager
def ops_server(tmp: Path, extra: dict[str, Any] | None = None) -> Iterator[Ops]:
    data, root, runtime = tmp / "data", tmp / "root", tmp / "runtime"
    (root / "proj").mkdir(parents=True)
    runtime.mkdir()
    with FakeUpstream() as fake:
        sign_in_cli_target(fake, data)
        config = {"WorkspaceManager": {"approval_timeout": 60.0}, **(extra or {})}
        saved = os.environ.get("JUPYTER_RUNTIME_DIR")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)  # the server writes jpserver-*.json here
        try:
            server = JupyterServerProcess(
                root, tmp / "cfg", extension_config(fake, data), extra_config=config
            ).start()
        finally:
            if saved is None:
                os.environ.pop("JUPYTER_RUNTIME_DIR", None)
            else:
                os.environ["JUPYTER_RUNTIME_DIR"] = saved
        try:
            yield Ops(server, fake, root, runtime, data)
        finally:
            server.stop()
