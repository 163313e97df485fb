"""``POST codex/api/sessions/{id}/review``: a codex review (``review/start``) with a target."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import ReviewStart
from .base import CodexAPIHandler


class ReviewHandler(CodexAPIHandler):
    """Start a review turn: the uncommitted changes, a base branch, a commit, or custom."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.parse_body(ReviewStart)
        answer = await self.workspace.commands.review(session_id, body.target())
        self.write_json(answer, status=202)


def review_handlers() -> list[tuple[str, type]]:
    """URL pattern (relative to ``base_url``) of the review route."""
    return [(r"codex/api/sessions/(?P<session_id>[A-Za-z0-9_-]{1,64})/review", ReviewHandler)]


__all__ = ["review_handlers"]
