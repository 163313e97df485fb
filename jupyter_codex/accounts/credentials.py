"""What a caller needs to act as an account, and the interface that hands it out.

Credentials are plain, short-lived values: never logged (``repr`` hides them),
never serialized into an API answer, never written anywhere but the encrypted
store and the cli target's managed ``auth.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..models import Account


@dataclass(frozen=True)
class Credentials:
    """A usable identity: a ChatGPT access token (with its workspace id) or an API key."""

    account_id: str
    kind: Literal["chatgpt", "api_key"]
    access_token: str | None = field(default=None, repr=False)
    chatgpt_account_id: str | None = None
    plan: str | None = None
    api_key: str | None = field(default=None, repr=False)
    expires_at: float | None = None

    def auth_headers(self) -> dict[str, str]:
        """Headers for the ChatGPT backend or the OpenAI API."""
        if self.kind == "api_key":
            return {"Authorization": f"Bearer {self.api_key}"}
        headers = {"Authorization": f"Bearer {self.access_token}"}
        if self.chatgpt_account_id:
            headers["ChatGPT-Account-Id"] = self.chatgpt_account_id
        return headers


class AccountSource(Protocol):
    """The part of the account manager that usage polling and routing rely on."""

    async def list_accounts(self) -> list[Account]:
        """Every account (no secrets), oldest first."""
        ...

    async def credentials(self, account_id: str, *, min_validity: float = 300.0) -> Credentials:
        """Fresh credentials, refreshing the access token first if it expires within
        ``min_validity`` seconds. Raises ``AccountError`` subclasses."""
        ...
