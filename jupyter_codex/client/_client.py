"""``AsyncCodexClient``: the one implementation of the Python client.

Everything goes through the server's public REST API and the events WebSocket
(``docs/rest-api.md``, ``docs/websocket.md``); nothing here imports the server.
The synchronous ``CodexClient`` runs this class on a private loop thread.

Why this module is long: one class whose methods mirror the REST API one to one
(sessions, turns, approvals, accounts, usage, sign-in, tools, status).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, get_args

from typing_extensions import Self

from ..errors import NotFoundError, TurnTimeoutError
from ..models import Account, Approval, Decision, Session, TargetState
from ._discovery import ServerInfo, discover_server
from ._events import ApprovalData, ApprovalRequested, Event, TurnCompleted, TurnStarted
from ._http import HttpTransport
from ._jobs import AsyncJobs
from ._login import CodeCallback, add_api_key, cancel_login, device_code_login, import_auth_json
from ._polling import PollingToolHost
from ._results import AccountUsage, ServerStatus, TurnResult
from ._stream import stream_events
from ._toolhost import ToolHost
from ._tools import Tool, as_tool

log = logging.getLogger("jupyter_codex.kernel")

#: ``on_event`` callbacks: ``fn(event)``, sync or async.
EventCallback = Callable[[Event], Any]
#: ``on_approval`` callbacks: ``fn(approval) -> decision``, sync or async. A decision is
#: ``"accept"``, ``"acceptForSession"``, ``"decline"``, ``"cancel"``, or ``True``/``False``;
#: for a ``user_input`` request, a dict of answers (``{question_id: "label" | [labels]}``;
#: a plain string answers a single question); for an ``elicitation``, the form's content dict.
ApprovalCallback = Callable[[ApprovalData], Any]
ToolLike = Tool | Callable[..., Any]

DECISIONS: frozenset[str] = frozenset(get_args(Decision))


def _decision(value: Any) -> str:
    if value is True:
        return "accept"
    if value in (False, None):
        return "decline"
    if isinstance(value, str) and value in DECISIONS:
        return value
    log.warning("on_approval returned %r, not a decision; declining", value)
    return "decline"


def approval_reply(approval: ApprovalData, value: Any) -> tuple[str, dict[str, Any]]:
    """The decision and answer payload for what ``on_approval`` returned."""
    questions = approval.questions or []
    if approval.kind == "user_input":
        if isinstance(value, str) and value not in DECISIONS and len(questions) == 1:
            value = {questions[0].id: value}
        if isinstance(value, dict):
            answers = {k: [v] if isinstance(v, str) else list(v) for k, v in value.items()}
            return "accept", {"answers": answers}
    if approval.kind == "elicitation" and isinstance(value, dict):
        return "accept", {"content": value}
    return _decision(value), {}


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class AsyncCodexClient:
    """Async client of a Jupyter server running jupyter-codex.

    ``url`` is the server's URL including its base URL (``http://127.0.0.1:8888/``)
    or a :class:`ServerInfo`; without one, :func:`discover_server` looks in the
    environment. Use it as an
    async context manager or call :meth:`close`.
    """

    def __init__(
        self,
        url: str | ServerInfo | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: Any = True,
        reconnect_timeout: float = 60.0,
    ) -> None:
        self.server: ServerInfo = (
            url if isinstance(url, ServerInfo) else discover_server(url, token)
        )
        self.timeout = timeout
        self.reconnect_timeout = reconnect_timeout
        self._http = HttpTransport(self.server, timeout=timeout, verify=verify)
        #: The job queue: ``await client.jobs.submit(...)`` (see docs/automation.md).
        self.jobs = AsyncJobs(self._http)
        self._tools: ToolHost | None = None
        self._polling: PollingToolHost | None = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> Self:
        """A client for the server found by :func:`discover_server` (no arguments)."""
        return cls(discover_server(), **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.server.url}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop serving tools and close the connections."""
        if self._tools is not None:
            await self._tools.aclose()
            self._tools = None
        if self._polling is not None:
            await self._polling.aclose()
            self._polling = None
        await self._http.aclose()

    aclose = close

    # -- server ------------------------------------------------------------------

    async def status(self) -> ServerStatus:
        """Versions, each target's app-server and auth state, session counts."""
        return ServerStatus.model_validate(await self._http.request("GET", "status"))

    async def health(self) -> dict[str, Any]:
        """The anonymous liveness answer, ``{"status": "ok"}``."""
        return dict(await self._http.request("GET", "health") or {})

    async def readiness(self) -> dict[str, Any]:
        """``{"ready": bool, "checks": {...}}``: can the server take work now?"""
        return dict(await self._http.request("GET", "ready", accept=(503,)) or {})

    async def capabilities(self, target: str = "cli") -> dict[str, Any]:
        """Which app-server methods the target's codex exposes: ``{"methods": {name: bool}}``.
        Starts that app-server if it is stopped."""
        answer = await self._http.request("GET", "capabilities", params={"target": target})
        return dict(answer or {})

    # -- sessions ----------------------------------------------------------------

    async def create_session(
        self,
        cwd: str = ".",
        *,
        model: str | None = None,
        effort: str | None = None,
        approval_policy: str | None = None,
        sandbox: str | None = None,
        title: str | None = None,
        tools: Sequence[ToolLike] | None = None,
        notebook: str | None = None,
        network_access: bool | None = None,
        polling: bool = False,
    ) -> Session:
        """Start a session (a Codex thread) in ``cwd``, relative to the server's root.

        ``tools`` (functions or :func:`tool` objects) are declared on the thread and
        served by this client: the model may call them during any turn of the session
        while this client is open. ``polling=True`` serves them by polling instead of
        over the WebSocket (see :meth:`serve_tools`). ``notebook`` (a path under the
        root) makes it a notebook session: Codex reads, edits and runs that notebook's
        cells.
        """
        body: dict[str, Any] = {"cwd": cwd}
        for key, value in (
            ("model", model),
            ("effort", effort),
            ("approval_policy", approval_policy),
            ("sandbox", sandbox),
            ("title", title),
            ("notebook", notebook),
            ("network_access", network_access),
        ):
            if value is not None:
                body[key] = value
        declared = [as_tool(t) for t in tools or ()]
        if declared:
            body["tools"] = [t.spec() for t in declared]
        session = Session.model_validate(await self._http.request("POST", "sessions", body=body))
        if declared:
            await self.serve_tools(session.id, declared, polling=polling)
        return session

    async def list_sessions(self, archived: bool = False) -> list[Session]:
        """Sessions, most recently active first (archived ones only with ``archived=True``)."""
        params = {"archived": "true"} if archived else None
        answer = await self._http.request("GET", "sessions", params=params)
        return [Session.model_validate(s) for s in answer["sessions"]]

    async def get_session(self, session_id: str) -> Session:
        """One session with its live state (``idle``, ``running``, ``waiting_approval``)."""
        return Session.model_validate(await self._http.request("GET", f"sessions/{session_id}"))

    async def update_session(
        self,
        session_id: str,
        *,
        title: str | None = None,
        archived: bool | None = None,
        model: str | None = None,
        effort: str | None = None,
        approval_policy: str | None = None,
        sandbox: str | None = None,
        network_access: bool | None = None,
    ) -> Session:
        """Rename, archive/unarchive, or change the settings of later turns (applied
        from the next turn; the server's ``SessionLimits`` may refuse some with a 400)."""
        changes = {
            "network_access": network_access,
            "title": title,
            "archived": archived,
            "model": model,
            "effort": effort,
            "approval_policy": approval_policy,
            "sandbox": sandbox,
        }
        body = {k: v for k, v in changes.items() if v is not None}
        answer = await self._http.request("PATCH", f"sessions/{session_id}", body=body)
        return Session.model_validate(answer)

    async def delete_session(self, session_id: str) -> None:
        """Delete a session and its event log (409 while a turn runs)."""
        if self._tools is not None:
            await self._tools.unregister(session_id)
        await self._http.request("DELETE", f"sessions/{session_id}")

    # -- turns -------------------------------------------------------------------

    async def send(self, session_id: str, text: str) -> str | None:
        """Start a turn; returns its id (``None`` for a slash command without a turn)."""
        answer = await self._post_message(session_id, text)
        turn_id = answer.get("turn_id")
        return str(turn_id) if turn_id else None

    async def _post_message(
        self, session_id: str, text: str, images: Sequence[bytes] = ()
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        if images:
            body["images"] = [await self.upload_image(session_id, data) for data in images]
        answer = await self._http.request("POST", f"sessions/{session_id}/messages", body=body)
        return dict(answer or {})

    async def upload_image(self, session_id: str, data: bytes) -> str:
        """Store a PNG/JPEG/GIF/WebP image for the session's next message; its id."""
        body = {"data": base64.b64encode(bytes(data)).decode()}
        answer = await self._http.request("POST", f"sessions/{session_id}/images", body=body)
        return str(answer["id"])

    async def send_and_wait(
        self,
        session_id: str,
        text: str,
        *,
        on_event: EventCallback | None = None,
        on_approval: ApprovalCallback | None = None,
        timeout: float | None = None,
        images: Sequence[bytes] = (),
    ) -> TurnResult:
        """Send a message and wait for the turn to end; returns the final reply,
        the completed items and the token usage. ``images``: image files' bytes
        (PNG, JPEG, GIF, WebP) sent with the text.

        ``on_event(event)`` sees every event of the turn as it happens.
        ``on_approval(approval)`` decides each approval the turn asks for; without
        it they are declined. Sync callbacks run on the client's loop (``on_approval``
        on a worker thread, so it may block); async ones are awaited. On ``timeout``
        raises :class:`TurnTimeoutError` and leaves the turn running (see :meth:`stop`).
        """
        after = (await self.get_session(session_id)).last_seq
        response = await self._post_message(session_id, text, images)
        turn_id = response.get("turn_id")
        if not turn_id and "command" in response:
            return TurnResult(session_id=session_id, response=response)
        collect = self._collect(session_id, after, turn_id, response, on_event, on_approval)
        try:
            return await asyncio.wait_for(collect, timeout)
        except asyncio.TimeoutError:
            raise TurnTimeoutError(
                f"The turn did not finish within {timeout:g} s; it is still running. "
                "Call stop(session_id) to end it.",
                session_id=session_id,
                turn_id=turn_id,
            ) from None

    async def review(
        self,
        session_id: str,
        *,
        base: str | None = None,
        commit: str | None = None,
        instructions: str | None = None,
        wait: bool = True,
        on_event: EventCallback | None = None,
        timeout: float | None = None,
    ) -> TurnResult:
        """Run a codex code review (``review/start``) in the session's folder: the
        uncommitted changes, or the changes against ``base``, or one ``commit``, with
        optional ``instructions``. Returns the finished turn (its ``events`` hold the
        ``exited_review_mode`` item with the review); ``wait=False`` returns at once."""
        body = {
            k: v
            for k, v in (("base", base), ("commit", commit), ("instructions", instructions))
            if v is not None
        }
        after = (await self.get_session(session_id)).last_seq
        response = dict(
            await self._http.request("POST", f"sessions/{session_id}/review", body=body) or {}
        )
        turn_id = response.get("turn_id")
        if not wait:
            return TurnResult(session_id=session_id, turn_id=turn_id, response=response)
        collect = self._collect(session_id, after, turn_id, response, on_event, None)
        try:
            return await asyncio.wait_for(collect, timeout)
        except asyncio.TimeoutError:
            raise TurnTimeoutError(
                f"The review did not finish within {timeout:g} s; it is still running.",
                session_id=session_id,
                turn_id=turn_id,
            ) from None

    async def _collect(
        self,
        session_id: str,
        after: int,
        turn_id: str | None,
        response: dict[str, Any],
        on_event: EventCallback | None,
        on_approval: ApprovalCallback | None,
    ) -> TurnResult:
        events: list[Event] = []
        stream = stream_events(
            self._http, session_id, after, reconnect_timeout=self.reconnect_timeout
        )
        try:
            async for event in stream:
                if turn_id is None and isinstance(event, TurnStarted):
                    turn_id = event.turn_id
                if event.turn_id is None or event.turn_id != turn_id:
                    continue
                events.append(event)
                if on_event is not None:
                    await _maybe_await(on_event(event))
                if isinstance(event, ApprovalRequested):
                    await self._answer(event.data, on_approval)
                if isinstance(event, TurnCompleted):
                    break
        finally:
            await stream.aclose()
        return TurnResult.from_events(session_id, turn_id, events, response)

    async def _answer(self, approval: ApprovalData, on_approval: ApprovalCallback | None) -> None:
        if on_approval is None:
            value: Any = "decline"
        elif inspect.iscoroutinefunction(on_approval):
            value = await on_approval(approval)
        else:
            value = await _maybe_await(await asyncio.to_thread(on_approval, approval))
        decision, answer = approval_reply(approval, value)
        with contextlib.suppress(NotFoundError):  # decided elsewhere, or the turn ended
            await self.decide(approval.id, decision, **answer)

    def events(self, session_id: str, after: int = 0) -> AsyncIterator[Event]:
        """The session's events with ``seq > after``: the stored ones first, then live,
        without end. Reconnects after a dropped connection with no gaps or duplicates.
        ``session_id="*"`` streams every session's new events (live only)."""
        return stream_events(
            self._http, session_id, after, reconnect_timeout=self.reconnect_timeout
        )

    async def history(self, session_id: str, after: int = 0) -> list[Event]:
        """The stored events with ``seq > after`` (one REST page, up to 10,000)."""
        from ._events import parse_event

        answer = await self._http.request(
            "GET", f"sessions/{session_id}/events", params={"after": after}
        )
        return [parse_event(e) for e in answer["events"]]

    async def steer(self, session_id: str, text: str) -> dict[str, Any]:
        """Add ``text`` to the running turn (its next model request sees it); 409 if none runs."""
        body = {"text": text}
        return dict(await self._http.request("POST", f"sessions/{session_id}/steer", body=body))

    async def compact(self, session_id: str) -> dict[str, Any]:
        """Compact the conversation (a turn of its own; wait for its ``turn.completed``)."""
        return dict(await self._http.request("POST", f"sessions/{session_id}/compact", body={}))

    async def fork(
        self, session_id: str, *, turn_id: str | None = None, title: str | None = None
    ) -> Session:
        """A new session continuing from a copy of this one's conversation (through ``turn_id``)."""
        body = {k: v for k, v in (("turn_id", turn_id), ("title", title)) if v is not None}
        answer = await self._http.request("POST", f"sessions/{session_id}/fork", body=body)
        return Session.model_validate(answer)

    async def undo(self, session_id: str) -> dict[str, Any]:
        """Undo the last turn: drop it from the conversation and reverse its file changes."""
        return dict(await self._http.request("POST", f"sessions/{session_id}/undo", body={}))

    async def stop(self, session_id: str, force: bool = False) -> dict[str, Any]:
        """Interrupt the running turn; ``force`` also restarts the app-server."""
        answer = await self._http.request(
            "POST", f"sessions/{session_id}/stop", body={"force": force}
        )
        return dict(answer or {})

    # -- approvals ---------------------------------------------------------------

    async def approvals(self, session_id: str | None = None) -> list[Approval]:
        """Pending approvals (of one session, or all)."""
        params = {"session_id": session_id} if session_id else None
        answer = await self._http.request("GET", "approvals", params=params)
        return [Approval.model_validate(a) for a in answer["approvals"]]

    async def decide(
        self,
        approval_id: str,
        decision: str,
        *,
        answers: dict[str, list[str]] | None = None,
        content: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer an approval: ``accept``, ``acceptForSession``, ``decline`` or ``cancel``;
        a ``user_input`` request is accepted with ``answers`` (question id → chosen labels
        or free text), an ``elicitation`` with the form's ``content``."""
        body: dict[str, Any] = {"decision": decision}
        if answers is not None:
            body["answers"] = answers
        if content is not None:
            body["content"] = content
        return dict(await self._http.request("POST", f"approvals/{approval_id}", body=body) or {})

    # -- accounts and usage -----------------------------------------------------

    async def accounts(self) -> list[Account]:
        """Every stored account (never a secret)."""
        answer = await self._http.request("GET", "accounts")
        return [Account.model_validate(a) for a in answer["accounts"]]

    async def login_device_code(
        self,
        on_code: CodeCallback | None = None,
        *,
        label: str | None = None,
        timeout: float = 900.0,
        poll_interval: float = 1.0,
    ) -> Account:
        """Sign a ChatGPT account in with a device code: ``on_code(prompt)`` gets
        ``verification_url`` and ``user_code`` to show; returns the account once approved
        (cancelling or timing out cancels the server's sign-in too)."""
        return await device_code_login(
            self._http, on_code, label=label, timeout=timeout, poll_interval=poll_interval
        )

    async def cancel_login(self, flow_id: str) -> dict[str, Any]:
        """Cancel a sign-in in progress on the server (e.g. one started in the panel)."""
        return await cancel_login(self._http, flow_id)

    async def add_api_key(self, api_key: str, label: str | None = None) -> Account:
        """Add an OpenAI API key as an account."""
        return await add_api_key(self._http, api_key, label)

    async def import_auth_json(
        self, source: str | Path | dict[str, Any] = "~/.codex/auth.json", label: str | None = None
    ) -> Account:
        """Import a Codex ``auth.json`` (a local path, read here, or its content)."""
        return await import_auth_json(self._http, source, label)

    async def targets(self) -> list[TargetState]:
        """The ``api`` and ``cli`` targets: active account and strategy."""
        answer = await self._http.request("GET", "targets")
        return [TargetState.model_validate(t) for t in answer["targets"]]

    async def use_account(self, account_id: str, target: str = "cli") -> TargetState:
        """Make ``account_id`` the active account of ``target``."""
        answer = await self._http.request(
            "PATCH", f"targets/{target}", body={"account_id": account_id}
        )
        return TargetState.model_validate(answer)

    async def usage(self, refresh: bool = False) -> list[AccountUsage]:
        """Each account's last known usage; ``refresh=True`` polls every account first."""
        if refresh:
            answer = await self._http.request("POST", "usage/refresh", body={})
        else:
            answer = await self._http.request("GET", "usage")
        return [AccountUsage.model_validate(a) for a in answer["accounts"]]

    async def usage_history(
        self, account_id: str, since: float | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """One account's usage over time, oldest first: ``[{"time", "primary",
        "secondary"}]`` (used percent of the 5-hour and weekly windows)."""
        params: dict[str, Any] = {}
        if since is not None:
            params["since"] = since
        if limit is not None:
            params["limit"] = limit
        answer = await self._http.request(
            "GET", f"usage/{account_id}/history", params=params or None
        )
        return list(answer["points"])

    # -- tools -------------------------------------------------------------------

    async def serve_tools(
        self,
        session_id: str,
        tools: Sequence[ToolLike],
        *,
        polling: bool = False,
        interval: float = 0.5,
    ) -> None:
        """Run ``tools`` here when the session's model calls them (e.g. after a restart,
        for a session created with these tools earlier). ``polling=True``: poll for the
        calls every ``interval`` seconds instead of holding the events WebSocket open."""
        if polling:
            if self._polling is None:
                self._polling = PollingToolHost(self._http, interval=interval)
            self._polling.register(session_id, [as_tool(t) for t in tools])
            return
        if self._tools is None:
            self._tools = ToolHost(self._http)
        await self._tools.register(session_id, [as_tool(t) for t in tools])

    async def stop_serving_tools(self, session_id: str) -> None:
        """Stop running the session's tools here; the model's later calls to them fail
        once the server's ``ToolRouter.client_timeout`` has passed."""
        if self._tools is not None:
            await self._tools.unregister(session_id)
        if self._polling is not None:
            self._polling.unregister(session_id)

    async def pending_tool_calls(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Dynamic-tool calls waiting for a client (none connected serves them)."""
        params = {"session_id": session_id} if session_id else None
        answer = await self._http.request("GET", "tool-calls", params=params)
        return list((answer or {}).get("tool_calls", []))

    async def drain_pending_calls(
        self, tools: Sequence[ToolLike] | None = None, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Run and answer the pending tool calls once, now: those of ``tools`` (of any
        session, or of ``session_id``), or else of the tools served by polling. Returns
        the calls answered (each with ``call_id``, ``tool``, ``arguments``, ``success``)."""
        if self._polling is None:
            self._polling = PollingToolHost(self._http)
        served = None
        if tools is not None:
            served = {"*": {t.name: t for t in (as_tool(x) for x in tools)}}
        return await self._polling.drain(served, session_id)


__all__ = ["ApprovalCallback", "AsyncCodexClient", "EventCallback", "approval_reply"]
