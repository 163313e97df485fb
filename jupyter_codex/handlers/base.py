"""The one handler base: typed access to services, body parsing, error mapping.

One typed accessor per service (``self.workspace``, ``self.core``,
``self.proxy``...), each reading what ``app.py`` put in ``web_app.settings``.

Every REST handler subclasses :class:`CodexAPIHandler`. Services raise
:class:`~jupyter_codex.errors.CodexError`; this is the only place where those
become HTTP statuses and ``{"error": {...}}`` bodies.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ..errors import CodexError, InvalidRequestError
from ..workspace import WorkspaceManager
from .bodies import BoundedBodyMixin, loads_json
from .redaction import RedactedLogMixin

if TYPE_CHECKING:
    from ..accounts.signin import SignInFlows
    from ..core import CodexCore
    from ..extensions.host import ExtensionHost
    from ..proxy.service import ProxyService
    from ..status import StatusService
    from ..targets import TerminalHome
    from ..workspace.inline import InlineEdits
    from ..workspace.jobs import JobQueue

M = TypeVar("M", bound=BaseModel)

#: Resource name for Jupyter's authorizer (``is_authorized(handler, user, action, "codex")``).
AUTH_RESOURCE = "codex"


class CodexServices:
    """One typed accessor per service, for every handler (REST, WebSocket, proxy).

    Each reads what ``app.py`` put into the Tornado application's settings.
    """

    settings: dict[str, Any]

    @property
    def started(self) -> Callable[[], Awaitable[None]]:
        """Await it to know the extension has finished starting."""
        return cast("Callable[[], Awaitable[None]]", self.settings["codex_started"])

    @property
    def workspace(self) -> WorkspaceManager:
        return cast(WorkspaceManager, self.settings["codex_workspace"])

    @property
    def core(self) -> CodexCore:
        """Accounts, router, usage store and scheduler, system log."""
        return cast("CodexCore", self.settings["codex_core"])

    @property
    def signins(self) -> SignInFlows:
        return cast("SignInFlows", self.settings["codex_signins"])

    @property
    def proxy(self) -> ProxyService:
        return cast("ProxyService", self.settings["codex_proxy"])

    @property
    def jobs(self) -> JobQueue:
        """The durable job queue (``when_busy: queue`` and ``codex/api/jobs``)."""
        return cast("JobQueue", self.settings["codex_jobs"])

    @property
    def extensions(self) -> ExtensionHost:
        return cast("ExtensionHost", self.settings["codex_extensions"])

    @property
    def inline_edits(self) -> InlineEdits:
        """Rewrites of a cell or selection (``%codex`` inline edit)."""
        return cast("InlineEdits", self.settings["codex_inline_edits"])

    @property
    def status(self) -> StatusService:
        return cast("StatusService", self.settings["codex_status"])

    @property
    def terminal_home(self) -> TerminalHome:
        """The CODEX_HOME that terminals' codex uses."""
        return cast("TerminalHome", self.settings["codex_terminal_home"])


class CodexAPIHandler(CodexServices, RedactedLogMixin, BoundedBodyMixin, APIHandler):
    """Base of the ``codex/api/*`` REST handlers (bodies streamed in, bounded)."""

    auth_resource = AUTH_RESOURCE

    async def prepare(self) -> None:  # type: ignore[override]
        await self.prepare_bounded(self._prepare)

    async def _prepare(self) -> None:
        await super().prepare()
        if self.current_user is not None:
            # The extension finishes starting on the loop; never serve before that.
            await self.started()

    def body_limit(self) -> int:
        return int(self.settings.get("codex_max_body_bytes", 4 * 1024 * 1024))

    # -- bodies --------------------------------------------------------------

    def parse_body(self, model: type[M]) -> M:
        """Validate the JSON body against ``model`` (400/413 with a readable message)."""
        body = self.body_bytes()
        data: Any = loads_json(body) if body.strip() else {}
        if not isinstance(data, dict):
            raise InvalidRequestError("The request body must be a JSON object.")
        try:
            return model.model_validate(data)
        except ValidationError as e:
            problems = [
                {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
                for err in e.errors(include_input=False, include_url=False)
            ]
            summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            raise InvalidRequestError(f"Invalid request body: {summary}", fields=problems) from e

    def int_argument(self, name: str, default: int) -> int:
        """An integer query argument (400 if it is not one)."""
        raw = self.get_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError as e:
            raise InvalidRequestError(f"Query argument {name!r} must be an integer.") from e
        if not -(2**63) <= value < 2**63:  # SQLite's integer range
            raise InvalidRequestError(f"Query argument {name!r} is out of range.")
        return value

    def write_json(self, data: Any, status: int = 200) -> None:
        """Answer with a JSON document."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, default=str))

    # -- errors --------------------------------------------------------------

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Client mistakes are not server errors: log them briefly."""
        if isinstance(value, CodexError) and value.status_code < 500:
            self.log.info(
                "%s %s -> %s: %s",
                self.request.method,
                self.request.path,
                value.status_code,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render every error as ``{"error": {"code", "message"}}``."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CodexError):
            self.set_status(exc.status_code)
            body = exc.to_json()
        elif isinstance(exc, web.HTTPError):
            body = {
                "error": {
                    "code": f"http_{exc.status_code}",
                    "message": exc.log_message or self._reason,
                }
            }
        else:
            body = {
                "error": {
                    "code": "internal_error",
                    "message": "Internal error; see the Jupyter server log.",
                }
            }
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body))
