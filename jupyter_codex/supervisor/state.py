"""The lifecycle state machine of one supervised app-server.

Every state change of an :class:`~.manager.AppServerManager` goes through
:meth:`Lifecycle.to`, which checks it against :data:`TRANSITIONS` (the one
table of legal moves) and keeps the *readiness future* in step with the state:

* entering ``starting`` or ``restarting`` opens a future if none is open, so
  callers of ``ensure_started()`` arriving now wait for this start;
* ``restarting`` → ``restarting`` with an error settles the open future with it
  (the waiters of a failed automatic attempt see why) and opens a fresh one for
  the next attempt;
* entering ``running`` resolves the future; entering ``stopped`` or ``dead``
  fails it with an :class:`AppServerStartError`.

::

    stopped ──ensure_started──▶ starting ──ok──▶ running ──crash──▶ restarting
       ▲  ▲                        │                │  ▲                │  │
       │  └──────── failed ────────┘                │  └───── ok ───────┘  │ limit hit
       └──────────────── stop() from any state ─────┘                      ▼
                                                          dead ◀───────────┘
"""

from __future__ import annotations

import asyncio
from typing import Literal

from ..errors import AppServerError, AppServerStartError
from .framing import redact

State = Literal["stopped", "starting", "running", "restarting", "dead"]

#: The legal moves: ``TRANSITIONS[current]`` holds every state ``current`` may go to.
TRANSITIONS: dict[State, frozenset[State]] = {
    # ensure_started(); an explicit restart(); stop() is idempotent
    "stopped": frozenset({"starting", "restarting", "stopped"}),
    # the start succeeded, failed (back to where it came from) or was stopped
    "starting": frozenset({"running", "stopped", "dead"}),
    # a crash or an explicit restart(); stop()
    "running": frozenset({"restarting", "stopped"}),
    # an attempt succeeded, failed (another follows), the limit was hit; stop()
    "restarting": frozenset({"running", "restarting", "dead", "stopped"}),
    # a user action tries again: ensure_started() or restart(); stop()
    "dead": frozenset({"starting", "restarting", "stopped"}),
}

#: States in which a start is under way and ``ensure_started()`` callers wait.
PENDING: frozenset[State] = frozenset({"starting", "restarting"})


class IllegalTransitionError(AppServerError):
    """A state change not in :data:`TRANSITIONS`: a bug in the supervisor, never user input."""

    code = "app_server_illegal_transition"


class Lifecycle:
    """The state of one app-server and the future its starters wait on."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._state: State = "stopped"
        self._ready: asyncio.Future[None] | None = None

    @property
    def state(self) -> State:
        """The current state."""
        return self._state

    @property
    def ready(self) -> asyncio.Future[None] | None:
        """The open readiness future (only while ``starting`` or ``restarting``)."""
        return self._ready

    def to(self, state: State, error: BaseException | None = None) -> asyncio.Future[None] | None:
        """Move to ``state``; return the readiness future now open, if any.

        ``error`` is why a start ended (for ``stopped``, ``dead``, or a failed
        automatic attempt, ``restarting`` → ``restarting``); waiters see it as
        an :class:`AppServerStartError`.
        """
        if state not in TRANSITIONS[self._state]:
            raise IllegalTransitionError(f"app-server ({self.name}): {self._state} -> {state}")
        self._state = state
        if state == "running":
            self._settle(None)
        elif state in PENDING:
            if error is not None:
                self._settle(error)
            if self._ready is None:
                self._ready = asyncio.get_running_loop().create_future()
        else:
            self._settle(error or AppServerStartError(f"the app-server ({self.name}) is {state}"))
        return self._ready

    def _settle(self, error: BaseException | None) -> None:
        """Resolve the open future; every waiter sees an AppServerStartError."""
        fut, self._ready = self._ready, None
        if fut is None or fut.done():
            return
        if error is None:
            fut.set_result(None)
            return
        if not isinstance(error, AppServerStartError):
            if isinstance(error, asyncio.CancelledError):
                error = AppServerStartError(
                    f"the start of codex app-server ({self.name}) was interrupted"
                )
            else:
                error = AppServerStartError(
                    f"codex app-server ({self.name}) failed to start: {redact(str(error))}"
                )
        fut.set_exception(error)
        fut.exception()  # nobody may be waiting; do not warn about it


__all__ = ["PENDING", "TRANSITIONS", "IllegalTransitionError", "Lifecycle", "State"]
