"""Token refresh against the TLS fake: single flight, rotation, quarantine, transient errors."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
from account_helpers import ACCOUNT, auth_json, failing_token_server, open_manager
from fakes import FakeUpstream

from jupyter_codex.accounts import CLIENT_ID, needs_refresh
from jupyter_codex.errors import AccountError, AccountQuarantinedError, UpstreamAuthError
from jupyter_codex.models import Account

REUSED = "Sign in again: the refresh token was already used elsewhere (refresh_token_reused)."
REVOKED = "Sign in again: the refresh token was revoked (refresh_token_invalidated)."


def spend_elsewhere(fake: FakeUpstream, refresh_token: str) -> None:
    """Another holder (a second machine, a terminal codex) uses the refresh token first."""
    with httpx.Client(verify=fake.ssl_context()) as client:
        body = {
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        assert client.post(fake.url + "/oauth/token", json=body).status_code == 200


async def test_twenty_concurrent_callers_cause_one_refresh(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, refresh = auth_json(fake_upstream, tmp_path / "home", expires_in=60)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        assert fake_upstream.token_calls == 0
        results = await asyncio.gather(*(manager.credentials(account.id) for _ in range(20)))
        assert fake_upstream.token_calls == 1
        (request,) = fake_upstream.requests_to("/oauth/token")
        assert request.headers["content-type"] == "application/json"
        assert request.body == {
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        }
        assert len({c.access_token for c in results}) == 1
        assert results[0].expires_at is not None and results[0].expires_at > time.time() + 3000
        assert results[0].chatgpt_account_id == ACCOUNT
        # The rotated refresh token is what is stored now; the old one is gone.
        _, secrets = await manager.repo.get_with_secrets(account.id)
        assert secrets.refresh_token == fake_upstream.live_refresh_token(ACCOUNT) != refresh
        stored = await manager.get(account.id)
        assert stored.last_refresh is not None and stored.last_refresh > time.time() - 5
        # Fresh now: no further request.
        await manager.credentials(account.id)
        assert fake_upstream.token_calls == 1


async def test_fresh_token_is_handed_out_without_a_request(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home", expires_in=3600)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        creds = await manager.credentials(account.id)
        headers = creds.auth_headers()
        assert headers["Authorization"] == f"Bearer {creds.access_token}"
        assert headers["ChatGPT-Account-Id"] == ACCOUNT
        # A caller that needs more validity than is left triggers the refresh.
        await manager.credentials(account.id, min_validity=7200)
        assert fake_upstream.token_calls == 1


async def test_a_reused_refresh_token_quarantines_once_and_never_retries(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, refresh = auth_json(fake_upstream, tmp_path / "home", expires_in=60)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        events: list[tuple[str, str]] = []
        manager.add_listener(lambda kind, account_id: events.append((kind, account_id)))
        spend_elsewhere(fake_upstream, refresh)
        with pytest.raises(AccountQuarantinedError) as info:
            await manager.credentials(account.id)
        assert REUSED in info.value.message and info.value.status_code == 409
        calls = fake_upstream.token_calls
        assert calls == 2
        (listed,) = await manager.list_accounts()
        assert (listed.status, listed.status_reason) == ("quarantined", REUSED)
        for _ in range(3):  # no loop: later calls fail at once, without a request
            with pytest.raises(AccountQuarantinedError, match="refresh_token_reused"):
                await manager.credentials(account.id)
            with pytest.raises(AccountQuarantinedError):
                await manager.force_refresh(account.id)
        assert fake_upstream.token_calls == calls
        assert events == [("quarantined", account.id)]


async def test_a_revoked_refresh_token_quarantines(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, refresh = auth_json(fake_upstream, tmp_path / "home", expires_in=60)
    fake_upstream.revoke_refresh_token(refresh)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        with pytest.raises(AccountQuarantinedError, match="was revoked"):
            await manager.credentials(account.id)
        assert (await manager.get(account.id)).status_reason == REVOKED


async def test_transient_failures_keep_the_account_usable(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home", expires_in=-10)  # already expired
    with failing_token_server(500) as broken:
        async with open_manager(tmp_path / "data", auth_base_url=broken) as manager:
            account = await manager.import_auth_json(str(path))
            for _ in range(2):  # each call tries again: nothing is cached as dead
                with pytest.raises(UpstreamAuthError) as info:
                    await manager.credentials(account.id)
                assert info.value.status_code == 502
                assert "HTTP 500, server_error" in info.value.message
                assert "stays usable" in info.value.message
            got = await manager.get(account.id)
            assert (got.status, got.status_reason) == ("active", None)
    async with open_manager(tmp_path / "data2", auth_base_url="https://127.0.0.1:1") as manager:
        account = await manager.import_auth_json(str(path))
        with pytest.raises(UpstreamAuthError, match="Could not reach the sign-in server"):
            await manager.credentials(account.id)
        assert (await manager.get(account.id)).status == "active"


async def test_a_still_valid_token_bridges_a_failed_refresh(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home", expires_in=200)
    with failing_token_server(503) as broken:
        async with open_manager(tmp_path / "data", auth_base_url=broken) as manager:
            account = await manager.import_auth_json(str(path))
            creds = await manager.credentials(account.id)  # due (200 s < 300 s), refresh fails
            assert creds.expires_at is not None and creds.expires_at > time.time() + 100
            with pytest.raises(UpstreamAuthError):  # a forced refresh (after a 401) cannot
                await manager.force_refresh(account.id)


async def test_force_refresh_after_401_refreshes_once_per_rejected_token(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home", expires_in=1800)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        rejected = (await manager.credentials(account.id)).access_token
        first = await manager.force_refresh(account.id, rejected_token=rejected)
        again = await manager.force_refresh(account.id, rejected_token=rejected)
        assert first.access_token != rejected and again.access_token == first.access_token
        assert fake_upstream.token_calls == 1
        await manager.force_refresh(account.id)  # without a token: always refreshes
        assert fake_upstream.token_calls == 2


async def test_no_token_in_logs_or_errors(
    tmp_path: Path, fake_upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path, refresh = auth_json(fake_upstream, tmp_path / "home", expires_in=60)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        _, imported = await manager.repo.get_with_secrets(account.id)
        creds = await manager.credentials(account.id)
        _, rotated = await manager.repo.get_with_secrets(account.id)
        spend_elsewhere(fake_upstream, rotated.refresh_token or "")
        with pytest.raises(AccountQuarantinedError) as info:
            await manager.credentials(account.id, min_validity=10_000)
    secrets = {refresh, imported.access_token, creds.access_token, rotated.refresh_token}
    assert "HTTP Request: POST" in caplog.text  # httpx's own debug/info lines were captured
    assert "quarantined" in caplog.text
    text = caplog.text + str(info.value) + repr(info.value.to_json()) + repr(creds)
    for secret in secrets:
        assert secret and secret not in text
        assert secret[-16:] not in text  # not even a tail of one


async def test_api_keys_and_disabled_accounts(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.add_api_key("sk-test-0123456789abcdef")
        creds = await manager.credentials(account.id)
        assert creds.kind == "api_key" and creds.auth_headers() == {
            "Authorization": "Bearer sk-test-0123456789abcdef"
        }
        await manager.update(account.id, enabled=False)
        with pytest.raises(AccountError, match="is disabled. Enable it"):
            await manager.credentials(account.id)
        assert fake_upstream.token_calls == 0


def test_refresh_is_due_ahead_of_exp_or_after_eight_days() -> None:
    now = 1_000_000.0

    def acct(exp: float | None, last: float | None) -> Account:
        return Account(
            id="a", label="a", kind="chatgpt", created_at=0, updated_at=0,
            access_expires_at=exp, last_refresh=last,
        )  # fmt: skip

    assert needs_refresh(acct(now + 299, None), 300, now)
    assert not needs_refresh(acct(now + 301, None), 300, now)
    assert not needs_refresh(acct(None, now - 7 * 86400), 300, now)
    assert needs_refresh(acct(None, now - 9 * 86400), 300, now)
    assert needs_refresh(acct(None, None), 300, now)
