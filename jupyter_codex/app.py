"""The server extension: the one place that builds every manager and service.

``initialize_settings`` builds (no I/O, no processes), ``_start`` opens the
store and calls ``wiring.py`` (who listens to what), ``stop_extension`` stops
and awaits everything. Status, event glue and background tasks live in their
own modules (``status.py``, ``wiring.py``, ``tasks.py``).

Why this module is long: the extension's documented traits (~150 lines) and
the one place that constructs every service; what is not building or wiring
lives elsewhere (``handlers.all_handlers``, ``targets.codex_settings``,
``deployment.export_server_location``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Enum, Float, Int, Unicode, default

from . import __version__, config, deployment
from .accounts.external import ExternalAccountChanges
from .accounts.signin import SignInFlows
from .activity import ActivityReporter
from .core import CodexCore
from .extensions import ExtensionHost
from .handlers import all_handlers
from .models import TARGETS
from .proxy.agent import AgentRunner
from .proxy.keys import ProxyKeys
from .proxy.service import ProxyService
from .proxy.upstream import UpstreamClient
from .status import StatusService
from .store.proxy import AgentSessionRepository, ProxyKeyRepository, RequestLogRepository
from .supervisor import AppServerManager, IdleShutdown
from .targets import TargetRuntime, TerminalHome, codex_settings
from .tasks import TaskOwner, single_flight
from .wiring import (
    ServerEvents,
    wire_core,
    wire_idle,
    wire_server,
    wire_turns,
    wire_workspace,
)
from .workspace import WorkspaceManager
from .workspace.inline import InlineEdits
from .workspace.jobs import JobQueue
from .workspace.notebook_kernel import NotebookKernels


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

    browser_login_port = Int(
        1455,
        config=True,
        help="Local port of the browser sign-in callback (http://localhost:<port>/auth/callback, "
        "the redirect registered for Codex). Default 1455, as `codex login` uses.",
    )

    manage_user_codex_home = Bool(
        False,
        config=True,
        help="Keep the cli-target account's auth.json in the user's own ~/.codex (or "
        "$CODEX_HOME) instead of a managed CODEX_HOME under the data dir. Off by default: "
        "the user's own codex login is left alone. That auth.json has no refresh token (the "
        "router rewrites it after every refresh and switch). Without this option the managed "
        "home gets a config.toml that routes terminal codex through this server's proxy on "
        "the cli target's account (a config.toml there without our first line is left alone).",
    )

    # -- deployment (JupyterHub, Binder demo; see docs/deployment.md) ----------

    demo_mode = Bool(
        config=True,
        help="Demo mode (Binder): a clearly labelled banner in status and the panel; the "
        "upstream is the bundled fake. Default: $JUPYTER_CODEX_DEMO_MODE, else off.",
    )
    default_sign_in = Enum(
        ["device", "browser"],
        config=True,
        help="Sign-in flow clients offer first: 'device' (device code; works remotely) or "
        "'browser'. Default: $JUPYTER_CODEX_DEFAULT_SIGN_IN, else 'device' under JupyterHub "
        "and 'browser' elsewhere.",
    )
    allow_browser_sign_in = Bool(
        config=True,
        help="Allow the browser sign-in flow (its callback listens on localhost of the "
        "server, so it only works when the browser runs there). Default: off under "
        "JupyterHub, on elsewhere.",
    )
    proxy_enabled = Bool(
        True,
        config=True,
        help="Serve the OpenAI/Claude-compatible endpoints (codex/v1, codex/claude). False: "
        "they answer 403 in the client's dialect, for sites that allow the workspace only.",
    )
    activity_interval = Float(
        60.0,
        config=True,
        help="Seconds between two activity reports while a turn runs, so JupyterHub's idle "
        "culler never stops a server that is working (0: never report).",
    )

    @default("demo_mode")
    def _default_demo_mode(self) -> bool:
        return deployment.default_demo_mode()

    @default("default_sign_in")
    def _default_default_sign_in(self) -> str:
        return deployment.default_sign_in()

    @default("allow_browser_sign_in")
    def _default_allow_browser_sign_in(self) -> bool:
        return not deployment.under_jupyterhub()

    def initialize_settings(self) -> None:
        """Build the managers (no I/O, no processes: those start lazily)."""
        self.core = CodexCore(
            data_dir=self.data_dir,
            chatgpt_base_url=self.chatgpt_base_url,
            auth_base_url=self.auth_base_url,
            ca_certificate=self.ca_certificate,
            parent=self,
            log=self.log,
        )
        wire_core(self.core)
        self.database = self.core.database
        # cli: the user's workspace sessions; api: the proxy's agent-mode turns.
        self.app_servers: dict[str, AppServerManager] = {
            t: self._make_app_server(t) for t in TARGETS
        }
        terminal_dir = (
            Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
            if self.manage_user_codex_home
            else Path(self.data_dir) / "terminal_codex_home"
        )
        self.terminal_home = TerminalHome(
            terminal_dir, self.log, managed=not self.manage_user_codex_home
        )
        self.runtimes = {
            "cli": TargetRuntime(
                "cli",
                self.app_servers["cli"],
                self.core.accounts,
                self.core.router,
                self.log,
                terminal_home=self.terminal_home,
                token_check=self.core.collector.accepts,
            ),
            "api": TargetRuntime(
                "api",
                self.app_servers["api"],
                self.core.accounts,
                self.core.router,
                self.log,
                token_check=self.core.collector.accepts,
            ),
        }
        self.workspace = WorkspaceManager(
            parent=self,
            log=self.log,
            database=self.database,
            app_server=self.app_servers["cli"],
            app_servers=self.app_servers,
            account_gates=self.runtimes,
            root_dir=str(self.serverapp.root_dir) if self.serverapp else ".",
            data_dir=self.data_dir,
        )
        self.workspace.notebooks.image_dir = str(Path(self.data_dir) / "notebook_images")
        if self.serverapp is not None:
            self.workspace.notebooks.kernels = NotebookKernels(
                self.serverapp.session_manager, self.serverapp.kernel_manager, self.log
            )
        self.jobs = JobQueue(
            parent=self, log=self.log, workspace=self.workspace, database=self.database
        )
        self.extensions = ExtensionHost(
            parent=self, log=self.log, workspace=self.workspace, jobs=self.jobs
        )
        self.signins = SignInFlows(self.core.accounts)
        self.external_accounts: ExternalAccountChanges | None = None
        self.proxy = ProxyService(
            parent=self,
            log=self.log,
            router=self.core.router,
            accounts=self.core.accounts,
            scheduler=self.core.scheduler,
            upstream=UpstreamClient(
                chatgpt_base_url=self.chatgpt_base_url,
                openai_base_url=self.openai_base_url,
                ca_certificate=self.ca_certificate,
            ),
            keys=ProxyKeys(ProxyKeyRepository(self.database), self.data_dir),
            request_log=RequestLogRepository(self.database),
        )
        self.proxy.agent = AgentRunner(
            parent=self,
            log=self.log,
            workspace=self.workspace,
            bindings=AgentSessionRepository(self.database),
            image_dir=str(Path(self.data_dir) / "agent_images"),
            active_account=self._api_account_id,
        )
        self.workspace.approval_timeouts["api"] = self.proxy.agent.approval_timeout
        self.activity = ActivityReporter(
            lambda: self.serverapp.web_app.settings if self.serverapp else self.settings,
            self.workspace.running_turns,
            self.activity_interval,
            self.log,
        )
        self.idle = {
            name: IdleShutdown(server, self._codex_busy, parent=self, log=self.log)
            for name, server in self.app_servers.items()
        }
        for name, idle in self.idle.items():
            wire_idle(idle, self.app_servers[name])
        self._started: asyncio.Future[None] | None = None
        self._tasks = TaskOwner("codex-app", self.log)
        self.events = ServerEvents(
            core=self.core,
            workspace=self.workspace,
            runtimes=self.runtimes,
            terminal_home=self.terminal_home,
            tasks=self._tasks,
            log=self.log,
        )
        self.status = StatusService(
            started=self.started,
            data_dir=self.data_dir,
            core=self.core,
            workspace=self.workspace,
            proxy=self.proxy,
            app_servers=self.app_servers,
            runtimes=self.runtimes,
            idle=self.idle,
            deployment_options={
                "demo_mode": self.demo_mode,
                "default_sign_in": self.default_sign_in,
                "allow_browser_sign_in": self.allow_browser_sign_in,
                "proxy_enabled": self.proxy_enabled,
                "max_body_bytes": self.max_body_bytes,
            },
        )
        self.settings.update(
            {
                "codex_app": self,
                "codex_started": self.started,
                "codex_status": self.status,
                "codex_terminal_home": self.terminal_home,
                "codex_core": self.core,
                "codex_signins": self.signins,
                "codex_workspace": self.workspace,
                "codex_inline_edits": InlineEdits(self.workspace),
                "codex_jobs": self.jobs,
                "codex_extensions": self.extensions,
                "codex_proxy": self.proxy,
                "codex_max_body_bytes": self.max_body_bytes,
                "codex_browser_login_port": self.browser_login_port,
                "codex_allow_browser_sign_in": self.allow_browser_sign_in,
                "codex_proxy_enabled": self.proxy_enabled,
            }
        )

    def initialize_handlers(self) -> None:
        """Register every route under ``base_url`` (the table is ``handlers.all_handlers``)."""
        self.handlers.extend(all_handlers())

    def _make_app_server(self, target: str) -> AppServerManager:
        overrides, env = codex_settings(
            target,
            chatgpt_base_url=self.chatgpt_base_url,
            openai_base_url=self.openai_base_url,
            auth_base_url=self.auth_base_url,
            ca_certificate=self.ca_certificate,
            extra=self.codex_config_overrides,
        )
        return AppServerManager(
            parent=self,
            log=self.log,
            name=target,
            codex_home=str(Path(self.data_dir) / "targets" / target / "codex_home"),
            config_overrides=overrides,
            env=env,
        )

    # -- lifecycle -----------------------------------------------------------

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        deployment.export_server_location(serverapp)
        await self.started()

    async def started(self) -> None:
        """Finish start-up once (open the store, load sessions); safe to await often."""
        if self._started is None:
            self._started = single_flight(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.core.open()
        await self.workspace.start()
        wire_workspace(self.workspace)
        wire_turns(self.runtimes, self.workspace)
        await self.jobs.start()
        self.extensions.start()
        wire_server(self.events, runtimes=self.runtimes, app_servers=self.app_servers)
        self.terminal_home.export(self.app_servers["cli"].env)
        # Terminal codex goes through this server's proxy (``targets.TerminalHome``).
        route = deployment.client_route(self.serverapp)
        if route is not None:
            self.terminal_home.configure_proxy(*route)
        self.external_accounts = ExternalAccountChanges(
            self.core.database,
            self.core.accounts.list_accounts,
            self.events.on_external_account_change,
        )
        await self.external_accounts.start()
        await self.core.router.start()
        self._tasks.start_soon(self._warm_up_then_poll, name="warm-up")
        await self.runtimes["cli"].sync_terminal()
        self._tasks.start_soon(self.activity.run, name="activity")
        for idle in self.idle.values():
            idle.start()
        if self.demo_mode:
            self.log.warning("jupyter-codex: %s", deployment.DEMO_BANNER)
        self.log.info("jupyter-codex %s ready (data in %s)", __version__, self.data_dir)

    async def _api_account_id(self) -> str | None:
        account = await self.core.router.active("api")
        return account.id if account else None

    def _codex_busy(self) -> bool:
        """Work an app-server must stay up for: a turn, an approval or a tool call."""
        ws = self.workspace
        return ws.running_turns() > 0 or bool(ws.approvals.pending()) or ws.tools.in_flight > 0

    async def _warm_up_then_poll(self) -> None:
        await self.core.warm_up()
        await asyncio.to_thread(self.proxy.upstream.warm_up)
        self.core.scheduler.start()

    async def stop_extension(self) -> None:
        """Stop every app-server (TERM, then KILL), background work, and persist events."""
        # First the queue: a job whose turn dies with the app-server is "interrupted"
        # (found at the next start), not a failed attempt.
        await self.extensions.stop()
        await self.jobs.stop()
        await asyncio.gather(*(i.stop() for i in self.idle.values()))
        await asyncio.gather(*(s.stop() for s in self.app_servers.values()))
        if self.external_accounts is not None:
            await self.external_accounts.stop()
        await self._tasks.aclose()  # cancelled *and* awaited
        for runtime in self.runtimes.values():
            await runtime.aclose()
        await self.signins.aclose()
        await self.proxy.aclose()
        if self._started is not None and self._started.done():
            await self.workspace.stop()
            await self.core.close()
