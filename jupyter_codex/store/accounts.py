"""The ``accounts`` table: account metadata in plain columns, secrets sealed.

Everything a client may see (label, email, plan, status …) is a plain column so
listing accounts never needs the key. The tokens and API key live in one Fernet
blob (``secrets``). Refresh tokens rotate on every use, so writes of new secrets
go through :meth:`AccountRepository.replace_secrets`, a compare-and-swap on the
stored refresh token: a stale writer can never overwrite a newer token.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import NotFoundError
from ..models import Account
from .crypto import SecretBox
from .database import Database, rollback

_COLUMNS = (
    "id",
    "label",
    "email",
    "kind",
    "chatgpt_account_id",
    "plan",
    "status",
    "status_reason",
    "access_expires_at",
    "last_refresh",
    "created_at",
    "updated_at",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM accounts"
#: Columns callers may change; ``secrets`` only through replace_secrets.
UPDATABLE = frozenset(_COLUMNS) - {"id", "kind", "created_at"}


@dataclass(frozen=True)
class AccountSecrets:
    """The sealed part of an account. ``repr`` shows which fields are set, never values."""

    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountSecrets:
        def text(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        return cls(text("access_token"), text("refresh_token"), text("id_token"), text("api_key"))


def _account(row: Sequence[Any], targets: list[str]) -> Account:
    values = dict(zip(_COLUMNS, row, strict=True))
    return Account(**values, active_targets=sorted(targets))  # type: ignore[arg-type]


def _targets_of(conn: sqlite3.Connection, account_id: str | None = None) -> dict[str, list[str]]:
    sql = "SELECT account_id, name FROM targets WHERE account_id IS NOT NULL"
    params: tuple[str, ...] = ()
    if account_id is not None:
        sql += " AND account_id = ?"
        params = (account_id,)
    out: dict[str, list[str]] = {}
    for owner, name in conn.execute(sql, params):
        out.setdefault(owner, []).append(name)
    return out


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")


class AccountRepository:
    """Accounts and their sealed secrets. Encryption runs on the database thread."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def insert(self, account: Account, secrets: AccountSecrets) -> None:
        """Store a new account (``active_targets`` and ``usage`` are not stored here)."""
        data = account.model_dump(include=set(_COLUMNS))
        columns = ", ".join((*_COLUMNS, "secrets"))
        marks = ", ".join(f":{c}" for c in (*_COLUMNS, "secrets"))

        def insert(conn: sqlite3.Connection) -> None:
            data["secrets"] = self._box.encrypt(secrets.to_dict())
            conn.execute(f"INSERT INTO accounts ({columns}) VALUES ({marks})", data)

        await self._db.run(insert)

    async def get(self, account_id: str) -> Account:
        """One account (no secrets), or :class:`NotFoundError`."""
        account, _ = await self._get(account_id, with_secrets=False)
        return account

    async def get_with_secrets(self, account_id: str) -> tuple[Account, AccountSecrets]:
        """One account and its decrypted secrets, read in one go."""
        account, secrets = await self._get(account_id, with_secrets=True)
        assert secrets is not None
        return account, secrets

    async def _get(
        self, account_id: str, *, with_secrets: bool
    ) -> tuple[Account, AccountSecrets | None]:
        def get(conn: sqlite3.Connection) -> tuple[Account, AccountSecrets | None] | None:
            row = conn.execute(f"{_SELECT} WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                return None
            account = _account(row, _targets_of(conn, account_id).get(account_id, []))
            if not with_secrets:
                return account, None
            (blob,) = conn.execute(
                "SELECT secrets FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            return account, AccountSecrets.from_dict(self._box.decrypt(blob))

        found = await self._db.run(get)
        if found is None:
            raise NotFoundError(f"No account with id {account_id!r}.")
        return found

    async def update(self, account_id: str, **fields: Any) -> Account:
        """Change plain columns (``updated_at`` is set to now unless given); returns the row."""
        _check_fields(fields)
        fields.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{k} = :{k}" for k in fields)

        def update(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                f"UPDATE accounts SET {assignments} WHERE id = :id", {**fields, "id": account_id}
            )
            return cur.rowcount

        if not await self._db.run(update):
            raise NotFoundError(f"No account with id {account_id!r}.")
        return await self.get(account_id)

    async def replace_secrets(
        self,
        account_id: str,
        new_secrets: AccountSecrets | None,
        expect_refresh_token: str | None,
        **fields: Any,
    ) -> bool:
        """Compare-and-swap: write ``new_secrets`` (None: keep them) and ``fields`` only if
        the stored refresh token still equals ``expect_refresh_token``.

        Returns False, changing nothing, when someone stored other tokens meanwhile.
        Raises :class:`NotFoundError` when the account is gone.
        """
        _check_fields(fields)
        fields.setdefault("updated_at", time.time())

        def swap(conn: sqlite3.Connection) -> bool | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT secrets FROM accounts WHERE id = ?", (account_id,)
                ).fetchone()
                if row is None:
                    rollback(conn)
                    return None
                current = AccountSecrets.from_dict(self._box.decrypt(row[0]))
                if current.refresh_token != expect_refresh_token:
                    rollback(conn)
                    return False
                values = dict(fields)
                if new_secrets is not None:
                    values["secrets"] = self._box.encrypt(new_secrets.to_dict())
                assignments = ", ".join(f"{k} = :{k}" for k in values)
                conn.execute(
                    f"UPDATE accounts SET {assignments} WHERE id = :id",
                    {**values, "id": account_id},
                )
                conn.execute("COMMIT")
                return True
            except BaseException:
                if conn.in_transaction:
                    rollback(conn)
                raise

        done = await self._db.run(swap)
        if done is None:
            raise NotFoundError(f"No account with id {account_id!r}.")
        return done

    async def delete(self, account_id: str) -> None:
        """Delete an account; targets pointing at it are cleared by the foreign key."""

        def delete(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount

        if not await self._db.run(delete):
            raise NotFoundError(f"No account with id {account_id!r}.")

    async def find_chatgpt(self, chatgpt_account_id: str, email: str | None) -> Account | None:
        """The stored ChatGPT account for this workspace id and email, if any."""

        def find(conn: sqlite3.Connection) -> Account | None:
            row = conn.execute(
                f"{_SELECT} WHERE kind = 'chatgpt' AND chatgpt_account_id = ? AND email IS ? "
                "ORDER BY created_at LIMIT 1",
                (chatgpt_account_id, email),
            ).fetchone()
            if row is None:
                return None
            return _account(row, _targets_of(conn, row[0]).get(row[0], []))

        return await self._db.run(find)

    async def find_api_key(self, api_key: str) -> Account | None:
        """The stored API-key account holding exactly this key, if any (decrypts each)."""

        def find(conn: sqlite3.Connection) -> Account | None:
            rows = conn.execute(
                f"SELECT secrets, {', '.join(_COLUMNS)} FROM accounts WHERE kind = 'api_key'"
            ).fetchall()
            for blob, *row in rows:
                if self._box.decrypt(blob).get("api_key") == api_key:
                    return _account(row, _targets_of(conn, row[0]).get(row[0], []))
            return None

        return await self._db.run(find)

    async def list(self) -> list[Account]:
        """Every account, oldest first, with ``active_targets`` filled from ``targets``."""

        def select(conn: sqlite3.Connection) -> list[Account]:
            targets = _targets_of(conn)
            rows = conn.execute(f"{_SELECT} ORDER BY created_at, rowid").fetchall()
            return [_account(r, targets.get(r[0], [])) for r in rows]

        return await self._db.run(select)


__all__ = ["UPDATABLE", "AccountRepository", "AccountSecrets"]
