"""The status service behind ``GET codex/api/status``: versions, app-servers, auth, limits.

It reads the other services and changes nothing; it never starts an
app-server just to ask it something.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import __version__, deployment
from .errors import CodexError
from .models import TARGETS, Target

if TYPE_CHECKING:
    from .core import CodexCore
    from .proxy.service import ProxyService
    from .supervisor import AppServerManager, IdleShutdown
    from .targets import TargetRuntime
    from .workspace import WorkspaceManager


class StatusService:
    """Answer ``GET codex/api/status``.

    Parameters
    ----------
    started
        Awaited first: the extension finishes starting before status answers.
    deployment_options
        The administrator's choices shown in status: ``demo_mode``,
        ``default_sign_in``, ``allow_browser_sign_in``, ``proxy_enabled``,
        ``max_body_bytes``.
    """

    def __init__(
        self,
        *,
        started: Callable[[], Awaitable[None]],
        data_dir: str,
        core: CodexCore,
        workspace: WorkspaceManager,
        proxy: ProxyService,
        app_servers: Mapping[str, AppServerManager],
        runtimes: Mapping[str, TargetRuntime],
        idle: Mapping[str, IdleShutdown],
        deployment_options: Mapping[str, Any],
    ) -> None:
        self._started = started
        self.data_dir = data_dir
        self.core = core
        self.workspace = workspace
        self.proxy = proxy
        self.app_servers = app_servers
        self.runtimes = runtimes
        self.idle = idle
        self.options = dict(deployment_options)

    async def status(self) -> dict[str, Any]:
        """Versions, app-servers per target, auth readiness, sessions, deployment."""
        await self._started()
        targets: dict[str, Any] = {}
        for name, server in self.app_servers.items():
            info = server.info()
            info["auth"] = await self._auth_status(server, name)
            info["account_id"] = self.runtimes[name].signed_in_as
            info["idle_shutdown"] = self.idle[name].info()
            targets[name] = info
        for name in TARGETS:
            active = await self.core.router.active(name)
            targets.setdefault(name, {"name": name, "state": "not_used"})
            targets[name]["active_account"] = (
                {"id": active.id, "label": active.label, "email": active.email} if active else None
            )
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
            "store": self.workspace.events.health(),
            **self._deployment_status(),
        }

    def _deployment_status(self) -> dict[str, Any]:
        """Hub, demo mode, sign-in flows and the administrator's defaults and limits."""
        ws, options = self.workspace, self.options
        return deployment.deployment_status(
            hub=deployment.under_jupyterhub(),
            demo_mode=options["demo_mode"],
            default_sign_in=options["default_sign_in"],
            allow_browser_sign_in=options["allow_browser_sign_in"],
            proxy_enabled=options["proxy_enabled"],
            defaults={
                "model": ws.default_model or None,
                "effort": ws.default_effort or None,
                "approval_policy": ws.default_approval_policy,
                "sandbox": ws.default_sandbox,
                "allowed_folders": list(ws.allowed_folders),
                "proxy_models": self.proxy.model_ids(),
            },
            limits={
                "max_sessions": ws.max_sessions,
                "max_concurrent_turns": ws.max_concurrent_turns,
                "max_events_per_session": ws.max_events_per_session,
                "max_body_bytes": options["max_body_bytes"],
            },
        )

    async def _auth_status(self, server: AppServerManager, target: str) -> dict[str, Any]:
        """What the app-server will sign in with, without starting it just to ask: the
        router's account for the target (signed in at start), else ``OPENAI_API_KEY``,
        else an ``auth.json`` in its CODEX_HOME."""
        if server.state != "running":
            active = await self.core.router.active(cast(Target, target))
            if active is not None and active.status == "active":
                kind = "chatgpt" if active.kind == "chatgpt" else "apiKey"  # codex's names
                return {"ready": True, "source": "router", "type": kind}
            if server.env.get("OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY"):
                return {"ready": True, "source": "OPENAI_API_KEY", "type": "apiKey"}
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


__all__ = ["StatusService"]
