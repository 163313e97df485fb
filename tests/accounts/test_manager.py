"""AccountManager: adding, importing, updating, removing, listeners, auth.json sync."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from account_helpers import ACCOUNT, EMAIL, auth_json, open_manager, write_json
from fakes import FakeUpstream, make_jwt

from jupyter_codex.accounts import AccountSource, read_auth_json_tokens
from jupyter_codex.errors import (
    AccountQuarantinedError,
    AuthFileError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)


async def test_import_auth_json_adds_a_chatgpt_account_without_exposing_tokens(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, refresh = auth_json(fake_upstream, tmp_path / "home", plan="plus")
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        source: AccountSource = manager  # the protocol the usage scheduler relies on
        account = await manager.import_auth_json(str(path), label="  Work   account ")
        assert account.kind == "chatgpt" and account.label == "Work account"
        assert (account.email, account.chatgpt_account_id, account.plan) == (EMAIL, ACCOUNT, "plus")
        assert account.status == "active" and account.active_targets == []
        assert account.access_expires_at is not None and account.last_refresh is not None
        listed = await source.list_accounts()
        assert [a.id for a in listed] == [account.id]
        access = json.loads(path.read_text())["tokens"]["access_token"]
        for shown in (account, listed[0]):
            dumped = shown.model_dump_json()
            assert refresh not in dumped and access not in dumped
            assert refresh not in repr(shown)
        assert set(json.loads(listed[0].model_dump_json())) >= {
            "id", "label", "email", "kind", "status", "active_targets", "usage",
        }  # fmt: skip


async def test_default_label_and_path(
    tmp_path: Path, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_json(fake_upstream, tmp_path / "codex-home")
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json()
        assert account.label == EMAIL
        monkeypatch.setenv("CODEX_HOME", str(tmp_path / "nowhere"))
        with pytest.raises(AuthFileError, match="No Codex auth.json at"):
            await manager.import_auth_json()


async def test_importing_the_same_account_again_updates_it_and_lifts_quarantine(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home")
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        first = await manager.import_auth_json(str(path), label="mine")
        await manager.repo.update(first.id, status="quarantined", status_reason="Sign in again: x.")
        events: list[tuple[str, str]] = []
        manager.add_listener(lambda kind, account_id: events.append((kind, account_id)))
        new_path, new_refresh = auth_json(fake_upstream, tmp_path / "home2", expires_in=1000)
        again = await manager.import_auth_json(str(new_path))
        assert again.id == first.id and again.label == "mine"
        assert (again.status, again.status_reason) == ("active", None)
        assert len(await manager.list_accounts()) == 1
        _, secrets = await manager.repo.get_with_secrets(first.id)
        assert secrets.refresh_token == new_refresh
        assert events == [("updated", first.id)]
        # Another workspace of the same person is a separate account.
        other, _ = auth_json(fake_upstream, tmp_path / "home3", account="acct-team")
        assert (await manager.import_auth_json(str(other))).id != first.id


async def test_api_key_accounts_validate_and_never_echo_the_key(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        bad = {
            "": "The API key is empty.",
            "   ": "The API key is empty.",
            "sk-abc def-0123456789": "contains whitespace",
            "pk-0123456789abcdefghij": 'it must start with "sk-"',
            "sk-short": "too short; it looks truncated",
        }
        for key, message in bad.items():
            with pytest.raises(InvalidRequestError) as info:
                await manager.add_api_key(key)
            assert message in info.value.message and info.value.status_code == 400
            assert not key.strip() or key.strip() not in info.value.message
        key = "sk-proj-SECRETSECRET0123456789"
        account = await manager.add_api_key(f"  {key}\n")
        assert (account.kind, account.label, account.email) == ("api_key", "API key 1", None)
        assert key not in account.model_dump_json()
        assert (await manager.add_api_key("sk-second-key-0123456789", "ci")).label == "ci"
        with pytest.raises(ConflictError) as info:
            await manager.add_api_key(key)
        assert account.id in info.value.message and key not in info.value.message
        assert (await manager.credentials(account.id)).api_key == key


async def test_api_key_auth_json_is_imported_as_an_api_key(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path = write_json(
        tmp_path / "auth.json", {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-from-file-0123456789"}
    )
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path), label="file key")
        assert (account.kind, account.label) == ("api_key", "file key")


async def test_update_disable_enable_and_quarantine_rules(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home")
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        events: list[str] = []
        manager.add_listener(lambda kind, _id: events.append(kind))
        assert (await manager.update(account.id, label="renamed")).label == "renamed"
        assert (await manager.update(account.id, enabled=False)).status == "disabled"
        assert (await manager.update(account.id, enabled=True)).status == "active"
        with pytest.raises(InvalidRequestError, match="must not be empty"):
            await manager.update(account.id, label="   ")
        with pytest.raises(InvalidRequestError, match="at most 100"):
            await manager.update(account.id, label="x" * 101)
        reason = "Sign in again: the refresh token has expired (refresh_token_expired)."
        await manager.repo.update(account.id, status="quarantined", status_reason=reason)
        with pytest.raises(ConflictError) as info:
            await manager.update(account.id, enabled=True)
        assert (
            "Sign in again" in info.value.message and "refresh_token_expired" in info.value.message
        )
        # Disabling a quarantined account keeps the quarantine (and its reason) visible.
        kept = await manager.update(account.id, enabled=False)
        assert (kept.status, kept.status_reason) == ("quarantined", reason)
        with pytest.raises(AccountQuarantinedError):
            await manager.credentials(account.id)
        assert events == ["updated", "updated", "updated"]
        with pytest.raises(NotFoundError):
            await manager.update("missing", label="x")


async def test_remove_clears_targets_and_notifies(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home")
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        events: list[tuple[str, str]] = []
        manager.add_listener(lambda kind, account_id: events.append((kind, account_id)))
        manager.add_listener(lambda kind, account_id: 1 / 0)  # a failing listener is contained
        account = await manager.import_auth_json(str(path))
        await manager.database.run(
            lambda c: c.execute(
                "UPDATE targets SET account_id = ? WHERE name = 'cli'", (account.id,)
            )
        )
        assert (await manager.get(account.id)).active_targets == ["cli"]
        await manager.remove(account.id)
        assert await manager.list_accounts() == []
        with pytest.raises(NotFoundError):
            await manager.get(account.id)
        with pytest.raises(NotFoundError):
            await manager.credentials(account.id)
        assert events == [("added", account.id), ("removed", account.id)]


async def test_export_and_adopt_tokens_of_the_cli_auth_json(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, refresh = auth_json(fake_upstream, tmp_path / "home", expires_in=60)
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        codex_home = tmp_path / "targets" / "cli" / "codex_home"
        written = await manager.export_auth_json(account.id, codex_home)
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert fake_upstream.token_calls == 1  # exported fresh: refreshed first
        exported = read_auth_json_tokens(written)
        _, stored = await manager.repo.get_with_secrets(account.id)
        assert exported.refresh_token == stored.refresh_token != refresh
        assert exported.account_id == ACCOUNT
        # Reading our own file back changes nothing.
        assert not await manager.adopt_external_tokens(
            account.id, exported.access_token, exported.refresh_token, exported.id_token
        )
        # A terminal codex refreshed: newer tokens are adopted.
        newer = make_jwt(EMAIL, ACCOUNT, "team", exp=int(time.time()) + 7200)
        events: list[str] = []
        manager.add_listener(lambda kind, _id: events.append(kind))
        assert await manager.adopt_external_tokens(account.id, newer, "rt-terminal", newer)
        _, stored = await manager.repo.get_with_secrets(account.id)
        assert (stored.access_token, stored.refresh_token) == (newer, "rt-terminal")
        assert (await manager.get(account.id)).plan == "team"
        assert events == ["refreshed"]
        # An older file (stale copy) never rolls the rotated token back.
        older = make_jwt(EMAIL, ACCOUNT, exp=int(time.time()) + 100)
        assert not await manager.adopt_external_tokens(account.id, older, "rt-stale", older)
        # Someone signed in as somebody else in the terminal: refused, not mixed up.
        stranger = make_jwt("eve@example.com", "acct-eve", exp=int(time.time()) + 9000)
        with pytest.raises(ConflictError, match="another ChatGPT account"):
            await manager.adopt_external_tokens(account.id, stranger, "rt-eve", stranger)
        # Without the refresh token the terminal codex cannot rotate it behind our back.
        bare = await manager.export_auth_json(
            account.id, tmp_path / "bare", include_refresh_token=False
        )
        assert json.loads(bare.read_text())["tokens"]["refresh_token"] == ""


async def test_adopting_fresh_tokens_lifts_a_quarantine(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    path, _ = auth_json(fake_upstream, tmp_path / "home")
    async with open_manager(tmp_path / "data", fake_upstream) as manager:
        account = await manager.import_auth_json(str(path))
        await manager.repo.update(account.id, status="quarantined", status_reason="Sign in again.")
        fresh = make_jwt(EMAIL, ACCOUNT, exp=int(time.time()) + 90_000)
        assert await manager.adopt_external_tokens(account.id, fresh, "rt-fresh")
        assert (await manager.get(account.id)).status == "active"
        api = await manager.add_api_key("sk-0123456789abcdefghij")
        with pytest.raises(InvalidRequestError, match="not a ChatGPT account"):
            await manager.adopt_external_tokens(api.id, fresh, "rt-x")
