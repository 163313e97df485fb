"""Kernels without a server: the private fallback server, and readable messages when
no server can be used."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fakes import FakeUpstream, text
from helpers import sign_in_cli_target
from kernel_driver import assert_readable, final_plain, kernel
from server_process import free_port

_SCRUB = ("JUPYTER_CODEX_", "JPY_SESSION_NAME", "JUPYTERHUB_", "JUPYTER_CONFIG_DIR")


def bare_env(**extra: str) -> dict[str, str]:
    """A kernel environment with no trace of a Jupyter server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(extra)
    return env


def gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_private_server_when_the_kernel_has_none(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    data, project, config = tmp_path / "data", tmp_path / "work" / "proj", tmp_path / "cfg"
    project.mkdir(parents=True)
    config.mkdir()
    sign_in_cli_target(fake_upstream, data)  # the same store a real server would use
    env = bare_env(
        JUPYTER_CODEX_DATA_DIR=str(data),
        JUPYTER_CODEX_CHATGPT_BASE_URL=fake_upstream.chatgpt_base_url,
        JUPYTER_CODEX_OPENAI_BASE_URL=fake_upstream.openai_base_url,
        JUPYTER_CODEX_AUTH_BASE_URL=fake_upstream.auth_base_url,
        JUPYTER_CODEX_CA_CERTIFICATE=fake_upstream.ca_path,
        JUPYTER_CONFIG_DIR=str(config),
    )
    fake_upstream.script("EMBED-ME", text("Hello from the private server."))
    with kernel(env, project) as k:
        k.ok("%load_ext jupyter_codex")
        run = k.ok("%codex EMBED-ME hello", timeout=180)
        assert "starting a private one" in run.stdout and "stops with this kernel" in run.stdout
        assert "Hello from the private server." in final_plain(run)
        status = final_plain(k.ok("%codex_status"))
        assert "private server of this kernel" in status
        assert f"data in {data}" in status
        pid = int(
            k.ok(
                "from jupyter_codex.kernel.embedded import current_embedded_server\n"
                "print(current_embedded_server().process.pid)"
            ).stdout
        )
        os.kill(pid, 0)  # running while the kernel runs
    assert gone(pid), "the private server outlived its kernel"
    assert fake_upstream.responses_requests()[-1].account_id == "acct-test-1"


def test_no_server_reads_well(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"
    env = bare_env(JUPYTER_CODEX_SERVER_URL=dead, JUPYTER_CODEX_SERVER_TOKEN="t0ken")
    with kernel(env, tmp_path) as k:
        k.ok("%load_ext jupyter_codex")
        assert_readable(k.run("%codex hello"), "cannot reach the jupyter server", dead)
        assert_readable(k.run("%codex_status"), "cannot reach the jupyter server")
        assert_readable(k.run("for i in range(1):\n    %codex hello"), "cannot reach")
    with kernel(bare_env(JUPYTER_CODEX_EMBEDDED="0"), tmp_path) as k:
        k.ok("%load_ext jupyter_codex")
        shown = assert_readable(k.run("%codex hello"), "no jupyter server")
        assert "JUPYTER_CODEX_EMBEDDED=0" in shown
