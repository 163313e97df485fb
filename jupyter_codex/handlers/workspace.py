"""REST handlers of the workspace: sessions, messages, stop, events, approvals, status."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import (
    ApprovalDecision,
    ForkRequest,
    ImageUpload,
    MessageCreate,
    SessionCreate,
    SessionUpdate,
    StopRequest,
)
from .base import CodexAPIHandler

_ID = r"(?P<{name}>[A-Za-z0-9_-]{{1,64}})"


class StatusHandler(CodexAPIHandler):
    """Health: versions, app-server state per target, auth readiness."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.status.status())


class SessionsHandler(CodexAPIHandler):
    """List and create sessions."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        archived = self.get_argument("archived", "false").lower() in ("1", "true", "yes")
        system = self.get_argument("system", "false").lower() in ("1", "true", "yes")
        sessions = await self.workspace.list_sessions(
            include_archived=archived, include_system=system
        )
        self.write_json({"sessions": [s.model_dump() for s in sessions]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(SessionCreate)
        session = await self.workspace.create_session(body)
        self.write_json(session.model_dump(), status=201)


class SessionHandler(CodexAPIHandler):
    """Read, update (rename/archive) and delete one session."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        self.write_json((await self.workspace.get_session(session_id)).model_dump())

    @web.authenticated
    @authorized
    async def patch(self, session_id: str) -> None:
        body = self.parse_body(SessionUpdate)
        self.write_json((await self.workspace.update_session(session_id, body)).model_dump())

    @web.authenticated
    @authorized
    async def delete(self, session_id: str) -> None:
        await self.workspace.delete_session(session_id)
        self.set_status(204)
        self.finish()


class MessagesHandler(CodexAPIHandler):
    """Send a message (start a turn) or a slash command."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(MessageCreate)
        if body.when_busy == "queue":
            answer = await self.jobs.send_or_queue(session_id, body.text, body.images)
            self.write_json(answer, status=202)
            return
        answer = await self.workspace.send_message(session_id, body.text, body.images)
        self.write_json(answer, status=202)


class ImagesHandler(CodexAPIHandler):
    """Store an image for a later message of the session."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(ImageUpload)
        await self.workspace.get_session(session_id)
        self.write_json(self.workspace.images.save(session_id, body.data), status=201)


class ImageHandler(CodexAPIHandler):
    """One stored image (thumbnails in the user's bubble)."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str, image_id: str) -> None:
        path = self.workspace.images.path(session_id, image_id)
        self.set_header("Content-Type", self.workspace.images.mime_of(path))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=86400")
        # APIHandler.finish would relabel the bytes as JSON.
        web.RequestHandler.finish(self, path.read_bytes())


class SteerHandler(CodexAPIHandler):
    """Add a message to the running turn (``turn/steer``) instead of waiting for it."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(MessageCreate)
        items = [{"type": "text", "text": body.text, "text_elements": []}]
        self.write_json(await self.workspace.actions.steer(session_id, items), status=202)


class CompactHandler(CodexAPIHandler):
    """Compact the conversation (``thread/compact/start``)."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        self.write_json(await self.workspace.actions.compact(session_id), status=202)


class ForkHandler(CodexAPIHandler):
    """A new session that continues from a copy of this one's conversation."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(ForkRequest)
        session = await self.workspace.actions.fork(
            session_id, turn_id=body.turn_id, title=body.title
        )
        self.write_json(session.model_dump(), status=201)


class UndoHandler(CodexAPIHandler):
    """Undo the last turn: its file changes and its place in the conversation."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        self.write_json(await self.workspace.actions.undo(session_id))


class StopHandler(CodexAPIHandler):
    """Stop (interrupt) or Force Stop the running turn."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(StopRequest)
        self.write_json(await self.workspace.stop_turn(session_id, force=body.force))


class EventsHandler(CodexAPIHandler):
    """Replay a session's events after a sequence number."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        after = self.int_argument("after", 0)
        limit = self.int_argument("limit", 0) or None
        bodies = await self.workspace.replay(session_id, after, limit)
        # Bodies are stored as JSON already: join them instead of re-encoding.
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish('{"events":[' + ",".join(bodies) + "]}")


class SkillsHandler(CodexAPIHandler):
    """Skills available in a session's folder (for the ``$skill`` picker)."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        session = await self.workspace.get_session(session_id)
        self.write_json({"skills": await self.workspace.commands.list_skills(session)})


class LimitsHandler(CodexAPIHandler):
    """What sessions may be set to on this server (``SessionLimits``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.workspace.limits.describe())


class ApprovalsHandler(CodexAPIHandler):
    """Pending approvals of every session."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        session_id = self.get_argument("session_id", None)
        pending = self.workspace.approvals.pending(session_id)
        self.write_json({"approvals": [a.model_dump() for a in pending]})


class ApprovalHandler(CodexAPIHandler):
    """Read (pending or expired) and decide one approval."""

    @web.authenticated
    @authorized
    async def get(self, approval_id: str) -> None:
        self.write_json(self.workspace.approvals.state(approval_id))

    @web.authenticated
    @authorized
    async def post(self, approval_id: str) -> None:
        body = self.parse_body(ApprovalDecision)
        extra: dict[str, Any] = {}
        if body.answers is not None:
            extra["answers"] = body.answers
        if body.content is not None:
            extra["content"] = body.content
        approval = self.workspace.approvals.resolve(approval_id, body.decision, extra or None)
        self.write_json({"id": approval.id, "decision": body.decision})


class NotFoundAPIHandler(CodexAPIHandler):
    """JSON 404 for every other ``codex/api/...`` path (instead of an HTML page)."""

    @web.authenticated
    def get(self) -> None:
        raise web.HTTPError(404, f"No such codex API route: {self.request.path}")

    post = patch = put = delete = get


def workspace_handlers() -> list[tuple[str, type]]:
    """URL patterns (relative to ``base_url``) of the workspace REST API."""
    sid = _ID.format(name="session_id")
    aid = _ID.format(name="approval_id")
    iid = _ID.format(name="image_id")
    return [
        (r"codex/api/status", StatusHandler),
        (r"codex/api/sessions", SessionsHandler),
        (rf"codex/api/sessions/{sid}", SessionHandler),
        (rf"codex/api/sessions/{sid}/messages", MessagesHandler),
        (rf"codex/api/sessions/{sid}/stop", StopHandler),
        (rf"codex/api/sessions/{sid}/steer", SteerHandler),
        (rf"codex/api/sessions/{sid}/images", ImagesHandler),
        (rf"codex/api/sessions/{sid}/images/{iid}", ImageHandler),
        (rf"codex/api/sessions/{sid}/compact", CompactHandler),
        (rf"codex/api/sessions/{sid}/fork", ForkHandler),
        (rf"codex/api/sessions/{sid}/undo", UndoHandler),
        (rf"codex/api/sessions/{sid}/events", EventsHandler),
        (rf"codex/api/sessions/{sid}/skills", SkillsHandler),
        (r"codex/api/limits", LimitsHandler),
        (r"codex/api/approvals", ApprovalsHandler),
        (rf"codex/api/approvals/{aid}", ApprovalHandler),
    ]


def fallback_handlers() -> list[tuple[str, type]]:
    """Registered last: JSON 404s under ``codex/api/``."""
    return [(r"codex/api/.*", NotFoundAPIHandler)]


__all__ = ["workspace_handlers"]
