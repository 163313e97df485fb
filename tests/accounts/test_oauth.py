"""Sign-in flows against the TLS fake: device code end to end, browser PKCE exchange."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from account_helpers import open_manager
from fakes import FakeUpstream

from jupyter_codex.accounts import CLIENT_ID, new_state, pkce_pair
from jupyter_codex.errors import AccountError

DEVICE_TOKEN = "/api/accounts/deviceauth/token"


async def test_device_code_sign_in_end_to_end(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        login = manager.device_login(poll_interval=0.05)
        prompt = await login.start()
        assert prompt["verification_url"] == f"{fake_upstream.url}/codex/device"
        assert prompt["expires_at"] == pytest.approx(time.time() + 900, abs=5)
        assert login.interval == 5.0  # the server sends the interval as a string
        (usercode,) = fake_upstream.requests_to("/api/accounts/deviceauth/usercode")
        assert usercode.body == {"client_id": CLIENT_ID}

        waiting = asyncio.ensure_future(login.wait())
        await asyncio.to_thread(
            fake_upstream.wait_for, lambda f: len(f.requests_to(DEVICE_TOKEN)) >= 2
        )
        assert not waiting.done()  # 403 = still pending: it keeps polling
        fake_upstream.approve_device_code(
            prompt["user_code"], "acct-dev", "dev@example.com", "team"
        )
        tokens = await asyncio.wait_for(waiting, 10)

        exchange = fake_upstream.requests_to("/oauth/token")[-1]
        assert exchange.headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert exchange.body["grant_type"] == "authorization_code"
        assert exchange.body["redirect_uri"] == f"{fake_upstream.url}/deviceauth/callback"
        assert exchange.body["client_id"] == CLIENT_ID
        assert tokens.account_id == "acct-dev" and "rt-" in tokens.refresh_token

        account = await manager.add_chatgpt_tokens(tokens)
        assert (account.email, account.plan, account.chatgpt_account_id) == (
            "dev@example.com",
            "team",
            "acct-dev",
        )
        # The stored refresh token is live at the issuer: a forced refresh rotates it.
        await manager.force_refresh(account.id)
        _, stored = await manager.repo.get_with_secrets(account.id)
        assert stored.refresh_token == fake_upstream.live_refresh_token("acct-dev")
        assert stored.refresh_token != tokens.refresh_token
        assert (await manager.get(account.id)).status == "active"


async def test_device_code_wait_can_be_cancelled(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        login = manager.device_login(poll_interval=10)
        await login.start()
        waiting = asyncio.ensure_future(login.wait())
        await asyncio.sleep(0.2)
        login.cancel()
        with pytest.raises(AccountError, match="cancelled"):
            await asyncio.wait_for(waiting, 5)

        other = manager.device_login(poll_interval=10)
        await other.start()
        task = asyncio.ensure_future(other.wait())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(RuntimeError, match="start"):
            await manager.device_login().wait()

        late = manager.device_login(poll_interval=0.01)
        await late.start()
        late.expires_at = time.time() - 1  # 15 minutes later, never approved
        with pytest.raises(AccountError, match="device code expired"):
            await late.wait()


async def test_browser_pkce_flow(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        oauth = manager.oauth
        verifier, challenge = pkce_pair()
        state = new_state()
        redirect = "http://localhost:8888/codex/api/accounts/login/callback"
        url = oauth.authorize_url(redirect, state, challenge)
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert (
            f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake_upstream.url}/oauth/authorize"
        )
        assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == redirect
        assert (query["code_challenge"], query["code_challenge_method"]) == (challenge, "S256")
        assert query["state"] == state and "offline_access" in query["scope"]

        code = fake_upstream.authorize("acct-web", challenge, redirect, "web@example.com")
        with pytest.raises(AccountError, match=r"refused the authorization code \(invalid_grant\)"):
            await oauth.exchange_code(code, "wrong-verifier", redirect)
        code = fake_upstream.authorize("acct-web", challenge, redirect, "web@example.com")
        tokens = await oauth.exchange_code(code, verifier, redirect)
        account = await manager.add_chatgpt_tokens(tokens, label="browser")
        assert (account.label, account.email) == ("browser", "web@example.com")
        with pytest.raises(AccountError, match="invalid_grant"):  # a code works once
            await oauth.exchange_code(code, verifier, redirect)
