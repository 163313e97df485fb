"""Secrets at rest: the key file, its permissions, wrong keys, and the accounts table."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jupyter_codex.errors import NotFoundError, StoreError
from jupyter_codex.models import Account
from jupyter_codex.store import Database
from jupyter_codex.store.accounts import AccountRepository, AccountSecrets
from jupyter_codex.store.crypto import ENV_SECRET_KEY, SecretBox

ACCESS = "eyJ.access-TOKEN-3f1c9d"
REFRESH = "rt-REFRESH-TOKEN-77aa01"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw_database_bytes(directory: Path) -> bytes:
    """The database file and its WAL, as an attacker copying them would see them."""
    return b"".join(p.read_bytes() for p in directory.glob("codex.db*"))


def account(account_id: str = "a1", created: float | None = None) -> Account:
    now = created if created is not None else time.time()
    return Account(
        id=account_id,
        label=f"label {account_id}",
        email=f"{account_id}@example.com",
        kind="chatgpt",
        chatgpt_account_id=f"ws-{account_id}",
        plan="pro",
        created_at=now,
        updated_at=now,
    )


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    box = SecretBox(data)
    assert not data.exists()  # lazily: nothing happens before the first use
    sealed = box.encrypt({"access_token": ACCESS})
    assert mode(data) == 0o700
    assert mode(data / "secret.key") == 0o600
    assert ACCESS.encode() not in sealed
    assert SecretBox(data).decrypt(sealed) == {"access_token": ACCESS}


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    SecretBox(data).ensure_key()
    (data / "secret.key").chmod(0o644)
    SecretBox(data).ensure_key()
    assert mode(data) == 0o700 and mode(data / "secret.key") == 0o600


def test_replaced_key_file_gives_an_actionable_error(tmp_path: Path) -> None:
    sealed = SecretBox(tmp_path).encrypt({"refresh_token": REFRESH})
    (tmp_path / "secret.key").write_bytes(Fernet.generate_key())
    with pytest.raises(StoreError) as info:
        SecretBox(tmp_path).decrypt(sealed)
    message = info.value.message
    assert "different key" in message and "add them again" in message
    assert str(tmp_path / "secret.key") in message
    assert REFRESH not in message


def test_corrupt_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("not a key\n")
    with pytest.raises(StoreError, match="not a valid Fernet key"):
        SecretBox(tmp_path).encrypt({})


def test_key_from_environment_wins_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(ENV_SECRET_KEY, key)
    sealed = SecretBox(tmp_path / "data").encrypt({"api_key": "sk-x"})
    assert not (tmp_path / "data" / "secret.key").exists()
    assert SecretBox(tmp_path / "other", key=key).decrypt(sealed) == {"api_key": "sk-x"}
    monkeypatch.setenv(ENV_SECRET_KEY, "short")
    with pytest.raises(StoreError, match=ENV_SECRET_KEY):
        SecretBox(tmp_path / "data").ensure_key()


def test_racing_creators_agree_on_one_key(tmp_path: Path) -> None:
    boxes = [SecretBox(tmp_path) for _ in range(8)]
    barrier = threading.Barrier(len(boxes))
    sealed: list[bytes] = []

    def seal(box: SecretBox) -> None:
        barrier.wait()
        sealed.append(box.encrypt({"n": 1}))

    threads = [threading.Thread(target=seal, args=(b,)) for b in boxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(SecretBox(tmp_path).decrypt(s) == {"n": 1} for s in sealed)


async def test_secrets_never_reach_the_database_file_in_plaintext(tmp_path: Path) -> None:
    db = Database(tmp_path / "codex.db")
    await db.open()
    repo = AccountRepository(db, SecretBox(tmp_path))
    try:
        await repo.insert(account(), AccountSecrets(ACCESS, REFRESH, ACCESS))
        got, secrets = await repo.get_with_secrets("a1")
        assert secrets.refresh_token == REFRESH and got.email == "a1@example.com"
        assert REFRESH not in repr(secrets) and ACCESS not in repr(secrets)
    finally:
        await db.close()
    raw = raw_database_bytes(tmp_path)
    assert b"a1@example.com" in raw  # the file is readable: the plain columns are there
    assert REFRESH.encode() not in raw and ACCESS.encode() not in raw


async def test_replace_secrets_is_a_compare_and_swap(tmp_path: Path) -> None:
    db = Database(tmp_path / "codex.db")
    await db.open()
    repo = AccountRepository(db, SecretBox(tmp_path))
    try:
        await repo.insert(account(), AccountSecrets("at-0", "rt-0"))
        assert await repo.replace_secrets("a1", AccountSecrets("at-1", "rt-1"), "rt-0", plan="plus")
        # A writer that still believes rt-0 is current must not roll rt-1 back.
        stale = AccountSecrets("at-stale", "rt-stale")
        assert not await repo.replace_secrets("a1", stale, "rt-0", plan="free")
        got, secrets = await repo.get_with_secrets("a1")
        assert (secrets.access_token, secrets.refresh_token, got.plan) == ("at-1", "rt-1", "plus")
        # None keeps the secrets and changes only the columns, still guarded.
        assert await repo.replace_secrets("a1", None, "rt-1", status="quarantined")
        assert (await repo.get("a1")).status == "quarantined"
        with pytest.raises(NotFoundError):
            await repo.replace_secrets("nope", None, "rt-1")
    finally:
        await db.close()


async def test_list_fills_active_targets_and_delete_clears_them(tmp_path: Path) -> None:
    db = Database(tmp_path / "codex.db")
    await db.open()
    repo = AccountRepository(db, SecretBox(tmp_path))
    try:
        await repo.insert(account("b", created=2.0), AccountSecrets("at", "rt"))
        await repo.insert(account("a", created=1.0), AccountSecrets("at", "rt"))
        await db.run(lambda c: c.execute("UPDATE targets SET account_id = 'b'"))
        listed = await repo.list()
        assert [a.id for a in listed] == ["a", "b"]
        assert listed[0].active_targets == [] and listed[1].active_targets == ["api", "cli"]
        assert listed[1].usage is None
        updated = await repo.update("a", label="renamed")
        assert updated.label == "renamed" and updated.updated_at > 1.0
        await repo.delete("b")
        targets = await db.run(lambda c: c.execute("SELECT account_id FROM targets").fetchall())
        assert targets == [(None,), (None,)]
        with pytest.raises(NotFoundError, match="No account with id 'b'"):
            await repo.get("b")
        with pytest.raises(NotFoundError):
            await repo.delete("b")
        with pytest.raises(ValueError, match="not updatable"):
            await repo.update("a", secrets=b"x")
    finally:
        await db.close()
