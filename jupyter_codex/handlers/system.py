"""Operator routes: anonymous health, authenticated readiness and capabilities."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..capabilities import probe_capabilities
from ..errors import InvalidRequestError
from ..readiness import readiness
from .base import CodexAPIHandler


class HealthHandler(CodexAPIHandler):
    """``GET codex/api/health``: the one anonymous route; says only that the server is up."""

    @allow_unauthenticated
    def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadinessHandler(CodexAPIHandler):
    """``GET codex/api/ready``: 200 when the server can take work, else 503 (same body)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        answer = await readiness(self.workspace.sessions, self.workspace.app_servers)
        self.write_json(answer, status=200 if answer["ready"] else 503)


class CapabilitiesHandler(CodexAPIHandler):
    """``GET codex/api/capabilities?target=cli``: app-server methods the runtime exposes."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        target = self.get_argument("target", "cli")
        servers = self.workspace.app_servers
        if target not in servers:
            raise InvalidRequestError(f"Unknown target {target!r}; use one of {sorted(servers)}.")
        server = servers[target]
        found = await probe_capabilities(server)
        self.write_json({"target": target, "user_agent": server.info()["user_agent"], **found})


def system_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the operator routes."""
    return [
        (r"codex/api/health", HealthHandler),
        (r"codex/api/ready", ReadinessHandler),
        (r"codex/api/capabilities", CapabilitiesHandler),
    ]


__all__ = ["system_handlers"]
