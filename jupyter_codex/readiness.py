"""Readiness for probes (Kubernetes ``readinessProbe``, a load balancer, a CI smoke test).

Ready means the server can take work now: the store answers and no target's
app-server has been given up on (``dead``). A ``stopped`` app-server is ready (it
starts on the next request, e.g. after an idle shutdown): the probe never starts
one, so probing keeps an idle server idle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class _Server(Protocol):
    @property
    def state(self) -> str: ...


class _Sessions(Protocol):
    async def count(self) -> int: ...


async def readiness(sessions: _Sessions, servers: Mapping[str, _Server]) -> dict[str, Any]:
    """``{"ready": bool, "checks": {"store": {...}, "app_server.<target>": {...}}}``."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        await sessions.count()
        checks["store"] = {"ok": True}
    except Exception as e:  # noqa: BLE001 - any store failure makes the server not ready
        checks["store"] = {"ok": False, "error": type(e).__name__}
    for name, server in servers.items():
        state = server.state
        checks[f"app_server.{name}"] = {"ok": state != "dead", "state": state}
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


__all__ = ["readiness"]
