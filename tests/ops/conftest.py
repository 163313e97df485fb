"""One server for the CLI tests of this directory (tests use unique script markers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ops_server import Ops, ops_server


@pytest.fixture(scope="package")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    with ops_server(tmp_path_factory.mktemp("ops")) as found:
        yield found
