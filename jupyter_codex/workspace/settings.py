"""What a session may do: sandbox, approval policy and network access.

A user picks these per session (the new-session form, the settings menu, PATCH);
an administrator caps what may be picked with :class:`SessionLimits`. The picked
values reach Codex as overrides on every ``turn/start`` (verified with the real
binary: ``sandboxPolicy`` and ``approvalPolicy`` on ``turn/start`` change the
permission profile and the approval policy the model is told about in that very
turn, and persist for later turns), so a change applies to the next turn without
restarting or re-resuming anything.
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Enum, List, Unicode
from traitlets.config import LoggingConfigurable

from ..errors import InvalidRequestError
from ..models import Session

#: Sandboxes from the most to the least confined.
SANDBOXES = ("read-only", "workspace-write", "danger-full-access")
APPROVAL_POLICIES = ("untrusted", "on-request", "never")


class SessionLimits(LoggingConfigurable):
    """Administrator limits on the settings users may give their sessions.

    The defaults allow every setting Codex has; tighten them in
    ``jupyter_server_config.py``, e.g. ``c.SessionLimits.max_sandbox = "workspace-write"``.
    A request beyond a limit gets 400 with the limit's name, never a silent downgrade.
    """

    max_sandbox = Enum(
        list(SANDBOXES),
        "danger-full-access",
        config=True,
        help="Least confined sandbox a session may use (read-only < workspace-write < "
        "danger-full-access). Default: any.",
    )
    allowed_approval_policies = List(
        Unicode(),
        list(APPROVAL_POLICIES),
        config=True,
        help="Approval policies a session may use. Drop 'never' to make sure a human "
        "is always asked before anything leaves the sandbox. Default: all.",
    )
    allow_network_access = Bool(
        True,
        config=True,
        help="Whether a session may turn on network access for sandboxed commands "
        "(it is off unless the user turns it on). Default: allowed.",
    )

    def check(
        self,
        *,
        sandbox: str | None = None,
        approval_policy: str | None = None,
        network_access: bool | None = None,
    ) -> None:
        """Raise :class:`InvalidRequestError` for a setting beyond the limits."""
        if sandbox is not None and SANDBOXES.index(sandbox) > SANDBOXES.index(self.max_sandbox):
            raise InvalidRequestError(
                f"Sandbox {sandbox!r} is not allowed on this server: the administrator "
                f"allows at most {self.max_sandbox!r} (SessionLimits.max_sandbox)."
            )
        if approval_policy is not None and approval_policy not in self.allowed_approval_policies:
            allowed = ", ".join(repr(p) for p in self.allowed_approval_policies) or "none"
            raise InvalidRequestError(
                f"Approval policy {approval_policy!r} is not allowed on this server; "
                f"allowed: {allowed} (SessionLimits.allowed_approval_policies)."
            )
        if network_access and not self.allow_network_access:
            raise InvalidRequestError(
                "Network access is not allowed on this server "
                "(SessionLimits.allow_network_access is off)."
            )

    def describe(self) -> dict[str, Any]:
        """The limits, for clients that grey out what may not be chosen."""
        allowed = SANDBOXES[: SANDBOXES.index(self.max_sandbox) + 1]
        return {
            "sandboxes": list(allowed),
            "approval_policies": list(self.allowed_approval_policies),
            "network_access": self.allow_network_access,
        }


def sandbox_policy(sandbox: str, network_access: bool) -> dict[str, Any]:
    """The ``turn/start`` ``sandboxPolicy`` for a session's kebab-case sandbox mode."""
    if sandbox == "read-only":
        return {"type": "readOnly", "networkAccess": network_access}
    if sandbox == "danger-full-access":
        return {"type": "dangerFullAccess"}
    return {
        "type": "workspaceWrite",
        "writableRoots": [],  # the thread's cwd stays writable; no extra roots
        "networkAccess": network_access,
        "excludeTmpdirEnvVar": False,
        "excludeSlashTmp": False,
    }


def turn_overrides(session: Session) -> dict[str, Any]:
    """``turn/start`` parameters that apply the session's settings to this turn."""
    params: dict[str, Any] = {
        "approvalPolicy": session.approval_policy,
        "sandboxPolicy": sandbox_policy(session.sandbox, session.network_access),
    }
    if session.model:
        params["model"] = session.model
    if session.effort:
        params["effort"] = session.effort
    return params


__all__ = ["SessionLimits", "sandbox_policy", "turn_overrides"]
