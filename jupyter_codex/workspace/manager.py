"""Workspace sessions: persistent Codex threads with a live, replayable event log.

One app-server process serves every session of a target; a session is a row in
SQLite plus a Codex thread. The thread is (re)attached lazily with
``thread/resume`` whenever the process that knew it is gone (restart, crash,
Jupyter server restart), so a session always accepts the next message.

Why this module is long: the session lifecycle API (create, attach, turn, stop,
archive) of one class with its documented traits (~65 lines); commands, events,
approval requests, thread actions and tools already live beside it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from traitlets import Enum, Float, Instance, Int, List, Unicode, observe
from traitlets.config import LoggingConfigurable

from ..config import default_data_dir
from ..errors import AppServerError, ConflictError, InvalidRequestError, TooManyTurnsError
from ..models import Session, SessionCreate, SessionUpdate, Target
from ..paths import check_allowed_folder, resolve_folder
from ..store import Database, EventRepository, SessionRepository
from ..supervisor import AppServerManager
from .approval_requests import ApprovalRequests
from .approvals import ApprovalBook
from .commands import SlashCommands, parse_slash
from .eventlog import EventBroker, EventLog
from .history import ThreadActions
from .images import ImageStore
from .live import LiveTurns
from .notebook_cells import TOOL_SPECS as NOTEBOOK_TOOLS
from .notebooks import NotebookTools
from .progress import ToolProgressEvents
from .recovery import SHUTDOWN_APPROVAL_MESSAGE, close_interrupted
from .settings import SessionLimits, turn_overrides
from .tools import ToolRouter

#: Broker channel of events that belong to no session.
SYSTEM_CHANNEL = "_system"


class AccountGate(Protocol):
    """A target's account sign-in as the workspace sees it: a turn waits for a re-login
    in progress (an account switch) so it never starts on a logged-out codex."""

    async def settled(self) -> None: ...


class WorkspaceManager(LoggingConfigurable):
    """Creates, resumes and drives workspace sessions on the targets' app-servers.

    Sessions of the ``cli`` target are the user's workspace; sessions of the
    ``api`` target are the proxy's agent-mode conversations. Both share the
    event log and the approval book, so a human decides either kind the same way.
    """

    root_dir = Unicode(help="Folder sessions are confined to (the server's root_dir).")
    data_dir = Unicode(help="The extension's data dir (images are kept under it).")
    default_model = Unicode(
        "", config=True, help="Model for new sessions. Empty: Codex's own default."
    )
    default_effort = Enum(
        ["", "none", "minimal", "low", "medium", "high", "xhigh"],
        "",
        config=True,
        help="Reasoning effort for new sessions. Empty: the model's default.",
    )
    default_approval_policy = Enum(
        ["on-request", "never", "untrusted"],
        "on-request",
        config=True,
        help="Approval policy for new sessions. 'on-request' (default) asks a human before "
        "anything outside the sandbox; 'never' never asks (use with care).",
    )
    default_sandbox = Enum(
        ["read-only", "workspace-write", "danger-full-access"],
        "workspace-write",
        config=True,
        help="Sandbox for new sessions: what commands may touch without asking.",
    )
    approval_timeout = Float(
        900.0,
        config=True,
        help="Seconds an approval waits for a human before it is declined (default 900).",
    )
    max_sessions = Int(
        1000, config=True, help="Most sessions (archived included) one user may keep."
    )
    max_events_per_page = Int(
        10_000, config=True, help="Most events one GET .../events answer returns."
    )
    max_concurrent_turns = Int(
        8,
        config=True,
        help="Most turns running at once across all sessions (0: no limit). One more "
        "message gets 429 too_many_turns until a turn finishes or is stopped.",
    )
    max_events_per_session = Int(
        100_000,
        config=True,
        help="Most events kept per session (0: no limit). Beyond it the OLDEST events are "
        "deleted (sequence numbers never change; replay starts at the oldest kept one), so a "
        "long session keeps working instead of being refused.",
    )
    turn_silence_warning = Float(
        60.0,
        config=True,
        help="Seconds a running turn may go without any event (and without waiting for an "
        "approval, a command or a tool) before its session gets a 'warning' that the model "
        "service may have stalled. 0: never.",
    )
    allowed_folders = List(
        Unicode(),
        config=True,
        help="Folders (relative to the server's root) sessions may run in, with their "
        "subfolders. Empty (default): anywhere under the root.",
    )

    app_server = Instance(AppServerManager, help="The cli target's app-server.")

    def __init__(
        self,
        *,
        database: Database,
        app_server: AppServerManager,
        app_servers: dict[str, AppServerManager] | None = None,
        account_gates: Mapping[str, AccountGate] | None = None,
        **kwargs: Any,
    ):
        super().__init__(app_server=app_server, **kwargs)
        self.app_servers: dict[str, AppServerManager] = dict(app_servers or {"cli": app_server})
        self._account_gates: dict[str, AccountGate] = dict(account_gates or {})
        #: Per-target approval timeouts overriding :attr:`approval_timeout`.
        self.approval_timeouts: dict[str, float] = {}
        self.sessions = SessionRepository(database)
        self._event_repository = EventRepository(database)
        self.events = EventLog(self._event_repository, EventBroker(self.log), self.log)
        self.approvals = ApprovalBook(self.events, self.log)
        self.commands = SlashCommands(self)
        self.limits = SessionLimits(parent=self, log=self.log)
        #: Steer, compact, fork and undo.
        self.actions = ThreadActions(self)
        self.images = ImageStore(
            str(Path(self.data_dir or default_data_dir()) / "images"), parent=self, log=self.log
        )
        self.live = LiveTurns(list(self.app_servers), self.events, self.approvals, self.log)
        #: The approval requests of codex, routed to their sessions.
        self.approval_requests = ApprovalRequests(
            live=self.live,
            approvals=self.approvals,
            app_servers=self.app_servers,
            timeout_of=lambda target: self.approval_timeouts.get(target, self.approval_timeout),
        )
        self.tools = ToolRouter(parent=self, log=self.log, session_of=self.live.session_of)
        self.notebooks = NotebookTools(
            parent=self,
            log=self.log,
            root_dir=self.root_dir,
            sessions=self.sessions,
            events=self.events,
            approvals=self.approvals,
        )
        self.tools.local = self.notebooks
        self.tools.reporter = ToolProgressEvents(sessions=self.sessions, events=self.events)
        self._locks: dict[str, asyncio.Lock] = {}
        self.events.max_events = self.max_events_per_session
        self.live.stall.seconds = self.turn_silence_warning

    @observe("turn_silence_warning")
    def _silence_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "live"):
            self.live.stall.seconds = change["new"]

    @observe("max_events_per_session")
    def _max_events_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "events"):
            self.events.max_events = change["new"]

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Load session numbering and close what the last stop cut short (no process yet).

        Who hears the app-servers (the live-turn normalizer, the approval book, the
        tool router) is registered by ``wiring.wire_workspace``."""
        for session in await self.sessions.list(include_archived=True):
            self.events.set_last_seq(session.id, session.last_seq)
            self.live.register(session)
        await close_interrupted(self._event_repository, self.events, self.approvals, self.log)
        self.events.start()

    async def stop(self) -> None:
        """Expire pending approvals (nobody will be left to take the answer) and persist
        every event; the next start closes the turns this stop cut short."""
        for session_id in list(self.live.runtimes):
            self.approvals.expire_session(session_id, SHUTDOWN_APPROVAL_MESSAGE)
        await asyncio.sleep(0)  # let the waiting requests record their resolution
        await self.events.stop()

    # -- sessions ------------------------------------------------------------

    def server(self, target: str) -> AppServerManager:
        """The app-server of ``target``."""
        return self.app_servers[target]

    async def create_session(
        self, body: SessionCreate, *, target: Target = "cli", owner: str | None = None
    ) -> Session:
        """Start a Codex thread in a folder under the root and store the session
        (``owner``: the extension a system-owned session belongs to)."""
        notebook = self.notebooks.check(body.notebook) if body.notebook else None
        cwd = body.cwd or (self.notebooks.folder_of(notebook) if notebook else "")
        folder, relative = resolve_folder(self.root_dir, cwd)
        check_allowed_folder(relative, self.allowed_folders)
        if await self.sessions.count() >= self.max_sessions:
            raise ConflictError(
                f"You have {self.max_sessions} sessions; delete some before creating more."
            )
        now = time.time()
        session = Session(
            id=uuid.uuid4().hex,
            target=target,
            cwd=relative,
            title=body.title
            or (f"Notebook {notebook}" if notebook else None)
            or f"Session in {relative or Path(self.root_dir).name or '/'}",
            model=body.model or self.default_model or None,
            effort=body.effort or self.default_effort or None,
            approval_policy=body.approval_policy or self.default_approval_policy,
            sandbox=body.sandbox or self.default_sandbox,
            network_access=bool(body.network_access),
            created_at=now,
            updated_at=now,
            tools=body.tools or None,
            notebook=notebook,
            owner=owner,
        )
        self.limits.check(
            sandbox=session.sandbox,
            approval_policy=session.approval_policy,
            network_access=session.network_access,
        )
        server = self.server(target)
        result = await server.request("thread/start", self._start_params(session, folder))
        thread = result.get("thread") or {}
        session.thread_id = thread.get("id")
        session.model = session.model or result.get("model")
        await self.sessions.insert(session)
        self.live.mark_loaded(session)
        self.events.append(session.id, "session.created", self.public(session))
        return self.live.with_state(session)

    async def list_sessions(
        self, *, include_archived: bool = False, include_system: bool = False
    ) -> list[Session]:
        """Every session with its live state, most recently active first; system-owned
        ones (an extension's) only with ``include_system``."""
        return [
            self.live.with_state(s)
            for s in await self.sessions.list(include_archived=include_archived)
            if include_system or s.owner is None
        ]

    async def get_session(self, session_id: str) -> Session:
        """One session with its live state."""
        return self.live.with_state(await self.sessions.get(session_id))

    async def update_session(self, session_id: str, body: SessionUpdate) -> Session:
        """Rename, archive/unarchive or change a session's defaults."""
        session = await self.sessions.get(session_id)
        changes = body.model_dump(exclude_none=True)
        self.limits.check(
            sandbox=body.sandbox,
            approval_policy=body.approval_policy,
            network_access=body.network_access,
        )
        if changes.get("archived") and self.live.is_running(session_id):
            raise ConflictError("Stop the running turn before archiving this session.")
        if changes:
            changes["updated_at"] = time.time()
            await self.sessions.update(session_id, **changes)
            if "title" in changes and session.thread_id:
                await self._try(
                    "thread/name/set",
                    {"threadId": session.thread_id, "name": body.title},
                    session.target,
                )
        session = await self.sessions.get(session_id)
        self.events.append(session_id, "session.updated", self.public(session))
        return self.live.with_state(session)

    async def delete_session(self, session_id: str) -> None:
        """Delete a session, its event log, and archive its Codex thread."""
        session = await self.sessions.get(session_id)
        if self.live.is_running(session_id):
            raise ConflictError("Stop the running turn before deleting this session.")
        await self.events.flush()
        await self.sessions.delete(session_id)
        self.live.forget(session_id, session.thread_id)
        self.notebooks.forget(session_id)
        self.images.forget(session_id)
        if session.thread_id:
            await self._try("thread/archive", {"threadId": session.thread_id}, session.target)
        self.events.forget(session_id)

    # -- turns ---------------------------------------------------------------

    async def send_message(
        self, session_id: str, text: str, images: list[str] | None = None
    ) -> dict[str, Any]:
        """Start a turn (or run a slash command). A second message while a turn
        runs is rejected with 409, never queued silently. ``images``: ids of images
        stored with :meth:`ImageStore.save`, sent as ``localImage`` inputs."""
        slash = parse_slash(text) if not images else None
        if slash is not None:
            return await self.commands.run(session_id, *slash)
        async with self.session_lock(session_id):
            session = await self.sessions.get(session_id)
            self.check_idle(session_id)
            input_items = [{"type": "text", "text": text, "text_elements": []}]
            input_items += self.images.inputs(session_id, images or [])
            input_items += await self.commands.skill_inputs(session, text)
            return await self.start_turn(session, "turn/start", {"input": input_items}, text)

    async def send_input(
        self,
        session_id: str,
        input_items: list[dict[str, Any]],
        *,
        params: dict[str, Any] | None = None,
        title_hint: str = "",
    ) -> dict[str, Any]:
        """Start a turn with ready-made codex input items (agent mode); 409 while one runs."""
        async with self.session_lock(session_id):
            session = await self.sessions.get(session_id)
            self.check_idle(session_id)
            return await self.start_turn(
                session, "turn/start", {"input": input_items, **(params or {})}, title_hint
            )

    def subscribe(self, session_id: str, subscriber: Any) -> Any:
        """Live event bodies of one session (``(session_id, body_json)`` calls); returns
        the function that unsubscribes."""
        return self.events.broker.subscribe(session_id, subscriber)

    def running_turns(self) -> int:
        """How many turns run (or are being started) now, across sessions and targets."""
        return self.live.running_turns()

    def is_running(self, session_id: str) -> bool:
        """Whether a turn runs in the session now."""
        return self.live.is_running(session_id)

    def check_images(self, session_id: str, image_ids: list[str]) -> None:
        """Raise unless every id names an image uploaded to the session (404), within the
        per-message limit (400): a queued message is refused now, not when it runs."""
        self.images.inputs(session_id, image_ids)

    async def start_turn(
        self, session: Session, method: str, params: dict[str, Any], title_hint: str = ""
    ) -> dict[str, Any]:
        """Attach the thread if needed and start a turn with ``method``; 429 beyond
        ``max_concurrent_turns`` (checked and counted with no await in between, so
        concurrent starts in different sessions cannot overshoot the limit). First the
        target's codex must be signed in (not between two accounts)."""
        gate = self._account_gates.get(session.target)
        if gate is not None:  # before the count: a switch waiting for turns sees none here
            await gate.settled()
        if self.max_concurrent_turns and self.running_turns() >= self.max_concurrent_turns:
            raise TooManyTurnsError(
                f"{self.max_concurrent_turns} turns are already running (the server's limit, "
                "WorkspaceManager.max_concurrent_turns); wait for one to finish or stop one.",
                retry_after=5,
            )
        self.live.starting.add(session.id)
        try:
            return await self._start_turn(session, method, params, title_hint)
        finally:
            self.live.starting.discard(session.id)

    async def _start_turn(
        self, session: Session, method: str, params: dict[str, Any], title_hint: str
    ) -> dict[str, Any]:
        thread_id = await self.ensure_thread(session)
        params = {"threadId": thread_id, **params}
        if method == "turn/start":
            # The session's current settings, every turn: a PATCH applies to the next turn.
            params = {**turn_overrides(session), **params}
        result = await self.server(session.target).request(method, params)
        turn_id = (result.get("turn") or {}).get("id")
        runtime = self.live.runtime_of(session.id, session.target)
        if turn_id is None or turn_id != runtime.last_completed_turn:
            # The turn may already have completed (a fast reply) before this answer.
            runtime.active_turn = runtime.active_turn or turn_id or "pending"
        if title_hint and session.title.startswith("Session in "):
            title = " ".join(title_hint.split())[:60]
            await self.sessions.update(session.id, title=title, updated_at=time.time())
        return {"turn_id": turn_id}

    async def stop_turn(self, session_id: str, *, force: bool = False) -> dict[str, Any]:
        """Interrupt the running turn; with ``force``, also restart the app-server so a
        hung command dies with it (other running sessions get an error event)."""
        session = await self.sessions.get(session_id)
        runtime = self.live.runtime_of(session_id, session.target)
        turn_id = runtime.active_turn
        if turn_id is None:
            return {"stopped": False, "reason": "No turn is running."}
        self.approvals.cancel_session(session_id)
        server = self.server(session.target)
        if turn_id != "pending" and session.thread_id:
            try:
                await server.request(
                    "turn/interrupt",
                    {"threadId": session.thread_id, "turnId": turn_id},
                    timeout=2.0 if force else None,
                )
            except AppServerError:
                if not force:
                    raise
        if force:
            # Restarting the process group is what kills a hung command for sure.
            runtime.force_stopping = True
            self.events.append(
                session_id,
                "turn.force_stopped",
                {"restarting": server.name},
                turn_id=None if turn_id == "pending" else turn_id,
            )
            try:
                await server.restart(reason=f"Force Stop in session {session_id}")
            finally:
                runtime.force_stopping = False
        return {"stopped": True, "turn_id": turn_id, "force": force}

    async def replay(self, session_id: str, after: int, limit: int | None = None) -> list[str]:
        """Event bodies after ``after`` (for REST and WebSocket replay)."""
        await self.sessions.get(session_id)
        if after < 0:
            raise InvalidRequestError("'after' must be 0 or a positive sequence number.")
        page = min(limit or self.max_events_per_page, self.max_events_per_page)
        return await self.events.replay(session_id, after, page)

    def publish_system(self, type: str, data: dict[str, Any]) -> None:
        """Tell every ``"*"`` subscriber about a non-session event (account switches,
        usage alerts). Not part of any session's log: the system log keeps those."""
        envelope = {
            "seq": 0,
            "session_id": None,
            "type": type,
            "time": time.time(),
            "turn_id": None,
            "item_id": None,
            "data": data,
        }
        self.events.broker.publish(SYSTEM_CHANNEL, json.dumps(envelope, default=str))

    # -- helpers -------------------------------------------------------------

    def _thread_params(self, session: Session, folder: Path) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cwd": str(folder),
            "approvalPolicy": session.approval_policy,
            "sandbox": session.sandbox,
        }
        if session.model:
            params["model"] = session.model
        if session.effort:
            params["config"] = {"model_reasoning_effort": session.effort}
        return params

    def _start_params(self, session: Session, folder: Path) -> dict[str, Any]:
        """``thread/start`` for the session: its settings and its declared tools."""
        params = self._thread_params(session, folder)
        tools = [*(session.tools or []), *(NOTEBOOK_TOOLS if session.notebook else [])]
        if tools:
            params["dynamicTools"] = self.tools.dynamic_tools(session.id, tools)
        return params

    async def ensure_thread(self, session: Session) -> str:
        """The session's thread id, loaded (resumed) into its app-server's current process."""
        server = self.server(session.target)
        await server.ensure_started()
        if session.thread_id and self.live.is_loaded(session):
            return session.thread_id
        folder, _ = resolve_folder(self.root_dir, session.cwd)
        params = self._thread_params(session, folder)
        if session.thread_id:
            resume = {k: v for k, v in params.items() if k != "model"}
            try:
                result = await server.request(
                    "thread/resume", {"threadId": session.thread_id, "excludeTurns": True, **resume}
                )
            except AppServerError as e:
                if "no rollout" not in str(e).lower():
                    raise
                # Codex saves a thread with its first turn: one that never ran is gone
                # after a restart. Nothing was lost, so the session gets a fresh thread.
                self.log.info("Session %s had no saved turn; starting a new thread", session.id)
                self.live.forget_thread(session.thread_id)
                result = await server.request("thread/start", self._start_params(session, folder))
        else:
            result = await server.request("thread/start", self._start_params(session, folder))
        thread_id: str = (result.get("thread") or {}).get("id") or session.thread_id or ""
        if thread_id != session.thread_id:
            await self.sessions.update(session.id, thread_id=thread_id)
            session.thread_id = thread_id
        self.live.mark_loaded(session)
        return thread_id

    # Also the session's other actions' (history.py): the same lock, checks and attach.
    def session_lock(self, session_id: str) -> asyncio.Lock:
        """The lock that serializes turn starts in one session."""
        return self._locks.setdefault(session_id, asyncio.Lock())

    def check_idle(self, session_id: str) -> None:
        """409 while a turn runs in the session."""
        if self.live.is_running(session_id):
            raise ConflictError(
                "A turn is already running in this session. Wait for it to finish or stop it "
                "(POST .../stop) before sending another message."
            )

    @staticmethod
    def public(session: Session) -> dict[str, Any]:
        """The session as stored events show it."""
        return session.model_dump(exclude={"state", "active_turn_id", "last_seq"})

    async def _try(self, method: str, params: dict[str, Any], target: str = "cli") -> None:
        """Best-effort bookkeeping call: log and carry on if the app-server refuses."""
        try:
            await self.server(target).request(method, params, timeout=10)
        except AppServerError as e:
            self.log.warning("codex %s failed: %s", method, e)
