"""One real Jupyter server (subprocess) with the extension and the real codex binary
for the whole tests/client directory, against one fake upstream. Tests use unique
script markers.

The client runs in the test process; a subprocess server keeps the sync client's
private loop thread from competing with pytest's loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import FakeUpstream
from helpers import extension_config, sign_in_cli_target
from live_server import CLIENT_TIMEOUT, Live
from server_process import JupyterServerProcess


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("client")
    data, root = tmp / "data", tmp / "root"
    (root / "proj").mkdir(parents=True)
    with FakeUpstream() as fake:
        sign_in_cli_target(fake, data)
        extra = {
            "ToolRouter": {"client_timeout": CLIENT_TIMEOUT},
            "WorkspaceManager": {"approval_timeout": 60.0},
        }
        with JupyterServerProcess(
            root, tmp / "cfg", extension_config(fake, data), extra_config=extra
        ) as server:
            yield Live(server, fake, root)
