"""The server extension: the one place that builds and wires every manager."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Int, Unicode, default

from . import __version__, config
from .errors import CodexError
from .handlers import fallback_handlers, websocket_handlers, workspace_handlers
from .store import Database
from .supervisor import AppServerManager
from .workspace import WorkspaceManager


class CodexExtensionApp(ExtensionApp):
    """Codex in Jupyter: app-server supervisor, workspace and (later) account router."""

    name = "jupyter_codex"
    load_other_extensions = True

    data_dir = Unicode(
        config=True,
        help="Folder for the SQLite database, the key file and each target's CODEX_HOME "
        "(created 0700). Default: $JUPYTER_CODEX_DATA_DIR or <jupyter_data_dir>/codex.",
    )
    chatgpt_base_url = Unicode(
        config=True,
        help="ChatGPT backend base URL (usage, codex/responses, models). "
        "Default: $JUPYTER_CODEX_CHATGPT_BASE_URL or https://chatgpt.com/backend-api.",
    )
    openai_base_url = Unicode(
        config=True,
        help="OpenAI API base URL for API-key accounts. "
        "Default: $JUPYTER_CODEX_OPENAI_BASE_URL or https://api.openai.com/v1.",
    )
    auth_base_url = Unicode(
        config=True,
        help="OAuth issuer (token refresh, device code). "
        "Default: $JUPYTER_CODEX_AUTH_BASE_URL or https://auth.openai.com.",
    )
    ca_certificate = Unicode(
        config=True,
        help="Extra CA bundle (PEM) trusted for upstream TLS, also passed to the app-server "
        "as CODEX_CA_CERTIFICATE. Default: $JUPYTER_CODEX_CA_CERTIFICATE, else none.",
    )
    codex_config_overrides = Dict(
        config=True,
        help="Extra Codex config overrides for every app-server we start, as dotted keys "
        "(e.g. {'model_providers.local.base_url': 'http://...'}); passed as `-c key=value`.",
    )
    max_body_bytes = Int(
        4 * 1024 * 1024,
        config=True,
        help="Largest accepted REST request body in bytes (default 4 MiB); larger bodies get 413.",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return config.default_data_dir()

    @default("chatgpt_base_url")
    def _default_chatgpt_base_url(self) -> str:
        return config.default_chatgpt_base_url()

    @default("openai_base_url")
    def _default_openai_base_url(self) -> str:
        return config.default_openai_base_url()

    @default("auth_base_url")
    def _default_auth_base_url(self) -> str:
        return config.default_auth_base_url()

    @default("ca_certificate")
    def _default_ca_certificate(self) -> str:
        return config.default_ca_certificate()

    # -- composition ---------------------------------------------------------

    def initialize_settings(self) -> None:
        """Build the managers (no I/O, no processes: those start lazily)."""
        data = Path(self.data_dir)
        self.database = Database(data / "codex.db")
        self.app_servers = {"cli": self._make_app_server("cli")}
        self.workspace = WorkspaceManager(
            parent=self,
            log=self.log,
            database=self.database,
            app_server=self.app_servers["cli"],
            root_dir=str(self.serverapp.root_dir) if self.serverapp else ".",
        )
        self._started: asyncio.Future[None] | None = None
        self.settings.update(
            {
                "codex_app": self,
                "codex_workspace": self.workspace,
                "codex_max_body_bytes": self.max_body_bytes,
            }
        )

    def initialize_handlers(self) -> None:
        """Register every route under ``base_url``."""
        self.handlers.extend(workspace_handlers())
        self.handlers.extend(websocket_handlers())
        self.handlers.extend(fallback_handlers())

    def _make_app_server(self, target: str) -> AppServerManager:
        codex_home = Path(self.data_dir) / "targets" / target / "codex_home"
        overrides: dict[str, Any] = {"chatgpt_base_url": self.chatgpt_base_url}
        # Codex's built-in provider sends model calls to `openai_base_url` whatever the
        # auth mode, so a moved ChatGPT backend moves it too (ChatGPT accounts use
        # <backend>/codex); otherwise codex picks the right default for the account.
        if self.chatgpt_base_url.rstrip("/") != config.DEFAULT_CHATGPT_BASE_URL:
            overrides["openai_base_url"] = self.chatgpt_base_url.rstrip("/") + "/codex"
        elif self.openai_base_url.rstrip("/") != config.DEFAULT_OPENAI_BASE_URL:
            overrides["openai_base_url"] = self.openai_base_url
        overrides.update(self.codex_config_overrides)
        auth = self.auth_base_url.rstrip("/")
        env = {
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE": auth + "/oauth/token",
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE": auth + "/oauth/revoke",
        }
        if self.ca_certificate:
            env["CODEX_CA_CERTIFICATE"] = self.ca_certificate
        return AppServerManager(
            parent=self,
            log=self.log,
            name=target,
            codex_home=str(codex_home),
            config_overrides=overrides,
            env=env,
        )

    # -- lifecycle -----------------------------------------------------------

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        await self.started()

    async def started(self) -> None:
        """Finish start-up once (open the store, load sessions); safe to await often."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        _ensure_private_dir(Path(self.data_dir), self.log)
        await self.database.open()
        await self.workspace.start()
        self.log.info("jupyter-codex %s ready (data in %s)", __version__, self.data_dir)

    async def stop_extension(self) -> None:
        """Stop every app-server (TERM, then KILL) and persist pending events."""
        await asyncio.gather(*(s.stop() for s in self.app_servers.values()))
        if self._started is not None and self._started.done():
            await self.workspace.stop()
            await self.database.close()

    # -- status --------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """``GET codex/api/status``: versions, app-servers, auth readiness."""
        await self.started()
        targets: dict[str, Any] = {}
        for name, server in self.app_servers.items():
            info = server.info()
            info["auth"] = await self._auth_status(server)
            targets[name] = info
        sessions = await self.workspace.list_sessions(include_archived=True)
        return {
            "version": __version__,
            "data_dir": self.data_dir,
            "targets": targets,
            "sessions": {
                "total": len(sessions),
                "running": sum(1 for s in sessions if s.state != "idle"),
            },
            "pending_approvals": len(self.workspace.approvals.pending()),
        }

    async def _auth_status(self, server: AppServerManager) -> dict[str, Any]:
        """What the app-server will sign in with, without starting it just to ask."""
        if server.state != "running":
            has_file = (Path(server.codex_home) / "auth.json").exists()
            return {"ready": has_file, "source": "auth.json" if has_file else None}
        try:
            result = await server.request("account/read", {}, timeout=5)
        except CodexError as e:  # status must answer even when the app-server is broken
            return {"ready": False, "error": str(e)}
        account = result.get("account")
        return {
            "ready": account is not None or not result.get("requiresOpenaiAuth", True),
            "type": (account or {}).get("type"),
            "plan": (account or {}).get("planType"),
        }


def _ensure_private_dir(path: Path, log: Any) -> None:
    """Create the data dir 0700, and warn when an existing one is readable by others."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        log.warning(
            "jupyter-codex data dir %s is accessible by other users (mode %o); run chmod 700 on it.",
            path,
            mode,
        )
