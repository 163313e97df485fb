"""One listener registry type for every "call me when X happens" in the server.

The one rule, whoever emits:

* listeners run **in registration order, one after the other**, each guarded:
  an exception is logged and the next listener still runs;
* an emitter that runs in async code awaits :meth:`Listeners.emit`, which also
  awaits a listener's result when it is awaitable, so everything a listener
  does has happened when ``emit`` returns (the usage scheduler and the router
  rely on it: a refresh answers after the strategies ran);
* an emitter that must not wait (the JSON-RPC reader, a synchronous API) calls
  :meth:`Listeners.emit_nowait`; its listeners are plain functions, and one that
  needs to await starts a task on its own :class:`~jupyter_codex.tasks.TaskOwner`.
  An awaitable returned there is closed and logged as a bug, never left pending.

Who listens to what is wired in one place (``wiring.py``).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, Generic, ParamSpec

P = ParamSpec("P")

_log = logging.getLogger(__name__)


class Listeners(Generic[P]):
    """Callbacks that all take the same arguments ``P``.

    Parameters
    ----------
    kind
        What they listen to, for log lines (``"lifecycle"``, ``"switch"``...).
    log
        Where a failing listener is logged.
    """

    def __init__(
        self, kind: str, log: logging.Logger | logging.LoggerAdapter[Any] | None = None
    ) -> None:
        self.kind = kind
        self.log = log or _log
        self._callbacks: list[Callable[P, object]] = []

    def __len__(self) -> int:
        return len(self._callbacks)

    def add(self, cb: Callable[P, object]) -> Callable[[], None]:
        """Register ``cb``; return a function that removes it (idempotent)."""
        self._callbacks.append(cb)
        return lambda: self.remove(cb)

    def remove(self, cb: Callable[P, object]) -> None:
        """Forget ``cb`` (a callback never added is fine)."""
        with contextlib.suppress(ValueError):
            self._callbacks.remove(cb)

    async def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener in turn, awaiting awaitable results."""
        for cb in list(self._callbacks):
            try:
                result = cb(*args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.log.exception("A %s listener failed on %s", self.kind, _first(args))

    def emit_nowait(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener in turn, without waiting for anything."""
        for cb in list(self._callbacks):
            try:
                result = cb(*args, **kwargs)
            except Exception:
                self.log.exception("A %s listener failed on %s", self.kind, _first(args))
                continue
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                self.log.error(
                    "A %s listener returned an awaitable where none is awaited: %r", self.kind, cb
                )


def _first(args: tuple[Any, ...]) -> Any:
    return args[0] if args else ""


__all__ = ["Listeners"]
