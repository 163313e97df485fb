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

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from . import config
from .accounts import AccountManager
from .accounts.authjson import MANAGED_CODEX_HOME_ENV, USER_CODEX_HOME_ENV
from .accounts.credentials import Credentials
from .accounts.router import AccountRouter
from .errors import AccountError, CodexError
from .models import Account
from .supervisor import AppServerManager
from .tasks import OwnedTask, TaskOwner, within

REFRESH_METHOD = "account/chatgptAuthTokens/refresh"
#: Seconds a new turn waits for a switch that waits for other running turns.
SWITCH_PATIENCE = 5.0


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


def codex_settings(
    target: str,
    *,
    chatgpt_base_url: str,
    openai_base_url: str,
    auth_base_url: str,
    ca_certificate: str = "",
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """What a target's ``codex app-server`` is told: its ``-c`` overrides and the
    environment it gets (token endpoints, CA), ``extra`` (the admin's) last."""
    overrides: dict[str, Any] = {"chatgpt_base_url": chatgpt_base_url}
    if target == "cli":
        # Let the agent ask the user questions in every mode (not only Plan): every
        # workspace client answers `item/tool/requestUserInput`. Not for the api
        # target, whose callers are programs (codex_config_overrides may change it).
        overrides["features.default_mode_request_user_input"] = True
    # Codex's built-in provider sends model calls to `openai_base_url` whatever the
    # auth mode, so a moved ChatGPT backend moves it too (ChatGPT accounts use
    # <backend>/codex); otherwise codex picks the right default for the account.
    if chatgpt_base_url.rstrip("/") != config.DEFAULT_CHATGPT_BASE_URL:
        overrides["openai_base_url"] = chatgpt_base_url.rstrip("/") + "/codex"
    elif openai_base_url.rstrip("/") != config.DEFAULT_OPENAI_BASE_URL:
        overrides["openai_base_url"] = openai_base_url
    overrides.update(extra or {})
    auth = auth_base_url.rstrip("/")
    env = {
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE": auth + "/oauth/token",
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE": auth + "/oauth/revoke",
    }
    if ca_certificate:
        env["CODEX_CA_CERTIFICATE"] = ca_certificate
    return overrides, env


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
        #: Whether turns run on this target's codex now (see :meth:`watch_turns`).
        self.turns_running: Callable[[], bool] = lambda: False
        #: Cleared while codex is between logout and the new login.
        self._signed_in = asyncio.Event()
        self._signed_in.set()

    def watch_turns(self, probe: Callable[[], bool]) -> None:
        """Tell the runtime how to see turns running on its codex (the workspace's), so
        a switch waits for them: codex fails every turn in flight on a new login."""
        self.turns_running = probe

    async def aclose(self) -> None:
        """Stop a re-login in progress."""
        self._relogin = None
        await self._tasks.aclose()

    async def settled(self) -> None:
        """Return once codex is signed in, so a turn never starts on a codex that is
        between accounts. A switch still waiting for running turns holds a new turn back
        for at most ``SWITCH_PATIENCE`` s (the usual case, one session: its turn just
        ended, the switch follows within a poll); past that the turn starts on the old
        account and the switch waits for it too."""
        relogin = self._relogin
        if relogin is not None and not relogin.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await within(relogin.wait(), SWITCH_PATIENCE)
        await self._signed_in.wait()

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

    async def _codex_account(self) -> Account | None:
        """The account codex is signed in as while it is still usable (a switch may be
        waiting for running turns), else the target's active account."""
        if self.signed_in_as is not None:
            with contextlib.suppress(CodexError):
                account = await self.accounts.get(self.signed_in_as)
                if account.status == "active":
                    return account
        return await self.router.active(self.name)  # type: ignore[arg-type]

    async def refresh_tokens(self, params: dict[str, Any]) -> dict[str, Any]:
        """codex got a 401: hand it a freshly refreshed access token for its account."""
        account = await self._codex_account()
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
        """Re-sign the running process once its turns have ended; threads continue under
        the new account. (A terminal's codex goes through the proxy: it follows at once.)"""
        try:
            if self.terminal_home is not None:
                await self.sync_terminal()
            if self.app_server.state != "running":
                return  # the next start signs in with the new account
            await self._wait_for_turns()
            self._signed_in.clear()  # no await since the last check: no turn slips in
            try:
                with contextlib.suppress(CodexError):
                    await self.app_server.request("account/logout", None, timeout=10)
                await self.sign_in()
            finally:
                self._signed_in.set()
        except CodexError as e:
            self.log.error("Could not switch codex (%s) to the new account: %s", self.name, e)

    async def _wait_for_turns(self) -> None:
        """Wait (up to ``AccountRouter.relogin_wait_seconds``) until no turn runs."""
        if not self.turns_running():
            return
        wait = self.router.relogin_wait_seconds
        self.log.info(
            "codex (%s) switches accounts once its running turns end (at most %.0f s)",
            self.name,
            wait,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:  # a probe, not an event: poll it
            if not self.turns_running():
                break
            await asyncio.sleep(0.2)
        if self.turns_running():
            self.log.warning(
                "codex (%s) switches accounts now although turns still run after %.0f s "
                "(AccountRouter.relogin_wait_seconds); they fail",
                self.name,
                wait,
            )


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
