"""Loads the extensions an administrator enabled and keeps each one running.

Extensions are Python entry points in the group ``jupyter_codex.extensions``
(``name = "package.module:Class"``). Installing a package runs nothing: only the
names listed in ``ExtensionHost.enabled`` are loaded (the trust control). Each
runs as a task owned here, with a facade limited to the capabilities its class
declares; a crash is logged and the extension restarted with exponential
backoff, and the server never notices more than the log line.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from traitlets import Dict, Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..tasks import TaskOwner
from .facade import CAPABILITIES, ExtensionFacade, Jobs, Workspace

GROUP = "jupyter_codex.extensions"
#: The built-ins, also declared as entry points in pyproject.toml; listed here so an
#: editable install with stale metadata still finds them.
BUILTINS = {
    "approval_rules": "jupyter_codex.extensions.approval_rules:ApprovalRules",
    "retry_on_limit": "jupyter_codex.extensions.retry_on_limit:RetryOnLimit",
}


@dataclass
class ExtensionState:
    """What ``GET codex/api/extensions`` shows of one enabled extension."""

    name: str
    capabilities: list[str]
    state: str = "starting"  # running | restarting | stopped | failed_to_load
    restarts: int = 0
    last_error: str | None = None
    started_at: float | None = None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ExtensionHost(LoggingConfigurable):
    """Runs the enabled extensions, each as a supervised task."""

    enabled = List(
        Unicode(),
        config=True,
        help="Names of the extensions to run (entry points of the group "
        "'jupyter_codex.extensions', e.g. 'approval_rules'). Empty (default): none runs.",
    )
    extension_config = Dict(
        config=True,
        help="Per-extension settings, {name: {...}}, given to the extension as facade.config.",
    )
    restart_backoff = Float(
        1.0, config=True, help="Seconds before restarting a crashed extension; doubles each time."
    )
    max_restart_backoff = Float(60.0, config=True, help="Longest wait before a restart.")

    def __init__(self, *, workspace: Workspace, jobs: Jobs, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.jobs = jobs
        self.states: dict[str, ExtensionState] = {}
        self._tasks = TaskOwner("codex-extensions", self.log)

    def start(self) -> None:
        """Load and start every enabled extension (failures are logged, never raised)."""
        found = {ep.name: ep for ep in entry_points(group=GROUP)}
        for name in self.enabled:
            try:
                factory = found[name].load() if name in found else self._builtin(name)
                capabilities = frozenset(getattr(factory, "capabilities", ()))
                unknown = capabilities - CAPABILITIES
                if unknown:
                    raise ValueError(f"unknown capabilities {sorted(unknown)}")
            except Exception as e:  # noqa: BLE001 - a broken package must not stop the server
                self.log.error("Extension %s could not be loaded: %s", name, e)
                self.states[name] = ExtensionState(
                    name, [], state="failed_to_load", last_error=str(e)
                )
                continue
            self.states[name] = ExtensionState(name, sorted(capabilities))
            self._tasks.start_soon(
                self._supervise, name, factory, capabilities, name=f"codex-extension-{name}"
            )
            self.log.info("Extension %s started (capabilities: %s)", name, sorted(capabilities))

    async def stop(self) -> None:
        """Cancel every extension task and wait for it."""
        await self._tasks.aclose()
        for state in self.states.values():
            if state.state != "failed_to_load":
                state.state = "stopped"

    def _builtin(self, name: str) -> Any:
        if name not in BUILTINS:
            raise LookupError(f"no entry point {name!r} in the group {GROUP!r}")
        module, _, attr = BUILTINS[name].partition(":")
        return getattr(__import__(module, fromlist=[attr]), attr)

    async def _supervise(self, name: str, factory: Any, capabilities: frozenset[str]) -> None:
        state = self.states[name]
        backoff = self.restart_backoff
        while True:
            facade = ExtensionFacade(
                name,
                capabilities,
                workspace=self.workspace,
                jobs=self.jobs,
                log=self.log,
                config=self.extension_config.get(name) or {},
            )
            state.state, state.started_at = "running", time.time()
            try:
                await factory().run(facade)
                state.state = "stopped"
                self.log.info("Extension %s finished", name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the point of the host: log, back off, restart
                state.restarts += 1
                state.state, state.last_error = "restarting", f"{type(e).__name__}: {e}"
                self.log.exception("Extension %s crashed; restarting in %.1f s", name, backoff)
            finally:
                facade.close()
            if time.time() - (state.started_at or 0) > 10 * self.max_restart_backoff:
                backoff = self.restart_backoff  # it ran well for a long time: start over
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_restart_backoff)


__all__ = ["BUILTINS", "GROUP", "ExtensionHost", "ExtensionState"]
