"""The account manager: the one owner of every stored ChatGPT sign-in and API key.

It adds accounts (from a Codex ``auth.json``, an API key, or a fresh sign-in),
hands out short-lived :class:`Credentials` (refreshing tokens on the way, see
:mod:`.tokens`), and tells listeners about every change so the router, the
usage scheduler and the UI can react. Refresh tokens never leave it, except
into the cli target's managed ``auth.json`` (:meth:`AccountManager.export_auth_json`).

Why this module is long: just over 400 lines, one manager whose add, remove,
import and export operations share the repository, the secret box and the listeners.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Float, Instance, Unicode, default
from traitlets.config import LoggingConfigurable

from ..config import (
    ENV_AUTH_BASE_URL,
    ENV_CA_CERTIFICATE,
    default_auth_base_url,
    default_ca_certificate,
)
from ..errors import AccountError, ConflictError, InvalidRequestError
from ..http import LazyClient
from ..listeners import Listeners
from ..models import Account
from ..store.accounts import AccountRepository, AccountSecrets
from ..store.crypto import SecretBox
from ..store.database import Database
from .authjson import (
    JwtError,
    TokenSet,
    decode_jwt_claims,
    load_auth_json,
    token_claims,
    write_auth_json,
)
from .credentials import Credentials
from .oauth import DeviceCodeLogin, OAuthClient
from .tokens import TokenRefresher

if TYPE_CHECKING:  # httpx costs ~50 ms to import: only when first used
    import httpx

#: ``(kind, account_id)``; kind is added, removed, updated, quarantined or refreshed.
AccountListener = Callable[[str, str], None]
MAX_LABEL = 100


class AccountManager(LoggingConfigurable):
    """Stores accounts and hands out fresh credentials (implements ``AccountSource``)."""

    auth_base_url = Unicode(
        config=True,
        help=f"OAuth issuer for token refresh and sign-in. Default: ${ENV_AUTH_BASE_URL} "
        "or https://auth.openai.com.",
    )
    ca_certificate = Unicode(
        config=True,
        help=f"Extra CA bundle (PEM) trusted for the OAuth endpoints, on top of the system "
        f"store. Default: ${ENV_CA_CERTIFICATE}; empty for the system store only.",
    )
    refresh_margin_seconds = Float(
        300.0,
        config=True,
        help="Refresh an access token when it expires within this many seconds.",
    )
    request_timeout = Float(
        30.0, config=True, help="Seconds a request to the OAuth endpoints may take."
    )

    database = Instance(Database)
    secret_box = Instance(SecretBox)

    @default("auth_base_url")
    def _default_auth_base_url(self) -> str:
        return default_auth_base_url()

    @default("ca_certificate")
    def _default_ca_certificate(self) -> str:
        return default_ca_certificate()

    def __init__(self, *, database: Database, secret_box: SecretBox, **kwargs: Any) -> None:
        super().__init__(database=database, secret_box=secret_box, **kwargs)
        self.repo = AccountRepository(database, secret_box)
        self._listeners: Listeners[[str, str]] = Listeners("account", self.log)
        self._http = LazyClient(ca_certificate=self.ca_certificate, timeout=5.0)
        self._refresher = TokenRefresher(
            self.repo,
            self._client,
            lambda: self.auth_base_url,
            log=self.log,
            notify=self._emit,
            timeout=self.request_timeout,
        )

    # -- AccountSource -----------------------------------------------------------------

    async def list_accounts(self) -> list[Account]:
        """Every account (no secrets), oldest first."""
        return await self.repo.list()

    async def credentials(
        self, account_id: str, *, min_validity: float | None = None
    ) -> Credentials:
        """Fresh credentials, refreshing first when the access token expires within
        ``min_validity`` s (default ``refresh_margin_seconds``). Quarantined accounts raise
        :class:`AccountQuarantinedError` at once, disabled ones :class:`AccountError`."""
        margin = self.refresh_margin_seconds if min_validity is None else min_validity
        return await self._refresher.credentials(
            account_id, margin, explicit=min_validity is not None
        )

    async def force_refresh(
        self, account_id: str, *, rejected_token: str | None = None
    ) -> Credentials:
        """Refresh now (after a 401). With ``rejected_token``, a token that was already
        replaced since is not refreshed again: many 401s cost one refresh."""
        return await self._refresher.credentials(
            account_id, self.refresh_margin_seconds, force=True, rejected_token=rejected_token
        )

    # -- reading -----------------------------------------------------------------------

    async def get(self, account_id: str) -> Account:
        """One account or :class:`NotFoundError`."""
        return await self.repo.get(account_id)

    # -- adding ------------------------------------------------------------------------

    async def import_auth_json(self, path: str | None = None, label: str | None = None) -> Account:
        """Add the login of a Codex ``auth.json`` (default ``$CODEX_HOME/auth.json``).

        Importing a ChatGPT account that is already stored (same workspace id and
        email) replaces its tokens instead of adding it twice, and lifts a
        quarantine: that is how an account is signed in again. Listeners then get
        ``updated`` rather than ``added``; the returned account keeps its id.
        """
        parsed = await asyncio.to_thread(load_auth_json, path)
        if parsed.mode == "apikey":
            assert parsed.api_key is not None
            return await self.add_api_key(parsed.api_key, label)
        assert parsed.tokens is not None
        return await self.add_chatgpt_tokens(parsed.tokens, label)

    async def add_api_key(self, api_key: str, label: str | None = None) -> Account:
        """Add an OpenAI API key; the key is validated by shape and never echoed back.

        The same key twice is a :class:`ConflictError`.
        """
        key = _validate_api_key(api_key)
        existing = await self.repo.find_api_key(key)
        if existing is not None:
            raise ConflictError(
                f"This API key is already stored as account '{existing.label}' ({existing.id}).",
                account_id=existing.id,
            )
        label = _clean_label(label)
        if label is None:
            count = sum(a.kind == "api_key" for a in await self.repo.list())
            label = f"API key {count + 1}"
        now = time.time()
        account = Account(id=_new_id(), label=label, kind="api_key", created_at=now, updated_at=now)
        await self.repo.insert(account, AccountSecrets(api_key=key))
        self.log.info("Added API-key account %s (%s)", account.id, label)
        self._emit("added", account.id)
        return account

    async def add_chatgpt_tokens(self, tokens: TokenSet, label: str | None = None) -> Account:
        """Add a ChatGPT account from a sign-in (device code, browser, auth.json).

        An account already stored (same workspace id and email) gets the new tokens.
        """
        try:
            decode_jwt_claims(tokens.access_token)
        except JwtError as e:
            raise AccountError(
                f"The access token is not a valid JWT ({e}); sign in again."
            ) from None
        if not tokens.refresh_token:
            raise AccountError("The sign-in returned no refresh token; sign in again.")
        access = token_claims(tokens.access_token, tokens.id_token)
        ident = token_claims(tokens.id_token, tokens.access_token)  # id token first, as Codex
        workspace = tokens.account_id or access.chatgpt_account_id
        if not workspace:
            raise AccountError("The tokens do not name a ChatGPT account (no chatgpt_account_id).")
        label = _clean_label(label)
        secrets = AccountSecrets(tokens.access_token, tokens.refresh_token, tokens.id_token or None)
        now = time.time()
        fields: dict[str, Any] = {
            "access_expires_at": access.expires_at,
            "last_refresh": tokens.last_refresh or now,
            "plan": ident.plan,
        }
        existing = await self.repo.find_chatgpt(workspace, ident.email)
        if existing is not None:
            if label is not None:
                fields["label"] = label
            if existing.status == "quarantined":
                fields.update(status="active", status_reason=None)
            await self._store_tokens(existing.id, secrets, fields)
            self.log.info(
                "Replaced the tokens of existing account %s instead of adding it twice", existing.id
            )
            self._emit("updated", existing.id)
            return await self.repo.get(existing.id)
        account = Account(
            id=_new_id(),
            label=label or ident.email or workspace,
            email=ident.email,
            kind="chatgpt",
            chatgpt_account_id=workspace,
            created_at=now,
            updated_at=now,
            **fields,
        )
        await self.repo.insert(account, secrets)
        self.log.info("Added ChatGPT account %s (%s)", account.id, account.label)
        self._emit("added", account.id)
        return account

    # -- sign-in -----------------------------------------------------------------------

    @property
    def oauth(self) -> OAuthClient:
        """The sign-in endpoints (browser PKCE helpers) of ``auth_base_url``."""
        return OAuthClient(self._client, self.auth_base_url, timeout=self.request_timeout)

    def device_login(self, *, poll_interval: float | None = None) -> DeviceCodeLogin:
        """Start a device-code sign-in; pass its ``wait()`` result to :meth:`add_chatgpt_tokens`."""
        return self.oauth.device_login(poll_interval=poll_interval)

    # -- changing ----------------------------------------------------------------------

    async def update(
        self, account_id: str, *, label: str | None = None, enabled: bool | None = None
    ) -> Account:
        """Rename, disable or re-enable. A quarantined account cannot be re-enabled: its
        sign-in is dead, so it must be signed in again (import or login)."""
        account = await self.repo.get(account_id)
        fields: dict[str, Any] = {}
        if label is not None:
            cleaned = _clean_label(label)
            if cleaned is None:
                raise InvalidRequestError("A label must not be empty.")
            fields["label"] = cleaned
        if enabled is True and account.status == "quarantined":
            raise ConflictError(
                f"The account '{account.label}' cannot be enabled: it was signed out "
                f"({account.status_reason or 'sign in again'}). Sign in again to use it.",
                account_id=account_id,
            )
        if enabled is True and account.status == "disabled":
            fields.update(status="active", status_reason=None)
        elif enabled is False and account.status == "active":
            fields.update(status="disabled", status_reason=None)
        if not fields:
            return account
        updated = await self.repo.update(account_id, **fields)
        self._emit("updated", account_id)
        return updated

    async def remove(self, account_id: str) -> None:
        """Delete an account and its secrets; targets using it become unassigned."""
        await self.repo.delete(account_id)
        self.log.info("Removed account %s", account_id)
        self._emit("removed", account_id)

    async def adopt_external_tokens(
        self, account_id: str, access_token: str, refresh_token: str, id_token: str | None = None
    ) -> bool:
        """Store tokens a terminal ``codex`` refreshed in the cli target's auth.json.

        Only newer tokens are taken (a later access-token ``exp`` than the stored one),
        so re-reading a file we wrote ourselves never rolls a rotated token back.
        Returns True if they were stored. Fresh tokens also lift a quarantine.
        """
        claims = token_claims(access_token, id_token or "")
        for _attempt in range(3):
            account, current = await self.repo.get_with_secrets(account_id)
            if account.kind != "chatgpt":
                raise InvalidRequestError(f"Account {account_id!r} is not a ChatGPT account.")
            if (
                claims.chatgpt_account_id
                and claims.chatgpt_account_id != account.chatgpt_account_id
            ):
                raise ConflictError(
                    f"These tokens belong to another ChatGPT account, not to '{account.label}'.",
                    account_id=account_id,
                )
            if refresh_token == current.refresh_token:
                return False
            stored_exp = account.access_expires_at or 0.0
            if claims.expires_at is None or claims.expires_at <= stored_exp:
                return False
            fields: dict[str, Any] = {
                "access_expires_at": claims.expires_at,
                "last_refresh": time.time(),
            }
            if claims.plan:
                fields["plan"] = claims.plan
            if account.status == "quarantined":
                fields.update(status="active", status_reason=None)
            new = AccountSecrets(access_token, refresh_token, id_token or current.id_token)
            if await self.repo.replace_secrets(account_id, new, current.refresh_token, **fields):
                self.log.info(
                    "Adopted tokens refreshed outside the server for account %s", account_id
                )
                self._emit("updated" if "status" in fields else "refreshed", account_id)
                return True
        return False

    async def export_auth_json(
        self,
        account_id: str,
        codex_home: str | os.PathLike[str],
        *,
        include_refresh_token: bool = True,
    ) -> Path:
        """Write the account's login as ``<codex_home>/auth.json`` (fresh tokens, 0600) for a
        terminal ``codex``. Without the refresh token that ``codex`` cannot refresh on its
        own, and only this server rotates it."""
        creds = await self.credentials(account_id)
        if creds.kind == "api_key":
            return await asyncio.to_thread(write_auth_json, codex_home, api_key=creds.api_key)
        account, secrets = await self.repo.get_with_secrets(account_id)
        tokens = TokenSet(
            secrets.access_token or "",
            (secrets.refresh_token or "") if include_refresh_token else "",
            secrets.id_token or "",
            account.chatgpt_account_id,
            account.last_refresh,
        )
        return await asyncio.to_thread(write_auth_json, codex_home, tokens)

    # -- listeners and lifecycle ---------------------------------------------------------

    def add_listener(self, listener: AccountListener) -> None:
        """Call ``listener(kind, account_id)`` after every change (on the event loop)."""
        self._listeners.add(listener)

    def remove_listener(self, listener: AccountListener) -> None:
        self._listeners.remove(listener)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    def _emit(self, kind: str, account_id: str) -> None:
        self._listeners.emit_nowait(kind, account_id)

    def _client(self) -> httpx.AsyncClient:
        return self._http.get()

    def warm_up(self) -> None:
        """Build the HTTP client (httpx import, TLS context) off the event loop;
        call through ``asyncio.to_thread`` at start-up."""
        self._http.warm_up()

    async def _store_tokens(
        self, account_id: str, secrets: AccountSecrets, fields: dict[str, Any]
    ) -> None:
        """Replace an account's tokens with a user's new sign-in, whatever is stored."""
        for _attempt in range(5):
            _, current = await self.repo.get_with_secrets(account_id)
            if await self.repo.replace_secrets(
                account_id, secrets, current.refresh_token, **fields
            ):
                return
        raise ConflictError("The account's tokens kept changing; try again.")


def _validate_api_key(api_key: str) -> str:
    key = (api_key or "").strip()
    if not key:
        raise InvalidRequestError(
            'The API key is empty. Paste an OpenAI API key (it starts with "sk-").'
        )
    if any(ch.isspace() for ch in key):
        raise InvalidRequestError("The API key contains whitespace; paste it again as one piece.")
    if not key.startswith("sk-"):
        raise InvalidRequestError('That is not an OpenAI API key: it must start with "sk-".')
    if len(key) < 20:
        raise InvalidRequestError("The API key is too short; it looks truncated.")
    return key


def _clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    cleaned = " ".join(label.split())
    if len(cleaned) > MAX_LABEL:
        raise InvalidRequestError(f"A label may have at most {MAX_LABEL} characters.")
    return cleaned or None


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


__all__ = ["AccountListener", "AccountManager"]
