"""``CodexClient``: the blocking flavour of :class:`AsyncCodexClient`.

Each method runs the async one on a private loop thread (see ``_portal``), so it
works in a script, in a thread, and in a Jupyter kernel whose main thread
already runs an event loop. Callbacks (``on_event``, ``on_approval``, tools)
run on that loop thread or a worker thread, never on the caller's thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import Self

from ..models import Account, Approval, Session, TargetState
from ._client import ApprovalCallback, AsyncCodexClient, EventCallback, ToolLike
from ._discovery import ServerInfo, discover_server
from ._events import Event
from ._jobs import Jobs
from ._login import CodeCallback
from ._portal import get_portal
from ._results import AccountUsage, ServerStatus, TurnResult


class CodexClient:
    """Blocking client of a Jupyter server running jupyter-codex (same API as
    :class:`AsyncCodexClient`, minus ``await``)."""

    def __init__(
        self,
        url: str | ServerInfo | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: Any = True,
        reconnect_timeout: float = 60.0,
    ) -> None:
        self._portal = get_portal()

        async def make() -> AsyncCodexClient:
            return AsyncCodexClient(
                url, token, timeout=timeout, verify=verify, reconnect_timeout=reconnect_timeout
            )

        self._async = self._portal.call(make())
        #: The job queue: ``client.jobs.submit(...)`` (see docs/automation.md).
        self.jobs = Jobs(self._portal, self._async.jobs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Self:
        """A client for the server found by :func:`discover_server`."""
        return cls(discover_server(), **kwargs)

    @property
    def server(self) -> ServerInfo:
        return self._async.server

    @property
    def aio(self) -> AsyncCodexClient:
        """The underlying async client (use it only on the client's own loop)."""
        return self._async

    def __repr__(self) -> str:
        return f"<CodexClient {self.server.url}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving tools and close the connections."""
        self._portal.call(self._async.close())

    # -- the API -----------------------------------------------------------------

    def status(self) -> ServerStatus:
        return self._portal.call(self._async.status())

    def health(self) -> dict[str, Any]:
        return self._portal.call(self._async.health())

    def readiness(self) -> dict[str, Any]:
        return self._portal.call(self._async.readiness())

    def capabilities(self, target: str = "cli") -> dict[str, Any]:
        return self._portal.call(self._async.capabilities(target))

    def create_session(
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
        return self._portal.call(
            self._async.create_session(
                cwd,
                model=model,
                effort=effort,
                approval_policy=approval_policy,
                sandbox=sandbox,
                title=title,
                tools=tools,
                notebook=notebook,
                network_access=network_access,
                polling=polling,
            )
        )

    def list_sessions(self, archived: bool = False) -> list[Session]:
        return self._portal.call(self._async.list_sessions(archived))

    def get_session(self, session_id: str) -> Session:
        return self._portal.call(self._async.get_session(session_id))

    def update_session(
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
        return self._portal.call(
            self._async.update_session(
                session_id,
                title=title,
                archived=archived,
                model=model,
                effort=effort,
                approval_policy=approval_policy,
                sandbox=sandbox,
                network_access=network_access,
            )
        )

    def delete_session(self, session_id: str) -> None:
        self._portal.call(self._async.delete_session(session_id))

    def send(self, session_id: str, text: str) -> str | None:
        return self._portal.call(self._async.send(session_id, text))

    def send_and_wait(
        self,
        session_id: str,
        text: str,
        *,
        on_event: EventCallback | None = None,
        on_approval: ApprovalCallback | None = None,
        timeout: float | None = None,
        images: Sequence[bytes] = (),
    ) -> TurnResult:
        return self._portal.call(
            self._async.send_and_wait(
                session_id,
                text,
                on_event=on_event,
                on_approval=on_approval,
                timeout=timeout,
                images=images,
            )
        )

    def review(
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
        return self._portal.call(
            self._async.review(
                session_id,
                base=base,
                commit=commit,
                instructions=instructions,
                wait=wait,
                on_event=on_event,
                timeout=timeout,
            )
        )

    def events(self, session_id: str, after: int = 0) -> Iterator[Event]:
        """Blocking iterator over the session's events (see ``AsyncCodexClient.events``);
        ``close()`` it (or leave the ``for`` loop) to disconnect."""
        return self._portal.iterate(self._async.events(session_id, after))

    def history(self, session_id: str, after: int = 0) -> list[Event]:
        return self._portal.call(self._async.history(session_id, after))

    def steer(self, session_id: str, text: str) -> dict[str, Any]:
        return self._portal.call(self._async.steer(session_id, text))

    def compact(self, session_id: str) -> dict[str, Any]:
        return self._portal.call(self._async.compact(session_id))

    def fork(
        self, session_id: str, *, turn_id: str | None = None, title: str | None = None
    ) -> Session:
        return self._portal.call(self._async.fork(session_id, turn_id=turn_id, title=title))

    def undo(self, session_id: str) -> dict[str, Any]:
        return self._portal.call(self._async.undo(session_id))

    def upload_image(self, session_id: str, data: bytes) -> str:
        return self._portal.call(self._async.upload_image(session_id, data))

    def stop(self, session_id: str, force: bool = False) -> dict[str, Any]:
        return self._portal.call(self._async.stop(session_id, force))

    def approvals(self, session_id: str | None = None) -> list[Approval]:
        return self._portal.call(self._async.approvals(session_id))

    def decide(
        self,
        approval_id: str,
        decision: str,
        *,
        answers: dict[str, list[str]] | None = None,
        content: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._portal.call(
            self._async.decide(approval_id, decision, answers=answers, content=content)
        )

    def accounts(self) -> list[Account]:
        return self._portal.call(self._async.accounts())

    def targets(self) -> list[TargetState]:
        return self._portal.call(self._async.targets())

    def use_account(self, account_id: str, target: str = "cli") -> TargetState:
        return self._portal.call(self._async.use_account(account_id, target))

    def usage(self, refresh: bool = False) -> list[AccountUsage]:
        return self._portal.call(self._async.usage(refresh))

    def usage_history(
        self, account_id: str, since: float | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._portal.call(self._async.usage_history(account_id, since, limit))

    def login_device_code(
        self,
        on_code: CodeCallback | None = None,
        *,
        label: str | None = None,
        timeout: float = 900.0,
        poll_interval: float = 1.0,
    ) -> Account:
        return self._portal.call(
            self._async.login_device_code(
                on_code, label=label, timeout=timeout, poll_interval=poll_interval
            )
        )

    def cancel_login(self, flow_id: str) -> dict[str, Any]:
        return self._portal.call(self._async.cancel_login(flow_id))

    def add_api_key(self, api_key: str, label: str | None = None) -> Account:
        return self._portal.call(self._async.add_api_key(api_key, label))

    def import_auth_json(
        self, source: str | Path | dict[str, Any] = "~/.codex/auth.json", label: str | None = None
    ) -> Account:
        return self._portal.call(self._async.import_auth_json(source, label))

    def serve_tools(
        self,
        session_id: str,
        tools: Sequence[ToolLike],
        *,
        polling: bool = False,
        interval: float = 0.5,
    ) -> None:
        self._portal.call(
            self._async.serve_tools(session_id, tools, polling=polling, interval=interval)
        )

    def pending_tool_calls(self, session_id: str | None = None) -> list[dict[str, Any]]:
        return self._portal.call(self._async.pending_tool_calls(session_id))

    def drain_pending_calls(
        self, tools: Sequence[ToolLike] | None = None, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        return self._portal.call(self._async.drain_pending_calls(tools, session_id))

    def stop_serving_tools(self, session_id: str) -> None:
        self._portal.call(self._async.stop_serving_tools(session_id))


def _copy_docs() -> None:
    """One docstring per method: the async one's."""
    for name, member in vars(CodexClient).items():
        source = getattr(AsyncCodexClient, name, None)
        if callable(member) and not member.__doc__ and source is not None:
            member.__doc__ = source.__doc__


_copy_docs()

__all__ = ["CodexClient"]
