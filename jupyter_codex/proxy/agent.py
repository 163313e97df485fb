"""Agent mode: a proxy request runs as a real Codex turn on the api target.

A request selects agent mode with an agent model (``codex-agent``,
``codex-agent:high``, ``codex-agent/gpt-5.2:low``; see ``models_catalog``) or,
when :attr:`AgentRunner.on_session_id` is set, by naming a conversation. The
conversation id (body ``session_id``/``conversation_id``/``thread_id``/``user``,
Anthropic ``metadata.user_id``, or an ``x-session-id``-style header) maps to a
persistent workspace session of the ``api`` target, so its Codex thread keeps
the context and only the newest user message is sent. Without an id the
request gets a fresh session and the whole conversation, flattened. Approvals
of agent turns wait in the workspace's approval book like any other (declined
after :attr:`AgentRunner.approval_timeout`). The turn's workspace events are
translated to Responses events (``agent_events``), so the dialect adapters of
direct mode answer agent requests unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from traitlets import Bool, Enum, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..errors import CodexError, ConflictError, InvalidRequestError, NoAccountAvailableError
from ..models import Session, SessionCreate, SessionUpdate, Target
from ..tasks import within
from .agent_events import AgentTurnTranslator
from .agent_input import (
    AgentRequest,
    ImageFiles,
    codex_input,
    conversation_id,
    output_schema_of,
    split_conversation,
    text_of,
)
from .responses import Usage, usage_of


class Workspace(Protocol):
    """What agent mode needs of the workspace (``WorkspaceManager`` provides it)."""

    async def create_session(self, body: SessionCreate, *, target: Target = ...) -> Session: ...
    async def get_session(self, session_id: str) -> Session: ...
    async def update_session(self, session_id: str, body: SessionUpdate) -> Session: ...
    async def send_input(
        self,
        session_id: str,
        input_items: list[dict[str, Any]],
        *,
        params: dict[str, Any] | None = ...,
        title_hint: str = ...,
    ) -> dict[str, Any]: ...
    async def stop_turn(self, session_id: str, *, force: bool = ...) -> dict[str, Any]: ...
    def subscribe(self, session_id: str, subscriber: Any) -> Callable[[], None]: ...
    def is_running(self, session_id: str) -> bool: ...


class AgentRunner(LoggingConfigurable):
    """Runs agent-mode proxy requests as Codex turns on the api target's app-server."""

    cwd = Unicode(
        "",
        config=True,
        help="Working directory of agent-mode sessions, relative to the server's root_dir "
        "(default: the root).",
    )
    sandbox = Enum(
        ["read-only", "workspace-write", "danger-full-access"],
        "read-only",
        config=True,
        help="Sandbox of agent-mode sessions. Default read-only: a proxy client can make "
        "Codex read the folder, and anything more needs a human's approval.",
    )
    approval_policy = Enum(
        ["on-request", "never"],
        "on-request",
        config=True,
        help="Approval policy of agent-mode sessions. 'on-request': requests wait in the "
        "workspace's approvals (panel, REST) for a human.",
    )
    approval_timeout = Float(
        300.0,
        config=True,
        help="Seconds an agent-mode approval waits for a human before it is declined.",
    )
    require_session_id = Bool(
        False,
        config=True,
        help="Refuse agent-mode requests that name no conversation (session_id, "
        "conversation_id, thread_id, user, or an x-session-id header) with a 400.",
    )
    on_session_id = Bool(
        False,
        config=True,
        help="Also run agent mode for ordinary model names when the request names a "
        "conversation. Off by default: many clients send 'user' or session headers for "
        "other reasons and expect a plain model call.",
    )
    turn_timeout = Float(
        1800.0, config=True, help="Seconds an agent turn may run before it is stopped."
    )
    max_image_bytes = Int(
        20 * 1024 * 1024, config=True, help="Largest image (decoded) an agent request may carry."
    )

    def __init__(
        self,
        *,
        workspace: Workspace,
        bindings: Any,
        image_dir: str,
        active_account: Callable[[], Awaitable[str | None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.bindings = bindings  # store.proxy.AgentSessionRepository
        self.image_dir = Path(image_dir)
        self.active_account = active_account
        self._creating: dict[str, asyncio.Lock] = {}

    def exchange(self, request: AgentRequest, model_label: str) -> AgentExchange:
        if request.conversation is None and self.require_session_id:
            raise InvalidRequestError(
                "Agent mode here needs a conversation id: send session_id, conversation_id, "
                "thread_id or user in the body, or an x-session-id header."
            )
        return AgentExchange(self, request, model_label)

    async def session_for(self, request: AgentRequest) -> tuple[Session, bool]:
        """(the conversation's session, whether it is new); creates one when needed."""
        key = request.key
        if key is None:
            return await self._create(request), True
        lock = self._creating.setdefault(key, asyncio.Lock())
        async with lock:
            session_id = await self.bindings.get(key)
            if session_id is not None:
                with contextlib.suppress(CodexError):
                    session = await self.workspace.get_session(session_id)
                    await self._align(session, request)
                    return session, False
            session = await self._create(request)
            await self.bindings.bind(key, session.id)
            return session, True

    async def _create(self, request: AgentRequest) -> Session:
        first = split_conversation(request.messages)[1]
        hint = " ".join(text_of(first.get("content") if first else "").split())[:50]
        body = SessionCreate.model_validate(
            {
                "cwd": self.cwd,
                "model": request.model or None,
                "effort": request.effort,
                "approval_policy": self.approval_policy,
                "sandbox": self.sandbox,
                "title": f"Agent: {hint or 'proxy conversation'}",
            }
        )
        return await self.workspace.create_session(body, target="api")

    async def _align(self, session: Session, request: AgentRequest) -> None:
        """A later request may name another model or effort: later turns use it."""
        changes: dict[str, Any] = {}
        if request.model and request.model != session.model:
            changes["model"] = request.model
        if request.effort and request.effort != session.effort:
            changes["effort"] = request.effort
        if changes:
            await self.workspace.update_session(session.id, SessionUpdate(**changes))


class AgentExchange:
    """One agent-mode request: ``start`` runs the turn, ``events`` streams it.

    Same surface as the direct-mode ``Exchange``, so the handler drives both.
    """

    def __init__(self, runner: AgentRunner, request: AgentRequest, model_label: str) -> None:
        self.runner = runner
        self.request = request
        self.translator = AgentTurnTranslator(model_label)
        self.account_id: str | None = None
        self.usage: Usage | None = None
        self.session_id: str | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._images = ImageFiles(runner.image_dir, runner.max_image_bytes)
        self._turn_id: str | None = None

    def _on_event(self, _session_id: str, body: str) -> None:
        try:
            envelope = json.loads(body)
        except ValueError:
            return
        turn_id = envelope.get("turn_id")
        if self._turn_id and turn_id and turn_id != self._turn_id:
            return
        self._queue.put_nowait(envelope)

    async def start(self) -> None:
        """Find or create the session, then start the turn (409 while another runs)."""
        runner, request = self.runner, self.request
        self.account_id = await runner.active_account()
        if self.account_id is None:
            raise NoAccountAvailableError(
                "Agent mode runs on the api target, and no account is active there: add one "
                "(jupyter codex accounts import / add-key / login) and select it with "
                "`jupyter codex accounts use ID --target api`."
            )
        session, new = await runner.session_for(request)
        self.session_id = session.id
        if runner.workspace.is_running(session.id):
            raise ConflictError(
                "This conversation's agent is still working on an earlier request; wait for it "
                "or stop it in the Codex panel."
            )
        items = await asyncio.to_thread(codex_input, request, new_thread=new, images=self._images)
        params: dict[str, Any] = {}
        if request.output_schema is not None:
            params["outputSchema"] = request.output_schema
        self._unsubscribe = runner.workspace.subscribe(session.id, self._on_event)
        try:
            result = await runner.workspace.send_input(session.id, items, params=params)
        except BaseException:
            self._cleanup()
            raise
        self._turn_id = result.get("turn_id")

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Responses events of the turn, up to its terminal event."""
        translator = self.translator
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.runner.turn_timeout
        for event in translator.start():
            yield event
        while not translator.finished:
            remaining = deadline - loop.time()
            try:
                envelope = await within(self._queue.get(), timeout=max(remaining, 0.0))
            except asyncio.TimeoutError:
                await self._stop_turn()
                events = translator.fail(
                    f"The agent turn ran longer than {self.runner.turn_timeout:.0f} s and was "
                    "stopped (AgentRunner.turn_timeout).",
                    "agent_turn_timeout",
                )
            else:
                events = translator.feed(envelope)
            for event in events:
                if event.get("type") in ("response.completed", "response.failed"):
                    self.usage = usage_of(event.get("response")) or self.usage
                yield event
        self._cleanup()

    async def _stop_turn(self) -> None:
        if self.session_id is None:
            return
        with contextlib.suppress(CodexError):
            await self.runner.workspace.stop_turn(self.session_id)

    async def aclose(self) -> None:
        """Stop the turn when the client went away before it finished."""
        if (
            self.session_id is not None
            and self._unsubscribe
            and not self.translator.finished
            and self.runner.workspace.is_running(self.session_id)
        ):
            self.runner.log.info("Agent client went away; stopping its turn")
            await self._stop_turn()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._images.remove()

    @property
    def tried(self) -> list[str]:
        return [self.account_id] if self.account_id else []


__all__ = [
    "AgentExchange",
    "AgentRequest",
    "AgentRunner",
    "Workspace",
    "conversation_id",
    "output_schema_of",
]
