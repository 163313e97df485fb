"""Browser tests: a real ``jupyter lab`` (one per module) with the extension, pointed at
the fake upstream, driven by Playwright in Debian's Chromium (no downloaded browsers).

Screenshots land in ``tests/ui/artifacts/`` (CI keeps them as artifacts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream
from playwright import sync_api as playwright_api
from server_process import JupyterServerProcess
from ui_helpers import chromium_path, open_lab, start_lab


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """pytest-jupyter's autouse loop fixture would close the current loop, which here
    is Playwright's (the sync API runs one): give it a private loop instead."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """No in-process ServerApp here (the lab runs in a subprocess): nothing to clean,
    and pytest-jupyter's cleanup cannot run inside Playwright's running loop."""


@pytest.fixture(scope="module")
def ui_fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab-root")
    (root / "proj").mkdir()
    (root / "proj" / "sub").mkdir()
    (root / "other").mkdir()
    return root


@pytest.fixture(scope="module")
def lab(
    ui_fake: FakeUpstream, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServerProcess]:
    """One ``jupyter lab`` for the module, with isolated settings and workspaces."""
    server = start_lab(ui_fake, lab_root, tmp_path_factory.mktemp("lab-home"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield b
        b.close()
    # Leave a fresh current loop for the (pytest-jupyter) tests that run after us.
    asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture(scope="module")
def rest(lab: JupyterServerProcess) -> Iterator[httpx.Client]:
    with lab.client() as client:
        yield client


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServerProcess) -> Iterator[Any]:
    page = open_lab(browser, lab)
    yield page
    page.context.close()
