"""Signing in to ChatGPT: the device-code flow and the browser (PKCE) flow.

Both end with an authorization code exchanged at ``{auth}/oauth/token`` for a
token triple, exactly as ``codex login`` does, so the accounts we add are
indistinguishable from Codex's own. The device-code flow suits a server: the
user opens ``{auth}/codex/device`` on any machine and types the code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode

from ..errors import AccountError, UpstreamAuthError
from ..tasks import within
from .authjson import TokenSet, token_claims
from .tokens import CLIENT_ID, error_code

if TYPE_CHECKING:  # httpx costs ~50 ms to import: only when first used
    import httpx

SCOPES = "openid profile email offline_access api.connectors.read api.connectors.invoke"
#: How long a device code stays valid (Codex gives up after 15 minutes too).
DEVICE_CODE_LIFETIME = 15 * 60.0
DEFAULT_INTERVAL = 5.0

log = logging.getLogger(__name__)


class DeviceCodePrompt(TypedDict):
    """What to show the user: open ``verification_url`` and enter ``user_code``."""

    verification_url: str
    user_code: str
    expires_at: float


def pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_state() -> str:
    """An unguessable ``state`` for the browser flow (compare it on the callback)."""
    return secrets.token_urlsafe(32)


class OAuthClient:
    """The sign-in endpoints of one issuer (``auth_base_url``)."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        auth_base_url: str,
        *,
        timeout: float = 30.0,
    ) -> None:
        self._client = client
        self.auth_base_url = auth_base_url.rstrip("/")
        self.timeout = timeout

    # -- browser flow ------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        """The consent page to send the browser to (its redirect brings ``code`` + ``state``)."""
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "id_token_add_organizations": "true",
            "codex_cli_simplified_flow": "true",
            "state": state,
            "originator": "codex_cli_rs",
        }
        return f"{self.auth_base_url}/oauth/authorize?{urlencode(query)}"

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code (+ its PKCE verifier) for tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        }
        response = await self._post("/oauth/token", data=form)
        if 400 <= response.status_code < 500:
            reason = error_code(response) or f"HTTP {response.status_code}"
            raise AccountError(
                f"The sign-in server refused the authorization code ({reason}). "
                "Start the sign-in again."
            )
        body = _json_or_fail(response, "exchanging the authorization code")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise UpstreamAuthError(
                "The sign-in server answered without an access and refresh token."
            )
        raw_id = body.get("id_token")
        id_token = raw_id if isinstance(raw_id, str) else ""
        claims = token_claims(access, id_token)
        return TokenSet(access, refresh, id_token, claims.chatgpt_account_id, time.time())

    # -- device code -------------------------------------------------------------------

    def device_login(self, *, poll_interval: float | None = None) -> DeviceCodeLogin:
        """A device-code sign-in; ``poll_interval`` overrides the server's (tests)."""
        return DeviceCodeLogin(self, poll_interval=poll_interval)

    async def _post(
        self, path: str, *, json: Any = None, data: dict[str, str] | None = None
    ) -> httpx.Response:
        import httpx

        url = self.auth_base_url + path
        try:
            return await self._client().post(url, json=json, data=data, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise UpstreamAuthError(
                f"Could not reach the sign-in server at {url} ({type(e).__name__})."
            ) from None


class DeviceCodeLogin:
    """One device-code sign-in: :meth:`start`, show the prompt, then :meth:`wait`.

    :meth:`wait` can be cancelled (task cancellation, or :meth:`cancel` from
    elsewhere, which makes it raise :class:`AccountError`).
    """

    def __init__(self, oauth: OAuthClient, *, poll_interval: float | None = None) -> None:
        self._oauth = oauth
        self._poll_override = poll_interval
        self._cancelled = asyncio.Event()
        self.device_auth_id: str | None = None
        self.user_code: str | None = None
        #: The polling interval the server asked for, in seconds.
        self.interval = DEFAULT_INTERVAL
        self.expires_at = 0.0

    async def start(self) -> DeviceCodePrompt:
        """Ask for a user code."""
        response = await self._oauth._post(
            "/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID}
        )
        if response.status_code == 404:
            raise AccountError(
                "Device-code sign-in is not enabled for this server; sign in with `codex login` "
                "and import the auth.json instead."
            )
        body = _json_or_fail(response, "starting a device-code sign-in")
        device_id = body.get("device_auth_id")
        user_code = body.get("user_code") or body.get("usercode")
        if not isinstance(device_id, str) or not isinstance(user_code, str):
            raise UpstreamAuthError("The sign-in server answered without a device code.")
        self.device_auth_id, self.user_code = device_id, user_code
        try:
            self.interval = max(float(str(body.get("interval", DEFAULT_INTERVAL)).strip()), 0.0)
        except ValueError:
            self.interval = DEFAULT_INTERVAL
        self.expires_at = time.time() + DEVICE_CODE_LIFETIME
        return {
            "verification_url": f"{self._oauth.auth_base_url}/codex/device",
            "user_code": user_code,
            "expires_at": self.expires_at,
        }

    def cancel(self) -> None:
        """Stop a pending :meth:`wait`."""
        self._cancelled.set()

    async def wait(self) -> TokenSet:
        """Poll until the user approves, then exchange the code for tokens."""
        if self.device_auth_id is None:
            raise RuntimeError("call start() first")
        interval = self.interval if self._poll_override is None else self._poll_override
        query = {"device_auth_id": self.device_auth_id, "user_code": self.user_code}
        while True:
            if self._cancelled.is_set():
                raise AccountError("The device-code sign-in was cancelled.")
            if time.time() > self.expires_at:
                raise AccountError("The device code expired before it was approved; start again.")
            try:
                response = await self._oauth._post("/api/accounts/deviceauth/token", json=query)
            except UpstreamAuthError as e:
                log.warning("Device-code poll failed, retrying: %s", e.message)
                response = None
            if response is not None and response.status_code == 200:
                break
            if (
                response is not None
                and response.status_code not in (403, 404)
                and response.status_code < 500
            ):
                reason = error_code(response) or f"HTTP {response.status_code}"
                raise AccountError(f"The device-code sign-in failed ({reason}); start again.")
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self._cancelled.wait(), timeout=interval)
        body = _json_or_fail(response, "polling a device-code sign-in")
        code, verifier = body.get("authorization_code"), body.get("code_verifier")
        if not isinstance(code, str) or not isinstance(verifier, str):
            raise UpstreamAuthError(
                "The sign-in server approved the device code without an authorization code."
            )
        redirect_uri = f"{self._oauth.auth_base_url}/deviceauth/callback"
        return await self._oauth.exchange_code(code, verifier, redirect_uri)


def _json_or_fail(response: httpx.Response, doing: str) -> dict[str, Any]:
    if response.status_code != 200:
        reason = error_code(response)
        detail = f", {reason}" if reason else ""
        raise UpstreamAuthError(
            f"The sign-in server answered HTTP {response.status_code}{detail} when {doing}.",
            status=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise UpstreamAuthError(f"The sign-in server sent an unreadable answer when {doing}.")
    return body


__all__ = [
    "DEVICE_CODE_LIFETIME",
    "SCOPES",
    "DeviceCodeLogin",
    "DeviceCodePrompt",
    "OAuthClient",
    "new_state",
    "pkce_pair",
]
