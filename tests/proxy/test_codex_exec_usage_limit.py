"""The real ``codex exec`` with the proxy (``codex/v1``) as its model provider.

With every account at its usage limit, codex must print its own usage-limit message
and exit promptly (it used to sleep on a 503's Retry-After and retry silently).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, text, usage_limit_error
from fakes.appserver import codex_bin
from helpers import Api
from proxy_helpers import responses_accounts, server_url, setup_accounts, token_of

pytest.importorskip("codex_cli_bin")


def proxy_provider_args(base: str) -> list[str]:
    """``-c`` overrides: a custom provider ``jc`` on the proxy, the key from ``JC_KEY``."""
    config = {
        "model_provider": '"jc"',
        "model": '"gpt-5.2-codex"',
        "model_providers.jc.name": '"jupyter-codex"',
        "model_providers.jc.base_url": f'"{base}codex/v1"',
        "model_providers.jc.wire_api": '"responses"',
        "model_providers.jc.env_key": '"JC_KEY"',
        "model_providers.jc.supports_websockets": "false",
        "analytics.enabled": "false",
    }
    args: list[str] = []
    for key, value in config.items():
        args += ["-c", f"{key}={value}"]
    return args


async def run_exec(tmp_path: Path, base: str, token: str, prompt: str) -> tuple[int, str, float]:
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "CODEX_HOME": str(home), "JC_KEY": token}
    env.pop("OPENAI_API_KEY", None)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        codex_bin(),
        "exec",
        "--skip-git-repo-check",
        *proxy_provider_args(base),
        prompt,
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60.0)
    except asyncio.TimeoutError:
        os.killpg(proc.pid, 9)
        await proc.wait()
        raise AssertionError("codex exec did not exit within 60 s") from None
    return proc.returncode or 0, out.decode(errors="replace"), time.monotonic() - started


async def test_codex_exec_prints_its_usage_limit_message_and_exits(
    api: Api,
    fake_upstream: FakeUpstream,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    tmp_path: Path,
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    base, token = server_url(jp_http_port, jp_base_url), token_of(jp_serverapp)
    # The proxy works for codex as a provider...
    fake_upstream.script("SAY-HI", text("hi from the proxy"))
    code, out, _ = await run_exec(tmp_path, base, token, "SAY-HI")
    assert code == 0, out
    assert "hi from the proxy" in out
    # ...and when the pool runs out, codex says so at once and exits.
    fake_upstream.script("EXHAUST", usage_limit_error(plan="plus", resets_in=1800))
    code, out, elapsed = await run_exec(tmp_path, base, token, "EXHAUST")
    assert code != 0
    assert "usage limit" in out.lower() and "try again at" in out, out
    assert elapsed < 20.0, (elapsed, out)
    # Again, with the account cooling down: the proxy answers without asking upstream.
    seen = len(responses_accounts(fake_upstream))
    code, out, elapsed = await run_exec(tmp_path, base, token, "ANOTHER")
    assert code != 0 and "usage limit" in out.lower(), out
    assert elapsed < 20.0, (elapsed, out)
    assert len(responses_accounts(fake_upstream)) == seen
