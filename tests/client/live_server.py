"""What the client tests' shared server fixture yields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fakes import FakeUpstream
from server_process import JupyterServerProcess

#: ToolRouter.client_timeout of the test server: how long a call waits for a client.
CLIENT_TIMEOUT = 3.0


@dataclass
class Live:
    server: JupyterServerProcess
    fake: FakeUpstream
    root: Path

    @property
    def url(self) -> str:
        return self.server.url + "/"

    @property
    def token(self) -> str:
        return self.server.token
