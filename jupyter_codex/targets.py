"""Keep each target's codex signed in as the account the router chose for it.

This is the service that combines ``accounts`` and ``supervisor`` (which never
import each other). For a target it:

* signs the app-server in after every (re)start with ``account/login/start``
  (``chatgptAuthTokens`` or ``apiKey``): tokens stay in codex's memory and the
  router stays the only holder and refresher of every refresh token;
* answers the app-server's ``account/chatgptAuthTokens/refresh`` requests;
* re-signs the live process when the router switches the target, so sessions
  continue under the new account without a restart;
* for the ``cli`` target, keeps a managed ``CODEX_HOME`` for ``codex`` run in
  Jupyter terminals: its ``auth.json`` follows the active account, and tokens a
  terminal refreshed are read back before we refresh that account ourselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from .accounts import AccountManager
from .accounts.authjson import TokenSet, read_auth_json_tokens
from .accounts.credentials import Credentials
from .accounts.router import AccountRouter
from .errors import AccountError, CodexError
from .supervisor import AppServerManager
from .tasks import OwnedTask, TaskOwner

REFRESH_METHOD = "account/chatgptAuthTokens/refresh"


class TerminalHome:
    """The ``CODEX_HOME`` that ``codex`` in Jupyter terminals and kernels uses."""

    def __init__(self, path: Path, log: logging.Logger) -> None:
        self.path = path
        self.log = log
        self.account_id: str | None = None

    def export(self, env: dict[str, str]) -> None:
        """Point child processes (terminals, kernels) of this server at the managed home."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["CODEX_HOME"] = str(self.path)
        os.environ.update(env)

    async def write(self, accounts: AccountManager, account_id: str) -> None:
        """Write the account's ``auth.json`` atomically (0600), refresh token included so
        the terminal's codex can refresh; we read rotated tokens back (``refreshed_tokens``)."""
        await accounts.export_auth_json(account_id, self.path)
        self.account_id = account_id

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "auth.json").unlink()
        self.account_id = None

    def refreshed_tokens(self) -> TokenSet | None:
        """Tokens in the terminal's ``auth.json`` (a terminal's codex may have rotated them)."""
        path = self.path / "auth.json"
        if self.account_id is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            if data.get("auth_mode") == "apikey":
                return None  # nothing to read back from an API-key login
            return read_auth_json_tokens(path)
        except (AccountError, OSError, ValueError) as e:
            self.log.warning("Ignoring the terminal auth.json: %s", e)
            return None


class TargetRuntime:
    """Signs one target's app-server (and terminals, for ``cli``) in as its active account."""

    def __init__(
        self,
        name: str,
        app_server: AppServerManager,
        accounts: AccountManager,
        router: AccountRouter,
        log: logging.Logger,
        terminal_home: TerminalHome | None = None,
    ) -> None:
        self.name = name
        self.app_server = app_server
        self.accounts = accounts
        self.router = router
        self.log = log
        self.terminal_home = terminal_home
        self.signed_in_as: str | None = None
        self._tasks = TaskOwner(f"codex-target-{name}", self.log)
        self._relogin: OwnedTask | None = None

    async def aclose(self) -> None:
        """Stop a re-login in progress."""
        self._relogin = None
        await self._tasks.aclose()

    async def sync_terminal(self) -> None:
        """Adopt tokens a terminal's codex refreshed, then rewrite the terminal auth.json."""
        home = self.terminal_home
        if home is None:
            return
        tokens = await asyncio.to_thread(home.refreshed_tokens)
        if tokens is not None and home.account_id:
            await self.accounts.adopt_external_tokens(
                home.account_id, tokens.access_token, tokens.refresh_token, tokens.id_token
            )
        account = await self.router.active(self.name)  # type: ignore[arg-type]
        if account is None:
            home.clear()
            return
        try:
            await home.write(self.accounts, account.id)
        except AccountError as e:
            self.log.warning("Cannot write the terminal auth.json: %s", e.message)

    # -- hooks ----------------------------------------------------------------

    async def _credentials(self) -> Credentials | None:
        account = await self.router.active(self.name)  # type: ignore[arg-type]
        if account is None:
            await self.router.evaluate(self.name, "no active account")  # type: ignore[arg-type]
            account = await self.router.active(self.name)  # type: ignore[arg-type]
        if account is None:
            return None
        if self.terminal_home is not None:
            await self.sync_terminal()
        return await self.accounts.credentials(account.id)

    async def sign_in(self) -> None:
        """Start hook: log the fresh process in (codex keeps the tokens in memory only)."""
        creds = await self._credentials()
        if creds is None:
            self.signed_in_as = None
            self.log.info(
                "No account is active for the %s target; codex uses its own CODEX_HOME login",
                self.name,
            )
            return
        await self.app_server.request("account/login/start", login_params(creds), timeout=30)
        self.signed_in_as = creds.account_id
        self.log.info("codex (%s) signed in as account %s", self.name, creds.account_id)

    async def refresh_tokens(self, params: dict[str, Any]) -> dict[str, Any]:
        """codex got a 401: hand it a freshly refreshed access token for the active account."""
        account = await self.router.active(self.name)  # type: ignore[arg-type]
        if account is None or account.kind != "chatgpt":
            raise AccountError(f"No ChatGPT account is active for the {self.name} target.")
        if self.terminal_home is not None:
            await self.sync_terminal()
        creds = await self.accounts.force_refresh(account.id)
        if self.terminal_home is not None:
            await self.terminal_home.write(self.accounts, account.id)
        return {
            "accessToken": creds.access_token,
            "chatgptAccountId": creds.chatgpt_account_id,
            "chatgptPlanType": creds.plan,
        }

    def on_switch(self, target: str, from_id: str | None, to_id: str | None, reason: str) -> None:
        """Switch listener: re-sign the running process when this target switched."""
        if target != self.name:
            return
        if self._relogin is not None:
            self._relogin.cancel()
        self._relogin = self._tasks.start_soon(self._switch, name=f"codex-relogin-{self.name}")

    async def _switch(self) -> None:
        """Re-sign the running process; threads continue under the new account."""
        try:
            if self.app_server.state != "running":
                if self.terminal_home is not None:
                    await self.sync_terminal()
                return  # the next start signs in with the new account
            with contextlib.suppress(CodexError):
                await self.app_server.request("account/logout", None, timeout=10)
            await self.sign_in()
        except CodexError as e:
            self.log.error("Could not switch codex (%s) to the new account: %s", self.name, e)


def login_params(creds: Credentials) -> dict[str, Any]:
    """``account/login/start`` params for a credential (secrets: never log these)."""
    if creds.kind == "api_key":
        return {"type": "apiKey", "apiKey": creds.api_key}
    return {
        "type": "chatgptAuthTokens",
        "accessToken": creds.access_token,
        "chatgptAccountId": creds.chatgpt_account_id,
        "chatgptPlanType": creds.plan,
    }
