"""Plain state of the fake upstream: recorded requests, usage windows, OAuth token rotation."""

from __future__ import annotations

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
    at: float = field(default_factory=time.time)

    @property
    def account_id(self) -> str | None:
        return self.headers.get("chatgpt-account-id")

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


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
class TokenStore:
    """OAuth refresh-token rotation as auth.openai.com does it: each token works once.

    Unknown tokens are accepted once (so any ``auth.json`` works without registering);
    reusing a rotated token answers 401 ``refresh_token_reused``.
    """

    accounts: dict[str, Account] = field(default_factory=dict)
    live: dict[str, str] = field(default_factory=dict)  # refresh token -> account id
    used: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    calls: int = 0
    access_ttl: int = 3600

    def issue(self, account_id: str, token: str | None = None) -> str:
        token = token or f"rt-{account_id}-{secrets.token_hex(4)}"
        self.live[token] = account_id
        return token

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
        account = self.accounts.get(account_id) or Account(account_id, f"{account_id}@example.com")
        jwt = make_jwt(
            account.email, account_id, account.plan, exp=int(time.time()) + self.access_ttl
        )
        return 200, {
            "id_token": jwt,
            "access_token": jwt,
            "refresh_token": self.issue(account_id),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
        }
