"""Start-up warns about a data dir or secret files that other users could read."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from pathlib import Path

import pytest

from jupyter_codex.core import CodexCore
from jupyter_codex.store.permissions import check_data_dir


def open_core(data_dir: Path, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Open the store as the extension does at start-up; return the warnings logged."""
    log = logging.getLogger("codex-permissions-test")
    core = CodexCore(
        data_dir=str(data_dir),
        chatgpt_base_url="https://127.0.0.1:9/backend-api",
        auth_base_url="https://127.0.0.1:9",
        ca_certificate="",
        log=log,
    )

    async def run() -> None:
        await core.open()
        await core.close()

    with caplog.at_level(logging.WARNING, logger=log.name):
        asyncio.run(run())
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_private_data_dir_gets_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "codex"
    assert open_core(data, caplog) == []
    assert oct(data.stat().st_mode & 0o777) == oct(0o700)
    assert check_data_dir(data) == []


def test_loose_modes_are_reported_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "codex"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # the umask may have hidden bits
    key = data / "secret.key"
    key.write_text("not-used-here\n")
    key.chmod(0o644)
    home = data / "targets" / "cli" / "codex_home"
    home.mkdir(parents=True)
    home.chmod(0o700)
    (home / "auth.json").write_text("{}")
    (home / "auth.json").chmod(0o640)

    warnings = open_core(data, caplog)
    text = "\n".join(warnings)
    assert f"Fix: chmod 700 {data}" in text
    assert f"Fix: chmod 600 {key}" in text
    assert f"Fix: chmod 600 {home / 'auth.json'}" in text
    assert "mode 0755" in text and "mode 0644" in text
    assert len(warnings) == 3, warnings
    # A warning, not a silent change: the administrator decides.
    assert key.stat().st_mode & 0o777 == 0o644


def test_someone_elses_files_are_reported(tmp_path: Path) -> None:
    data = tmp_path / "codex"
    data.mkdir(mode=0o700)
    db = data / "codex.db"
    db.write_bytes(b"")
    db.chmod(0o600)
    if os.getuid() == 0:
        os.chown(db, 12345, 12345)
    else:  # CI without root has passwordless sudo (.ci/run installs chromium with it)
        subprocess.run(["sudo", "-n", "chown", "12345:12345", str(db)], check=True)
    problems = check_data_dir(data)
    assert [p.path for p in problems] == [db]
    assert "belongs to user id 12345" in problems[0].message()
    assert "JUPYTER_CODEX_DATA_DIR" in problems[0].fix
