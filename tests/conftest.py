"""Shared fixtures: a real Jupyter server with the extension, the real codex binary,
and the fake OpenAI upstream (the only fake in the suite)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeUpstream, fake_upstream
from helpers import Api, Fetch, extension_config, sign_in_cli_target
from process_leaks import leaked_processes, mark_run, stop_leaked
from server_process import free_port
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]

__all__ = ["fake_upstream"]


def pytest_configure(config: pytest.Config) -> None:
    # Everything the run starts inherits this marker, also once orphaned (a server's
    # app-server after its parent died, a lab started twice): the end-of-run check
    # finds them by it.
    mark_run()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process it started is still alive once every fixture is torn
    down (then stop them, so one leaky run does not burden the next)."""
    leaked = leaked_processes()
    if not leaked:
        return
    stop_leaked(leaked)
    lines = "\n".join(f"  pid {pid}: {cmd}" for pid, cmd in leaked)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"{len(leaked)} process(es) started by the tests outlived them:\n{lines}"
    if reporter is not None:
        reporter.write_sep("=", "leaked processes", red=True)
        reporter.write_line(message)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _restore_codex_environment() -> Iterator[None]:
    """The extension points terminals and kernels at its CODEX_HOME through os.environ;
    undo that after each test so tests stay independent."""
    keys = [k for k in os.environ if k.startswith("CODEX_")]
    saved = {k: os.environ[k] for k in keys}
    yield
    for key in [k for k in os.environ if k.startswith("CODEX_")]:
        if key not in saved:
            del os.environ[key]
    os.environ.update(saved)


@pytest.fixture
def codex_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "codex-data"


@pytest.fixture
def jp_server_config(fake_upstream: FakeUpstream, codex_data_dir: Path) -> Config:
    sign_in_cli_target(fake_upstream, codex_data_dir)
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_codex": True}},
            "CodexExtensionApp": {
                **extension_config(fake_upstream, codex_data_dir),
                "browser_login_port": free_port(),
            },
            "WorkspaceManager": {"approval_timeout": 60.0},
        }
    )


@pytest.fixture
def api(jp_fetch: Fetch) -> Api:
    return Api(jp_fetch)
