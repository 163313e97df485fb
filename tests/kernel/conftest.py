"""Kernel tests: a real IPython kernel (jupyter_client) talks to a real Jupyter server
(subprocess, real codex binary) pointed at the fake upstream. One server and one
kernel per module; tests use unique script markers so they do not interfere."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fakes import FakeUpstream, chatgpt_auth_json
from helpers import ACCOUNT_ID, EMAIL, extension_config, sign_in_cli_target
from kernel_driver import KernelDriver, kernel
from kernel_live import Live
from server_process import JupyterServerProcess


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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("kernel")
    data, root = tmp / "data", tmp / "root"
    (root / "proj").mkdir(parents=True)
    with FakeUpstream() as fake:
        sign_in_cli_target(fake, data)
        extra = {"WorkspaceManager": {"approval_timeout": 120.0}}
        with JupyterServerProcess(
            root, tmp / "cfg", extension_config(fake, data), extra_config=extra
        ) as server:
            yield Live(server, fake, root, data, import_account(server, fake))


@pytest.fixture(scope="module")
def nb(live: Live) -> Iterator[KernelDriver]:
    """A kernel in ``root/proj`` with the extension loaded, as a notebook there has it."""
    env = live.kernel_env(JPY_SESSION_NAME=str(live.project / "analysis.ipynb"))
    with kernel(env, live.project) as driver:
        driver.ok("%load_ext jupyter_codex")
        yield driver
