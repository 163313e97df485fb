"""What the kernel tests' module-scoped server fixture yields."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fakes import FakeUpstream
from server_process import JupyterServerProcess

#: Env vars a kernel must not inherit from the test process.
_SCRUB = ("JUPYTER_CODEX_", "JPY_SESSION_NAME", "JUPYTERHUB_")


@dataclass
class Live:
    server: JupyterServerProcess
    fake: FakeUpstream
    root: Path
    data: Path
    account_id: str

    @property
    def project(self) -> Path:
        return self.root / "proj"

    def kernel_env(self, **extra: str) -> dict[str, str]:
        """What the extension exports to kernels it launches, plus ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        env["JUPYTER_CODEX_SERVER_URL"] = self.server.url + "/"
        env["JUPYTER_CODEX_SERVER_TOKEN"] = self.server.token
        env.update(extra)
        return env
