"""Slash commands (``/status``, ``/review``, ``/new``, ``/model``) and ``$skill`` inputs.

They behave like the Codex CLI's: typed into the same message box, answered
in the session's event stream, so every client gets them for free.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from ..errors import AppServerError, InvalidRequestError
from ..models import SessionCreate
from ..paths import resolve_folder

if TYPE_CHECKING:
    from ..models import Session
    from .manager import WorkspaceManager

_SLASH = re.compile(r"^/([a-z][a-z-]*)(?:\s+(.*))?$", re.DOTALL)
_SKILL_REF = re.compile(r"\$([A-Za-z0-9][\w.-]*)")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

COMMANDS: dict[str, str] = {
    "status": "Show the account, model, usage, token counts and folder of this session.",
    "review": "Ask Codex to review the uncommitted changes (or: /review <instructions>).",
    "new": "Start a new session in the same folder with the same settings.",
    "model": "Show or set the model and reasoning effort: /model <name> [effort].",
}


def parse_slash(text: str) -> tuple[str, str] | None:
    """``("status", "")`` for ``"/status"``; None for ordinary messages (and paths)."""
    match = _SLASH.match(text.strip())
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


class SlashCommands:
    """Runs slash commands against one workspace."""

    _SKILL_TTL = 60.0

    def __init__(self, workspace: WorkspaceManager) -> None:
        self._ws = workspace
        self._skills: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def run(self, session_id: str, name: str, args: str) -> dict[str, Any]:
        """Run ``/name args`` in a session and return the REST answer."""
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            known = ", ".join(f"/{c}" for c in COMMANDS)
            raise InvalidRequestError(f"Unknown command /{name}. Available: {known}.")
        result: dict[str, Any] = await handler(session_id, args)
        return {"command": name, **result}

    async def _cmd_status(self, session_id: str, args: str) -> dict[str, Any]:
        ws = self._ws
        session = await ws.get_session(session_id)
        # The session's own target: an agent-mode (api) session reports the api account.
        server = ws.server(session.target)
        account: dict[str, Any] | None = None
        usage: dict[str, Any] | None = ws.live.rate_limits
        try:
            await server.ensure_started()
            account = (await server.request("account/read", {}, timeout=10)).get("account")
        except AppServerError as e:
            account = {"error": e.message}
        if account and account.get("type") == "chatgpt":
            try:
                limits = await server.request("account/rateLimits/read", None, timeout=15)
                usage = limits.get("rateLimits") or usage
            except AppServerError as e:
                ws.log.info("rate limits unavailable for /status: %s", e)
        runtime = ws.live.runtime_of(session_id)
        status = {
            "account": account,
            "model": session.model,
            "effort": session.effort,
            "cwd": session.cwd,
            "approval_policy": session.approval_policy,
            "sandbox": session.sandbox,
            "thread_id": session.thread_id,
            "target": session.target,
            "network_access": session.network_access,
            "usage": usage,
            "token_usage": runtime.token_usage,
            "app_server": server.info(),
        }
        ws.events.append(session_id, "status", status)
        return {"status": status}

    async def _cmd_review(self, session_id: str, args: str) -> dict[str, Any]:
        target = (
            {"type": "custom", "instructions": args} if args else {"type": "uncommittedChanges"}
        )
        return await self.review(session_id, target)

    async def review(self, session_id: str, target: dict[str, Any]) -> dict[str, Any]:
        """Start a ``review/start`` turn (inline) on a codex review target:
        ``uncommittedChanges``, ``baseBranch {branch}``, ``commit {sha}`` or
        ``custom {instructions}``."""
        ws = self._ws
        async with ws._lock(session_id):
            session = await ws.sessions.get(session_id)
            ws._check_idle(session_id)
            return await ws.start_turn(
                session, "review/start", {"target": target, "delivery": "inline"}
            )

    async def _cmd_new(self, session_id: str, args: str) -> dict[str, Any]:
        ws = self._ws
        old = await ws.sessions.get(session_id)
        new = await ws.create_session(
            SessionCreate.model_validate(
                {
                    "cwd": old.cwd,
                    "model": old.model,
                    "effort": old.effort,
                    "approval_policy": old.approval_policy,
                    "sandbox": old.sandbox,
                    "title": args or None,
                }
            )
        )
        ws.events.append(session_id, "session.forked", {"new_session_id": new.id})
        return {"session": new.model_dump()}

    async def _cmd_model(self, session_id: str, args: str) -> dict[str, Any]:
        ws = self._ws
        parts = args.split()
        if not parts:
            session = await ws.sessions.get(session_id)
            models: list[Any] = []
            try:
                server = ws.server(session.target)
                await server.ensure_started()
                models = (await server.request("model/list", {}, timeout=15)).get("data") or []
            except AppServerError as e:
                ws.log.info("model/list failed: %s", e)
            return {"model": session.model, "effort": session.effort, "models": models}
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in _EFFORTS):
            raise InvalidRequestError(f"Usage: /model <name> [{'|'.join(_EFFORTS)}]")
        changes: dict[str, Any] = {"model": parts[0], "updated_at": time.time()}
        if len(parts) == 2:
            changes["effort"] = parts[1]
        await ws.sessions.update(session_id, **changes)
        session = await ws.sessions.get(session_id)
        ws.events.append(session_id, "session.updated", ws._public(session))
        return {"model": session.model, "effort": session.effort}

    # -- skills --------------------------------------------------------------

    async def list_skills(self, session: Session) -> list[dict[str, Any]]:
        """Skills Codex offers in the session's folder (cached for a minute)."""
        folder, _ = resolve_folder(self._ws.root_dir, session.cwd)
        key = f"{session.target}:{folder}"
        cached = self._skills.get(key)
        if cached and time.monotonic() - cached[0] < self._SKILL_TTL:
            return cached[1]
        server = self._ws.server(session.target)
        await server.ensure_started()
        result = await server.request("skills/list", {"cwds": [str(folder)]}, timeout=30)
        skills: list[dict[str, Any]] = []
        for entry in result.get("data") or []:
            for skill in entry.get("skills") or []:
                if skill.get("enabled", True):
                    skills.append(
                        {
                            "name": skill.get("name"),
                            "description": skill.get("shortDescription")
                            or skill.get("description"),
                            "path": skill.get("path"),
                            "scope": skill.get("scope"),
                        }
                    )
        self._skills[key] = (time.monotonic(), skills)
        return skills

    async def skill_inputs(self, session: Session, text: str) -> list[dict[str, Any]]:
        """``skill`` input items for each ``$name`` in the text that names a skill."""
        names = set(_SKILL_REF.findall(text))
        if not names:
            return []
        try:
            skills = await self.list_skills(session)
        except AppServerError as e:
            self._ws.log.info("skills/list failed, sending $refs as text: %s", e)
            return []
        return [
            {"type": "skill", "name": s["name"], "path": s["path"]}
            for s in skills
            if s["name"] in names and s.get("path")
        ]
