"""Fixtures for supervisor tests: real ``codex`` binary, or the misbehaving fake."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from supervisor_helpers import Events, ManagerPool
from traitlets.config import Config

FAKE = Path(__file__).with_name("fake_app_server.py")


@pytest.fixture
def fake_bin(tmp_path: Path) -> str:
    """An executable that runs ``fake_app_server.py`` (codex_bin must be one path)."""
    path = tmp_path / "fake-codex"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def fast_restarts() -> Config:
    """Restarter config that keeps crash-loop tests short."""
    c = Config()
    c.AppServerRestarter.backoff_base = 0.01
    c.AppServerRestarter.backoff_max = 0.05
    return c


@pytest.fixture
def managers(tmp_path: Path) -> Iterator[ManagerPool]:
    """Managers for one test; use ``async with managers:`` around the test body."""
    pool = ManagerPool(tmp_path)
    yield pool
    if not pool.closed:
        pool.kill_all()
        pytest.fail("the test did not use `async with managers:`")


@pytest.fixture
def events() -> Events:
    return Events()
