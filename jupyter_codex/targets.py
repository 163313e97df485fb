"""Keep each target's codex signed in as the account the router chose for it.

This is the service that combines ``accounts`` and ``supervisor`` (which never
import each other). For a target it:

* signs the app-server in after every (re)start with ``account/login/start``
  (``chatgptAuthTokens`` or ``apiKey``): tokens stay in codex's memory and the
  router stays the only holder and refresher of every refresh token;
* answers the app-server's ``account/chatgptAuthTokens/refresh`` requests;
* re-signs the live process when the router switches the target, so sessions
  continue under the new account without a restart;
* for the ``cli`` target, configures ``codex`` run in Jupyter terminals so that the
  router stays the only refresher (see :class:`TerminalHome`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from .accounts import AccountManager
from .accounts.authjson import MANAGED_CODEX_HOME_ENV, USER_CODEX_HOME_ENV
from .accounts.credentials import Credentials
from .accounts.router import AccountRouter
from .errors import AccountError, CodexError
from .supervisor import AppServerManager
from .tasks import OwnedTask, TaskOwner

REFRESH_METHOD = "account/chatgptAuthTokens/refresh"


class TokenCheck(Protocol):
    """Asks the backend whether it still takes an access token (e.g.
    :meth:`~jupyter_codex.usage.UsageCollector.accepts`)."""

    async def __call__(self, credentials: Credentials, /) -> bool: ...


#: First line of a ``config.toml`` this server wrote (and may rewrite).
CONFIG_MARKER = "# Written by jupyter-codex: codex in Jupyter terminals goes through its router."
#: The model provider id in that file.
PROVIDER_ID = "jupyter_codex"
#: Header by which the proxy serves a request with the cli target's account.
TARGET_HEADER = "x-jupyter-codex-target"


class TerminalHome:
    """The ``CODEX_HOME`` that ``codex`` in Jupyter terminals and kernels uses.

    **No refresh token ever leaves the router.** Refresh tokens are single-use: a
    terminal ``codex`` holding one is a second refresher, and with short-lived access
    tokens it races the router into ``refresh_token_reused`` (the account is then
    dead). Checked with the real binary (codex-cli 0.163), two ways out:

    * the managed home (default) gets a ``config.toml`` whose model provider is this
      server's own proxy (``<server>/codex/v1``, ``wire_api = "responses"``, the Jupyter
      token from the environment as its key, header ``x-jupyter-codex-target: cli`` so the
      proxy serves it with the cli target's account) and **no** ``auth.json``. Every
      model request then takes the router's fresh access token, survives refreshes and
      account switches without the terminal noticing, and a usage limit comes back in
      the backend's own 429 shape, which codex prints. A ``config.toml`` the user wrote
      there (without our marker line) is left alone.
    * with ``manage_user_codex_home`` the user's own ``~/.codex`` gets the account's
      ``auth.json`` **without** its refresh token; the router rewrites it after every
      refresh and switch (codex re-reads it), and cannot be raced: an empty refresh
      token refreshes nothing.
    """

    def __init__(self, path: Path, log: logging.Logger, *, managed: bool = True) -> None:
        self.path = path
        self.log = log
        self.managed = managed
        self.account_id: str | None = None

    def export(self, env: dict[str, str]) -> None:
        """Point child processes (terminals, kernels) of this server at the managed home."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        current = os.environ.get("CODEX_HOME")
        if not current or current != os.environ.get(MANAGED_CODEX_HOME_ENV):
            # Remember the user's own home: `accounts import` reads the real login there.
            os.environ[USER_CODEX_HOME_ENV] = current or str(Path.home() / ".codex")
        os.environ["CODEX_HOME"] = str(self.path)
        os.environ[MANAGED_CODEX_HOME_ENV] = str(self.path)
        os.environ.update(env)

    def configure_proxy(self, server_url: str | None, env_key: str | None) -> bool:
        """Write the managed ``config.toml`` that routes terminal codex through the proxy.

        ``server_url``: this server's URL with its base URL; ``env_key``: the environment
        variable holding a token the proxy accepts. False when it was not written.
        """
        if not self.managed:
            return False
        config = self.path / "config.toml"
        if config.exists() and not config.read_text().startswith(CONFIG_MARKER):
            self.log.warning(
                "%s was not written by jupyter-codex: terminal codex does not go through "
                "the account router",
                config,
            )
            return False
        if not server_url or not env_key:
            self.log.warning("No server URL or token for terminal codex; %s not written", config)
            return False
        base = server_url.rstrip("/") + "/codex/v1"
        text = "\n".join(
            [
                CONFIG_MARKER,
                "# Remove this file (or its first line) to configure codex here yourself.",
                f'model_provider = "{PROVIDER_ID}"',
                "",
                f"[model_providers.{PROVIDER_ID}]",
                'name = "Jupyter (jupyter-codex account router)"',
                f"base_url = {json.dumps(base)}",
                'wire_api = "responses"',
                f"env_key = {json.dumps(env_key)}",
                "supports_websockets = false",
                f'http_headers = {{ "{TARGET_HEADER}" = "cli" }}',
                "",
            ]
        )
        tmp = config.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(config)
        return True

    async def write(self, accounts: AccountManager, account_id: str) -> None:
        """Keep the home signed in as ``account_id``: nothing to write in the managed home
        (the proxy signs every request); an ``auth.json`` without refresh token otherwise."""
        if self.managed:
            self.clear()
        else:
            await accounts.export_auth_json(account_id, self.path, include_refresh_token=False)
        self.account_id = account_id

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "auth.json").unlink()
        self.account_id = None


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
        token_check: TokenCheck | None = None,
    ) -> None:
        self.name = name
        self.token_check = token_check
        self.app_server = app_server
        self.accounts = accounts
        self.router = router
        self.log = log
        self.terminal_home = terminal_home
        self.signed_in_as: str | None = None
        #: account id -> the access token codex last got from us
        self._handed: dict[str, str] = {}
        self._tasks = TaskOwner(f"codex-target-{name}", self.log)
        self._relogin: OwnedTask | None = None

    async def aclose(self) -> None:
        """Stop a re-login in progress."""
        self._relogin = None
        await self._tasks.aclose()

    async def settled(self) -> None:
        """Return once a re-login after an account switch has finished (at once when
        none runs), so a turn never starts on a codex that is between accounts."""
        relogin = self._relogin
        if relogin is not None and not relogin.done():
            await relogin.wait()

    async def sync_terminal(self) -> None:
        """Point the terminal home at the target's account (see :class:`TerminalHome`)."""
        home = self.terminal_home
        if home is None:
            return
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
        self._handed[creds.account_id] = creds.access_token or ""
        self.signed_in_as = creds.account_id
        self.log.info("codex (%s) signed in as account %s", self.name, creds.account_id)

    async def refresh_tokens(self, params: dict[str, Any]) -> dict[str, Any]:
        """codex got a 401: hand it a freshly refreshed access token for the active account."""
        account = await self.router.active(self.name)  # type: ignore[arg-type]
        if account is None or account.kind != "chatgpt":
            raise AccountError(f"No ChatGPT account is active for the {self.name} target.")
        # Only the token codex was handed is known to be rejected: when it has been
        # replaced since (another 401, the proxy, the margin refresh), codex gets the
        # newer one and nothing is refreshed: a burst of 401s costs one refresh.
        handed = self._handed.get(account.id) or None
        stored = (await self.accounts.credentials(account.id)).access_token
        creds = await self.accounts.force_refresh(account.id, rejected_token=handed)
        if (
            creds.access_token == stored != handed
            and self.token_check is not None
            and not await self.token_check(creds)
        ):
            # The newer token was minted before the 401 and may have been revoked with
            # the old one (a sign-out elsewhere): codex retries a 401 once only, so it
            # must get a token the backend takes, not one it would refuse again.
            creds = await self.accounts.force_refresh(account.id, rejected_token=stored)
        self._handed[account.id] = creds.access_token or ""
        if self.terminal_home is not None:
            await self.sync_terminal()
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
