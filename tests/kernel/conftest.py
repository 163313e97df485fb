"""Kernel tests: a real IPython kernel (jupyter_client) talks to a real Jupyter server
(subprocess, real codex binary) pointed at the fake upstream. One server and one
kernel per module; tests use unique script markers so they do not interfere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import FakeUpstream
from helpers import extension_config, sign_in_cli_target
from kernel_driver import KernelDriver, kernel
from kernel_live import Live, import_account
from server_process import JupyterServerProcess


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
