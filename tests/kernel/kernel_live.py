"""What the kernel tests' module-scoped server fixture yields, and how it stores an
account (in a module of its own: ``conftest`` may name another directory's)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from fakes import FakeUpstream, chatgpt_auth_json
from helpers import ACCOUNT_ID, EMAIL
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


def import_account(
    server: JupyterServerProcess,
    fake: FakeUpstream,
    account_id: str = ACCOUNT_ID,
    email: str = EMAIL,
    label: str = "Work",
) -> str:
    """Store an account in the router (as `jupyter codex accounts import` does)."""
    fake.set_usage(account_id, primary_used=30, secondary_used=10)
    token = fake.add_account(account_id, email, refresh_token=f"rt-kernel-{account_id}")
    exp = int(time.time()) + 3600
    body = {
        "auth_json": chatgpt_auth_json(email, account_id, token, access_exp=exp),
        "label": label,
    }
    with server.client() as http:
        answer = http.post("/codex/api/accounts/import", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])
