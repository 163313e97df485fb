"""Token safety, live: the router is the only refresher, by construction.

20-second access tokens (the fake enforces ``exp``), one ChatGPT account serving the
cli and api targets, and for about a minute at once: a long-running terminal-style
``codex app-server`` on the managed terminal ``CODEX_HOME`` making a turn every few
seconds, workspace turns, and proxy requests. Zero ``refresh_token_reused``, zero failed
turns or requests, and a bounded number of refreshes; then the same while the fake
revokes every access token every 15 s. Each soak takes about 65 s (normal suite).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from fakes import FakeUpstream, chatgpt_auth_json
from fakes.appserver import AppServer
from helpers import Api, turn_completed

pytest.importorskip("codex_cli_bin")

SOAK_SECONDS = float(os.environ.get("JUPYTER_CODEX_SOAK_SECONDS", "62"))
TTL = 20
MODEL = "gpt-5.2-codex"


async def sign_in(api: Api, fake: FakeUpstream) -> dict[str, Any]:
    rt = fake.add_account("acct-soak", "soak@example.com", refresh_token="rt-soak")
    body = {
        "auth_json": chatgpt_auth_json(
            "soak@example.com", "acct-soak", rt, access_exp=int(time.time()) + TTL
        ),
        "label": "Soak",
    }
    account = await api.call("POST", "accounts", "import", body=body)
    for target in ("cli", "api"):
        await api.call("PATCH", "targets", target, body={"account_id": account["id"]})
    return account  # type: ignore[no-any-return]


def timeline(fake: FakeUpstream, revoked_at: list[float]) -> str:
    """Backend requests and revocations in order, tokens shown by a short hash."""
    rows = [(t, "-- revocation") for t in revoked_at]
    for r in fake.requests:
        token = hashlib.sha256(r.bearer.encode()).hexdigest()[:6] if r.bearer else "-"
        who = r.headers.get("originator") or r.headers.get("user-agent", "")[:24]
        rows.append((r.at, f"{r.method} {r.path} {token} {who} {r.denied or ''}"))
    start = min(t for t, _ in rows)
    return "\n".join(f"{t - start:7.2f} {line}" for t, line in sorted(rows))


async def soak(
    api: Api,
    fake: FakeUpstream,
    serverapp: Any,
    port: int,
    base_url: str,
    root: Path,
    data_dir: Path,
    revoke_every: float | None,
) -> None:
    fake.enforce_token_expiry(TTL)
    account = await sign_in(api, fake)
    home = data_dir / "terminal_codex_home"
    # The terminal home holds no refresh token: codex there goes through the proxy.
    config = (home / "config.toml").read_text()
    assert "/codex/v1" in config and 'x-jupyter-codex-target" = "cli"' in config
    assert not (home / "auth.json").exists()

    (root / "work").mkdir()
    # A Jupyter terminal's environment: the server exports its URL and token at start.
    env = {
        "JUPYTER_CODEX_SERVER_URL": f"http://localhost:{port}{base_url}",
        "JUPYTER_CODEX_SERVER_TOKEN": str(serverapp.identity_provider.token),
    }
    terminal = AppServer(home, {}, env, cwd=root / "work")
    await terminal.start("terminal_codex")
    failures: list[str] = []
    counts = {"terminal": 0, "workspace": 0, "proxy": 0, "revocations": 0}
    deadline = time.monotonic() + SOAK_SECONDS

    async def terminal_turns() -> None:
        thread = await terminal.start_thread(root / "work")
        while time.monotonic() < deadline:
            turn, _ = await terminal.run_turn(thread, f"terminal {counts['terminal']}")
            if turn.get("status") != "completed":
                failures.append(f"terminal turn: {turn}")
            counts["terminal"] += 1
            await asyncio.sleep(2.0)

    async def workspace_turns() -> None:
        sid = (await api.call("POST", "sessions", body={"cwd": "work"}))["id"]
        after = 0
        while time.monotonic() < deadline:
            await api.call("POST", "sessions", sid, "messages", body={"text": "workspace"})
            done = await api.wait_event(
                sid, lambda e, a=after: turn_completed(e) and e["seq"] > a, timeout=60
            )
            after = done["seq"]
            if done["data"]["status"] != "completed":
                failures.append(f"workspace turn: {done['data']}")
            counts["workspace"] += 1
            await asyncio.sleep(2.5)

    async def proxy_requests() -> None:
        client = openai.AsyncOpenAI(
            base_url=f"http://localhost:{port}{base_url}codex/v1",
            api_key=str(serverapp.identity_provider.token),
            max_retries=0,
        )
        while time.monotonic() < deadline:
            try:
                await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "proxy"}]
                )
            except openai.OpenAIError as e:  # every failure is a finding
                failures.append(f"proxy request: {e!r}")
            counts["proxy"] += 1
            await asyncio.sleep(2.0)

    revoked_at: list[float] = []

    async def revoker() -> None:
        assert revoke_every is not None
        while time.monotonic() + revoke_every < deadline:
            await asyncio.sleep(revoke_every)
            fake.revoke_access_tokens()
            revoked_at.append(time.time())
            counts["revocations"] += 1

    jobs = [terminal_turns(), workspace_turns(), proxy_requests()]
    if revoke_every is not None:
        jobs.append(revoker())
    try:
        await asyncio.gather(*jobs)
    finally:
        await terminal.close()

    state = await api.call("GET", "accounts", account["id"])
    summary = f"{counts}, refreshes={fake.refreshes}, failures={failures[:3]}"
    if failures:  # what the backend saw, to tell a race from a missing refresh
        summary += "\n" + timeline(fake, revoked_at)
    assert fake.refresh_errors() == [], summary  # no refresh_token_reused, ever
    assert failures == [], summary
    assert state["status"] == "active", summary
    assert min(counts["terminal"], counts["workspace"], counts["proxy"]) >= 5, summary
    # Tokens did rotate, and only as often as they expire (or are revoked), not per use.
    expected = SOAK_SECONDS / (TTL * 0.75) + counts["revocations"]
    assert 1 <= fake.refreshes <= expected + 3, summary
    # Nothing but the router ever presented a refresh token (they are all its own).
    assert not (home / "auth.json").exists()
    print(f"soak: {summary}")


async def test_short_lived_tokens_one_refresher(
    api: Api,
    fake_upstream: FakeUpstream,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_root_dir: Path,
    codex_data_dir: Path,
) -> None:
    await soak(
        api,
        fake_upstream,
        jp_serverapp,
        jp_http_port,
        jp_base_url,
        jp_root_dir,
        codex_data_dir,
        revoke_every=None,
    )


async def test_short_lived_tokens_revoked_every_15_s(
    api: Api,
    fake_upstream: FakeUpstream,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_root_dir: Path,
    codex_data_dir: Path,
) -> None:
    await soak(
        api,
        fake_upstream,
        jp_serverapp,
        jp_http_port,
        jp_base_url,
        jp_root_dir,
        codex_data_dir,
        revoke_every=15.0,
    )
