"""Who listens to what: every listener, hook and handler registration in one place.

The composition roots build the objects (``core.py`` for the server-free
managers, ``app.py`` for the extension, ``cli.py`` for ``jupyter codex``) and
then call these functions, so reading this file tells the whole event flow:

* :func:`wire_core`: accounts → quarantine record; usage polls → router;
  router switches and alerts → the notify command;
* :func:`wire_target`: each target's app-server → sign in on start, answer
  token refreshes; router switches → re-sign the running process;
* :func:`wire_workspace`: each app-server's notifications and lifecycle → the
  workspace's live turns (the session event log); its approval requests → the
  approval book; its dynamic tool calls → the tool router;
* :func:`wire_idle`: an app-server's notifications and (re)starts → its idle
  shutdown watcher (activity);
* :func:`wire_server`: account, switch and alert events → the browser's event
  stream; each app-server's live usage notifications → the usage store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .targets import REFRESH_METHOD
from .tasks import TaskOwner
from .workspace.approvals import APPROVAL_METHODS
from .workspace.tools import TOOL_CALL_METHOD

if TYPE_CHECKING:
    import logging

    from .core import CodexCore
    from .supervisor import AppServerManager, IdleShutdown
    from .targets import TargetRuntime, TerminalHome
    from .workspace import WorkspaceManager


def wire_core(core: CodexCore) -> None:
    """Listeners among the server-free managers (the extension and the CLI)."""
    core.accounts.add_listener(core.on_account_event)
    core.scheduler.add_listener(core.router.on_usage)
    core.router.add_switch_listener(core.notifier.on_switch)
    core.router.add_alert_listener(core.notifier.on_alert)


def wire_target(runtime: TargetRuntime) -> None:
    """A target's app-server signs in as its active account; call before it first starts."""
    runtime.app_server.add_start_hook(runtime.sign_in)
    runtime.app_server.set_server_request_handler(REFRESH_METHOD, runtime.refresh_tokens)
    runtime.router.add_switch_listener(runtime.on_switch)


def wire_workspace(workspace: WorkspaceManager) -> None:
    """The workspace hears its app-servers; call before any of them starts."""
    for target, server in workspace.app_servers.items():
        server.add_notification_listener(workspace.live.on_notification)
        server.add_lifecycle_listener(workspace.live.lifecycle_listener(target))
        for method in APPROVAL_METHODS:
            server.set_server_request_handler(method, workspace.approval_requests.handler(method))
        server.set_server_request_handler(TOOL_CALL_METHOD, workspace.tools.call)


def wire_turns(runtimes: Mapping[str, TargetRuntime], workspace: WorkspaceManager) -> None:
    """A target's account switch waits for the workspace's turns on its codex."""
    for target, runtime in runtimes.items():
        runtime.watch_turns(functools.partial(workspace.live.turns_running_on, target))


def wire_idle(idle: IdleShutdown, server: AppServerManager) -> None:
    """The idle watcher of ``server`` counts its notifications and starts as activity."""
    server.add_notification_listener(idle.on_notification)
    server.add_lifecycle_listener(idle.on_lifecycle)


class ServerEvents:
    """The extension's reactions to account and usage events (the event glue).

    Background work it starts (live-usage ingestion, terminal auth.json syncs)
    runs on the task owner it is given, which the extension closes on stop.
    """

    def __init__(
        self,
        *,
        core: CodexCore,
        workspace: WorkspaceManager,
        runtimes: Mapping[str, TargetRuntime],
        terminal_home: TerminalHome,
        tasks: TaskOwner,
        log: logging.Logger,
    ) -> None:
        self.core = core
        self.workspace = workspace
        self.runtimes = runtimes
        self.terminal_home = terminal_home
        self.tasks = tasks
        self.log = log

    def on_account_event(self, kind: str, account_id: str) -> None:
        """Keep the terminal auth.json current after we rotate its account's tokens;
        tell browsers that an account changed."""
        if kind == "refreshed" and self.terminal_home.account_id == account_id:
            self.tasks.start_soon(self.runtimes["cli"].sync_terminal, name="sync-terminal")
        if kind in ("quarantined", "added", "removed", "updated"):
            self.workspace.publish_system(
                "account.changed", {"kind": kind, "account_id": account_id}
            )
        if kind == "added":
            # A device-code sign-in ends here: the first account becomes active now,
            # not at the next usage poll.
            self.tasks.start_soon(self.core.router.on_usage, "account added", name="account-added")

    async def on_external_account_change(self, kind: str, account_id: str) -> None:
        """An account changed from another process (``jupyter codex accounts …``): tell
        clients as for our own changes, and let the targets pick it up now."""
        self.on_account_event(kind, account_id)
        await self.core.router.on_usage(f"account {kind} elsewhere")

    def announce_switch(
        self, target: str, from_id: str | None, to_id: str | None, reason: str
    ) -> None:
        """A target switched accounts: log it and tell browsers."""
        self.log.info("Account switch on %s: %s -> %s (%s)", target, from_id, to_id, reason)
        self.workspace.publish_system(
            "account.switched", {"target": target, "from": from_id, "to": to_id, "reason": reason}
        )

    def announce_alert(self, target: str, account_id: str | None, kind: str, message: str) -> None:
        """A usage alert: log it and tell browsers."""
        self.log.warning("Usage alert on %s: %s", target, message)
        self.workspace.publish_system(
            "usage.alert",
            {"target": target, "account_id": account_id, "kind": kind, "message": message},
        )

    def live_usage(self, target: str) -> Callable[[str, dict[str, Any]], None]:
        """Feed ``account/rateLimits/updated`` of a target's codex into the usage store."""
        runtime = self.runtimes[target]

        def listener(method: str, params: dict[str, Any]) -> None:
            if method == "account/rateLimits/updated" and runtime.signed_in_as:
                self.tasks.start_soon(
                    self.core.scheduler.ingest_app_server,
                    runtime.signed_in_as,
                    params.get("rateLimits") or {},
                    name="live-usage",
                )

        return listener


def wire_server(
    events: ServerEvents,
    *,
    runtimes: Mapping[str, TargetRuntime],
    app_servers: Mapping[str, AppServerManager],
) -> None:
    """The extension's listeners; call once the store is open, before servers start."""
    for runtime in runtimes.values():
        wire_target(runtime)
    events.core.accounts.add_listener(events.on_account_event)
    events.core.router.add_switch_listener(events.announce_switch)
    events.core.router.add_alert_listener(events.announce_alert)
    for target, server in app_servers.items():
        server.add_notification_listener(events.live_usage(target))


__all__ = [
    "ServerEvents",
    "wire_core",
    "wire_idle",
    "wire_server",
    "wire_target",
    "wire_turns",
    "wire_workspace",
]
