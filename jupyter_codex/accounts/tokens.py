"""Access-token refresh: ahead of expiry, once at a time per account, never in a loop.

Refresh tokens are single-use: the answer rotates them, and presenting an old one
again gets ``refresh_token_reused``, which kills the whole sign-in. So:

* one refresh per account is in flight at a time; concurrent callers await it;
* the rotated tokens are stored with a compare-and-swap on the old refresh token,
  so a slower writer never overwrites a newer token;
* ``refresh_token_reused|expired|invalidated`` (and 401) are terminal: the account
  is quarantined with a readable reason and is never tried again until the user
  signs in again; network errors and 5xx leave it usable.

No token ever reaches a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AccountError, AccountQuarantinedError, NotFoundError, UpstreamAuthError
from ..models import Account
from ..store.accounts import AccountRepository, AccountSecrets
from .authjson import token_claims
from .credentials import Credentials

if TYPE_CHECKING:  # httpx costs ~50 ms to import: only when first used
    import httpx

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
#: Without a readable ``exp``, refresh when the last refresh is older than this (as Codex).
MAX_REFRESH_AGE = 8 * 24 * 3600.0
#: A still-valid access token is handed out when a refresh fails transiently
#: and it lives at least this long.
FALLBACK_MIN_LIFETIME = 30.0

TERMINAL_REASONS = {
    "refresh_token_reused": "the refresh token was already used elsewhere",
    "refresh_token_expired": "the refresh token has expired",
    "refresh_token_invalidated": "the refresh token was revoked",
}
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Notify = Callable[[str, str], None]


def needs_refresh(account: Account, min_validity: float, now: float | None = None) -> bool:
    """True when the access token expires within ``min_validity`` seconds, or (expiry
    unknown) the last refresh is older than eight days."""
    now = time.time() if now is None else now
    if account.access_expires_at is not None:
        return account.access_expires_at - now <= min_validity
    return account.last_refresh is None or now - account.last_refresh > MAX_REFRESH_AGE


def credentials_for(account: Account, secrets: AccountSecrets) -> Credentials:
    """The hand-out form of an account: access token or API key, never the refresh token."""
    if account.kind == "api_key":
        return Credentials(account.id, "api_key", api_key=secrets.api_key)
    return Credentials(
        account.id,
        "chatgpt",
        access_token=secrets.access_token,
        chatgpt_account_id=account.chatgpt_account_id,
        plan=account.plan,
        expires_at=account.access_expires_at,
    )


def error_code(response: httpx.Response) -> str | None:
    """The OAuth error code of an answer (``error``, ``error.code`` or ``code``), if sane."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    candidates = [err, err.get("code"), err.get("type")] if isinstance(err, dict) else [err]
    candidates.append(body.get("code"))
    for value in candidates:
        if isinstance(value, str) and _CODE.match(value):
            return value
    return None


def quarantine_reason(code: str | None, status: int) -> str:
    """The ``status_reason`` shown to the user for a terminal refresh failure."""
    if code in TERMINAL_REASONS:
        return f"Sign in again: {TERMINAL_REASONS[code]} ({code})."
    suffix = f", {code}" if code else ""
    return f"Sign in again: the sign-in server rejected the refresh token (HTTP {status}{suffix})."


class _TerminalRefresh(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenRefresher:
    """Hands out fresh :class:`Credentials`, refreshing ChatGPT access tokens when due."""

    def __init__(
        self,
        repo: AccountRepository,
        client: Callable[[], httpx.AsyncClient],
        auth_base_url: Callable[[], str],
        *,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        notify: Notify | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._repo = repo
        #: account id -> life (s) of the access tokens our refreshes got: a margin is never
        #: more than a quarter of it, or short-lived tokens would be refreshed on every use
        self._lifetimes: dict[str, float] = {}
        self._client = client
        self._auth_base_url = auth_base_url
        self._log = log or logging.getLogger(__name__)
        self._notify = notify or (lambda kind, account_id: None)
        self._timeout = timeout
        self._inflight: dict[str, asyncio.Future[Credentials]] = {}

    async def credentials(
        self,
        account_id: str,
        min_validity: float,
        *,
        force: bool = False,
        rejected_token: str | None = None,
        explicit: bool = False,
    ) -> Credentials:
        """Credentials valid for ``min_validity`` s; ``force`` refreshes regardless (after a
        401 on ``rejected_token``: skipped if the stored token already differs)."""
        account, secrets = await self._repo.get_with_secrets(account_id)
        _check_usable(account)
        if account.kind == "api_key":
            return credentials_for(account, secrets)
        if account_id in self._lifetimes and not explicit:  # an asked-for validity is kept
            min_validity = min(min_validity, self._lifetimes[account_id] / 4)
        if not self._due(account, secrets, min_validity, force, rejected_token):
            return credentials_for(account, secrets)
        future = self._inflight.get(account_id)
        if future is None:
            future = asyncio.ensure_future(
                self._refresh(account_id, min_validity, force, rejected_token)
            )
            self._inflight[account_id] = future
            future.add_done_callback(lambda f: self._forget(account_id, f))
        return await asyncio.shield(future)

    def _forget(self, account_id: str, future: asyncio.Future[Credentials]) -> None:
        if self._inflight.get(account_id) is future:
            del self._inflight[account_id]
        if not future.cancelled():
            future.exception()  # retrieved: no "never retrieved" warning if all waiters left

    @staticmethod
    def _due(
        account: Account,
        secrets: AccountSecrets,
        min_validity: float,
        force: bool,
        rejected_token: str | None,
    ) -> bool:
        if force:  # a token replaced since the 401 is used, unless it is stale too
            return (
                rejected_token is None
                or secrets.access_token == rejected_token
                or needs_refresh(account, min_validity)
            )
        return needs_refresh(account, min_validity)

    async def _refresh(
        self, account_id: str, min_validity: float, force: bool, rejected_token: str | None
    ) -> Credentials:
        # Re-read inside the single flight: a refresh that finished just before we got
        # here, or tokens adopted meanwhile, make a request unnecessary.
        for _attempt in range(3):
            account, secrets = await self._repo.get_with_secrets(account_id)
            _check_usable(account)
            if force and rejected_token is None:
                # Tokens stored by someone else while we retry count as the forced refresh.
                rejected_token = secrets.access_token
            if not self._due(account, secrets, min_validity, force, rejected_token):
                return credentials_for(account, secrets)
            old = secrets.refresh_token
            if not old:
                raise AccountError(
                    f"The account '{account.label}' has no refresh token; sign in again."
                )
            try:
                answer = await self._post(old)
            except _TerminalRefresh as e:
                if await self._repo.replace_secrets(
                    account_id, None, old, status="quarantined", status_reason=e.reason
                ):
                    self._log.warning(
                        "Account %s (%s) quarantined: %s", account.id, account.label, e.reason
                    )
                    self._notify("quarantined", account_id)
                    raise AccountQuarantinedError(
                        f"The account '{account.label}' was signed out. {e.reason}",
                        account_id=account_id,
                    ) from None
                # Someone stored a newer refresh token while ours was in flight: ours was
                # stale, not the account. Try again with the stored one.
                continue
            except UpstreamAuthError:
                if not force and _still_usable(account):
                    self._log.warning(
                        "Refreshing account %s failed; its current access token stays valid "
                        "for %.0f s and is used meanwhile",
                        account.id,
                        (account.access_expires_at or 0) - time.time(),
                    )
                    return credentials_for(account, secrets)
                raise
            new = AccountSecrets(
                access_token=answer["access_token"],
                refresh_token=answer.get("refresh_token") or old,
                id_token=answer.get("id_token") or secrets.id_token,
            )
            claims = token_claims(new.access_token or "", new.id_token or "")
            fields: dict[str, Any] = {
                "access_expires_at": claims.expires_at,
                "last_refresh": time.time(),
            }
            if claims.plan:
                fields["plan"] = claims.plan
            if claims.email and not account.email:
                fields["email"] = claims.email
            try:
                stored = await self._repo.replace_secrets(account_id, new, old, **fields)
            except NotFoundError:
                raise AccountError(f"The account {account_id!r} was removed.") from None
            if stored:
                if claims.expires_at is not None:
                    self._lifetimes[account_id] = max(claims.expires_at - time.time(), 1.0)
                self._log.info(
                    "Refreshed the access token of account %s (%s)", account.id, account.label
                )
                self._notify("refreshed", account_id)
                return credentials_for(account.model_copy(update=fields), new)
            # Other tokens were stored meanwhile (a new sign-in): keep those, drop ours.
            self._log.info("Account %s got new tokens during a refresh; using those", account_id)
        raise UpstreamAuthError(
            f"The tokens of account {account_id!r} kept changing during a refresh; try again."
        )

    async def _post(self, refresh_token: str) -> dict[str, Any]:
        import httpx

        url = self._auth_base_url().rstrip("/") + "/oauth/token"
        body = {
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            response = await self._client().post(url, json=body, timeout=self._timeout)
        except httpx.HTTPError as e:
            raise UpstreamAuthError(
                f"Could not reach the sign-in server at {url} to refresh a token "
                f"({type(e).__name__}). The account stays usable; try again later."
            ) from None
        code = error_code(response) if response.status_code >= 400 else None
        if code in TERMINAL_REASONS or response.status_code == 401:
            raise _TerminalRefresh(quarantine_reason(code, response.status_code))
        if response.status_code != 200:
            detail = f", {code}" if code else ""
            raise UpstreamAuthError(
                f"The sign-in server answered HTTP {response.status_code}{detail} to a token "
                "refresh. The account stays usable; try again later.",
                status=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise UpstreamAuthError("The sign-in server answered a token refresh without a token.")
        return answer


def _check_usable(account: Account) -> None:
    if account.status == "quarantined":
        raise AccountQuarantinedError(
            f"The account '{account.label}' was signed out. "
            f"{account.status_reason or 'Sign in again.'}",
            account_id=account.id,
        )
    if account.status == "disabled":
        raise AccountError(
            f"The account '{account.label}' is disabled. Enable it to use it again.",
            account_id=account.id,
        )


def _still_usable(account: Account) -> bool:
    expires = account.access_expires_at
    return expires is not None and expires - time.time() > FALLBACK_MIN_LIFETIME


__all__ = [
    "CLIENT_ID",
    "MAX_REFRESH_AGE",
    "TERMINAL_REASONS",
    "TokenRefresher",
    "credentials_for",
    "error_code",
    "needs_refresh",
    "quarantine_reason",
]
