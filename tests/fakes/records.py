"""Plain state of the fake upstream: recorded requests, usage windows, OAuth token rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .codex_env import make_jwt
from .steps import JSON


@dataclass
class RecordedRequest:
    """One request as the fake saw it (body already zstd-decoded and JSON-parsed)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # decoded JSON, form dict, raw text, or None
    content_encoding: str | None = None
    client_disconnected: bool = False  # the client cut the stream (e.g. turn/interrupt)
    denied: str | None = None  # the 401's error code when the bearer was refused
    at: float = field(default_factory=time.time)

    @property
    def account_id(self) -> str | None:
        return self.headers.get("chatgpt-account-id")

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    @property
    def function_call_outputs(self) -> list[Any]:
        """The ``output`` of every ``function_call_output`` input item (tool results)."""
        items = self.body.get("input", []) if isinstance(self.body, dict) else []
        return [
            i.get("output")
            for i in items
            if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]


@dataclass
class Usage:
    """One account's ``/wham/usage`` answer; all window fields are ints (Codex rejects floats)."""

    primary_used: int = 0
    secondary_used: int = 0
    allowed: bool = True
    limit_reached: bool = False
    plan_type: str = "pro"
    primary_window_seconds: int = 18_000
    secondary_window_seconds: int = 604_800
    primary_reset_after: int = 3_600
    secondary_reset_after: int = 86_400

    def payload(self) -> JSON:
        now = int(time.time())

        def window(used: int, seconds: int, after: int) -> JSON:
            return {
                "used_percent": int(used),
                "limit_window_seconds": int(seconds),
                "reset_after_seconds": int(after),
                "reset_at": now + int(after),
            }

        return {
            "plan_type": self.plan_type,
            "rate_limit": {
                "allowed": self.allowed,
                "limit_reached": self.limit_reached,
                "primary_window": window(
                    self.primary_used, self.primary_window_seconds, self.primary_reset_after
                ),
                "secondary_window": window(
                    self.secondary_used, self.secondary_window_seconds, self.secondary_reset_after
                ),
            },
            "credits": {"has_credits": False, "unlimited": False, "balance": "0"},
            "additional_rate_limits": [],
            "rate_limit_reached_type": None,
        }

    def headers(self) -> dict[str, str]:
        """The live ``x-codex-*`` headers the backend puts on every model response."""
        now = int(time.time())
        return {
            "x-codex-primary-used-percent": f"{float(self.primary_used)}",
            "x-codex-primary-window-minutes": str(self.primary_window_seconds // 60),
            "x-codex-primary-reset-at": str(now + self.primary_reset_after),
            "x-codex-secondary-used-percent": f"{float(self.secondary_used)}",
            "x-codex-secondary-window-minutes": str(self.secondary_window_seconds // 60),
            "x-codex-secondary-reset-at": str(now + self.secondary_reset_after),
            "x-codex-plan-type": self.plan_type,
        }


@dataclass
class Account:
    account_id: str
    email: str
    plan: str = "pro"


@dataclass
class DeviceAuth:
    """One device-code sign-in: pending until the test approves it for an account."""

    device_auth_id: str
    user_code: str
    authorization_code: str | None = None
    code_verifier: str | None = None
    code_challenge: str | None = None


@dataclass
class CodeGrant:
    """An authorization code waiting to be exchanged at ``/oauth/token`` (used once)."""

    account_id: str
    code_challenge: str
    redirect_uri: str


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class TokenStore:
    """OAuth as auth.openai.com does it: refresh tokens work once; device-code and
    authorization-code (PKCE) sign-in.

    Unknown tokens are accepted once (so any ``auth.json`` works without registering);
    reusing a rotated token answers 401 ``refresh_token_reused``.
    """

    accounts: dict[str, Account] = field(default_factory=dict)
    live: dict[str, str] = field(default_factory=dict)  # refresh token -> account id
    used: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    calls: int = 0
    access_ttl: int = 3600
    devices: dict[str, DeviceAuth] = field(default_factory=dict)  # device_auth_id -> login
    codes: dict[str, CodeGrant] = field(default_factory=dict)  # authorization code -> grant
    device_interval: str = "5"  # a string, as the real endpoint sends it
    #: check access tokens' ``exp`` on model and usage requests (401 once expired)
    enforce_exp: bool = False
    minted: set[str] = field(default_factory=set)  # access tokens issued here
    revoked_access: set[str] = field(default_factory=set)
    refreshes: int = 0  # successful refresh-token grants

    def check_access(self, token: str | None) -> tuple[int, JSON] | None:
        """None when ``token`` may call the backend, else the 401 the backend answers."""
        if token is None or token.startswith("sk-"):
            return None
        if token in self.revoked_access:
            return 401, {"error": {"message": "Token revoked.", "code": "token_revoked"}}
        if self.enforce_exp:
            try:
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                exp = float(claims["exp"])
            except (IndexError, KeyError, TypeError, ValueError):
                return 401, {"error": {"message": "Malformed token.", "code": "invalid_token"}}
            if exp <= time.time():
                message = "Provided authentication token is expired. Please try signing in again."
                return 401, {"error": {"message": message, "code": "token_expired"}}
        return None

    def issue(self, account_id: str, token: str | None = None) -> str:
        token = token or f"rt-{account_id}-{secrets.token_hex(4)}"
        self.live[token] = account_id
        return token

    def token(self, body: Any) -> tuple[int, JSON]:
        """``POST /oauth/token``: the refresh or the authorization-code grant."""
        if isinstance(body, dict) and body.get("grant_type") == "authorization_code":
            return self.exchange(body)
        return self.refresh(body)

    def refresh(self, body: Any) -> tuple[int, JSON]:
        self.calls += 1
        form = body if isinstance(body, dict) else {}
        token = form.get("refresh_token")
        if form.get("grant_type") != "refresh_token" or not isinstance(token, str) or not token:
            return 400, {"error": "invalid_request"}
        if token in self.revoked:
            return 401, {"error": "refresh_token_invalidated"}
        if token in self.used:
            return 401, {"error": "refresh_token_reused"}
        account_id = self.live.pop(token, None) or "acct-unknown"
        self.used.add(token)
        self.refreshes += 1
        return 200, self._mint(account_id)

    def exchange(self, form: JSON) -> tuple[int, JSON]:
        """``grant_type=authorization_code``: code, redirect_uri, client_id, code_verifier."""
        self.calls += 1
        grant = self.codes.get(str(form.get("code")))
        verifier = form.get("code_verifier")
        if (
            grant is None
            or not form.get("client_id")
            or form.get("redirect_uri") != grant.redirect_uri
            or not isinstance(verifier, str)
            or s256(verifier) != grant.code_challenge
        ):
            return 400, {"error": "invalid_grant"}
        del self.codes[str(form["code"])]
        return 200, self._mint(grant.account_id)

    def authorize(self, account_id: str, code_challenge: str, redirect_uri: str) -> str:
        """What the browser consent page does: a one-time code for ``account_id``."""
        code = f"ac-{secrets.token_hex(8)}"
        self.codes[code] = CodeGrant(account_id, code_challenge, redirect_uri)
        return code

    def device_usercode(self, body: Any) -> tuple[int, JSON]:
        if not isinstance(body, dict) or not body.get("client_id"):
            return 400, {"error": "invalid_request"}
        device = DeviceAuth(f"deviceauth-{secrets.token_hex(6)}", _user_code())
        self.devices[device.device_auth_id] = device
        return 200, {
            "device_auth_id": device.device_auth_id,
            "user_code": device.user_code,
            "interval": self.device_interval,
        }

    def device_token(self, body: Any) -> tuple[int, JSON]:
        """403 while the user has not approved yet (Codex keeps polling on 403/404)."""
        form = body if isinstance(body, dict) else {}
        device = self.devices.get(str(form.get("device_auth_id")))
        if device is None or form.get("user_code") != device.user_code:
            return 400, {"error": "invalid_request"}
        if device.authorization_code is None:
            return 403, {"error": {"code": "deviceauth_authorization_pending"}}
        return 200, {
            "authorization_code": device.authorization_code,
            "code_challenge": device.code_challenge,
            "code_verifier": device.code_verifier,
        }

    def approve_device(self, user_code: str, account_id: str, redirect_uri: str) -> None:
        for device in self.devices.values():
            if device.user_code == user_code:
                device.code_verifier = secrets.token_urlsafe(48)
                device.code_challenge = s256(device.code_verifier)
                device.authorization_code = self.authorize(
                    account_id, device.code_challenge, redirect_uri
                )
                return
        raise KeyError(f"no device sign-in with user code {user_code!r}")

    def _mint(self, account_id: str) -> JSON:
        account = self.accounts.get(account_id) or Account(account_id, f"{account_id}@example.com")
        jwt = make_jwt(
            account.email,
            account_id,
            account.plan,
            exp=int(time.time()) + self.access_ttl,
            jti=secrets.token_hex(4),
        )
        self.minted.add(jwt)
        return {
            "id_token": jwt,
            "access_token": jwt,
            "refresh_token": self.issue(account_id),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
        }


def _user_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    chars = [secrets.choice(alphabet) for _ in range(8)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])
