"""Lifecycle of one supervised ``codex app-server`` (jupyter_client's ``KernelManager``).

An :class:`AppServerManager` starts its process lazily on the first request,
performs the ``initialize``/``initialized`` handshake, runs start hooks (for
example a login), routes notifications and server→client requests to whoever
registered for them, and hands crashes to its restarter.

Its pieces each live in one module: the states and their legal moves in
``state.py``, the process and its connection in ``process.py``, the TOML of
``-c`` overrides in ``toml.py``, the liveness policy in ``restarter.py``. The
restarter drives the manager only through the public *supervision* surface
below (``state``, ``uptime``, ``is_alive()``, ``wait_for_exit()``,
``recover()``, ``give_up()``), so ``restarter_class`` can really be swapped.

It knows nothing about accounts or sessions: it is given a name, a
``CODEX_HOME``, an environment and arguments. Listeners, handlers and hooks are
registered once and survive restarts.

Why this module is long: one class whose documented traits (~130 lines) and public
API belong together, as in jupyter_client's ``KernelManager``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from traitlets import Dict, Float, Integer, List, TraitError, Type, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ..config import ENV_CODEX_BIN, default_codex_bin
from ..errors import AppServerDiedError, AppServerStartError
from ..listeners import Listeners
from ..tasks import OwnedTask, TaskOwner, within
from .connection import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_SERVER_REQUEST_TIMEOUT,
    JsonRpcConnection,
    NotificationListener,
    ServerRequestHandler,
    format_error,
    redact,
)
from .launcher import AppServerLauncher
from .process import AppServerProcess, describe_exit
from .restarter import AppServerRestarter
from .state import Lifecycle, State
from .toml import config_override_args, toml_value

LifecycleListener = Callable[[str, dict[str, Any]], None]
StartHook = Callable[[], Awaitable[None]]

# Set while a manager runs its start hooks, so that a hook's own requests go
# straight to the new connection instead of waiting for the start they are part of.
_starting_manager: ContextVar[AppServerManager | None] = ContextVar(
    "codex_starting_manager", default=None
)


class AppServerManager(LoggingConfigurable):
    """Start, watch, restart and stop one ``codex app-server``; route its traffic.

    Parameters
    ----------
    name
        Identifies this server in logs and status, e.g. ``"cli"`` or ``"api"``.
    codex_home
        The ``CODEX_HOME`` of the process; created with mode 0700.
    """

    codex_bin = Unicode(
        config=True,
        help=f"""Path of the codex executable. Default: ${ENV_CODEX_BIN}, else the binary
        shipped by the openai-codex-cli-bin package.""",
    )

    @default("codex_bin")
    def _default_codex_bin(self) -> str:
        return default_codex_bin()

    extra_args = List(
        Unicode(),
        config=True,
        help="""Extra command-line arguments appended after `codex app-server` and the
        config overrides, e.g. ["--enable", "some_feature"]. Default: none.""",
    )

    config_overrides = Dict(
        config=True,
        help="""Codex config overrides: dotted key -> Python value, passed as
        `-c key=<TOML value>` (strings quoted, booleans lowercase, lists as arrays,
        dicts as inline tables; None is not allowed). Example:
        {"model": "gpt-5", "model_providers.local": {"name": "Local", "base_url": "..."}}.
        Default: none.""",
    )

    env = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Extra environment variables for the app-server, added to the Jupyter
        server's environment (CODEX_HOME is always set by the manager). Default: none.""",
    )

    cwd = Unicode(
        "",
        config=True,
        help="Working directory of the app-server process; empty (default) keeps the server's.",
    )

    request_timeout = Float(
        60.0,
        config=True,
        help="""Seconds to wait for the answer to a request when the caller gives no
        timeout (default 60). 0 or less waits forever.""",
    )

    startup_timeout = Float(
        30.0,
        config=True,
        help="""Seconds allowed for the initialize handshake, and again for each start
        hook (default 30).""",
    )

    shutdown_wait_time = Float(
        5.0,
        config=True,
        help="""Seconds a stop may take (default 5): half after closing stdin, half
        after SIGTERM to the process group, then SIGKILL.""",
    )

    max_line_bytes = Integer(
        DEFAULT_MAX_LINE_BYTES,
        config=True,
        help="""Largest JSON line accepted from the app-server, in bytes (default 256 MiB).
        Longer lines are logged and skipped.""",
    )

    server_request_timeout = Float(
        DEFAULT_SERVER_REQUEST_TIMEOUT,
        config=True,
        help="""Seconds a server→client request (approval, user input, ...) may wait for
        its handler (default 900). After that, approvals are declined, and other
        methods get their safe fallback or a JSON-RPC error.""",
    )

    client_name = Unicode(
        "jupyter_codex",
        config=True,
        help="""clientInfo.name sent in initialize (default "jupyter_codex"). Codex uses
        it as the `originator` of requests to OpenAI.""",
    )

    client_title = Unicode(
        "Jupyter Codex", config=True, help='clientInfo.title (default "Jupyter Codex").'
    )

    client_version = Unicode(
        config=True, help="clientInfo.version (default: the jupyter-codex version)."
    )

    @default("client_version")
    def _default_client_version(self) -> str:
        # The root package is always loaded before us; reading it from
        # sys.modules keeps the supervisor's import graph (and mypy's) to itself.
        version = getattr(sys.modules.get("jupyter_codex"), "__version__", None)
        return str(version or "0.0.0")

    restarter_class = Type(
        AppServerRestarter,
        klass=AppServerRestarter,
        config=True,
        help="The restarter (liveness policy) class. Default: AppServerRestarter.",
    )

    @validate("config_overrides")
    def _validate_config_overrides(self, proposal: Any) -> dict[str, Any]:
        value: dict[str, Any] = proposal["value"]
        for key, item in value.items():
            if not isinstance(key, str) or not key or "=" in key:
                raise TraitError(f"invalid codex config key {key!r}")
            try:
                toml_value(item)
            except ValueError as e:
                raise TraitError(f"config_overrides[{key!r}]: {e}") from e
        return value

    def __init__(self, *, name: str, codex_home: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.codex_home = os.path.abspath(os.path.expanduser(codex_home))
        self.process = AppServerProcess(name=name, log=self.log)
        self.restarter: AppServerRestarter = self.restarter_class(parent=self, manager=self)
        self._lifecycle = Lifecycle(name)
        self._handlers: dict[str, ServerRequestHandler] = {}
        self._notification_listeners: Listeners[[str, dict[str, Any]]] = Listeners(
            "notification", self.log
        )
        self._lifecycle_listeners: Listeners[[str, dict[str, Any]]] = Listeners(
            "lifecycle", self.log
        )
        self._start_hooks: list[StartHook] = []
        self._tasks = TaskOwner(f"codex-app-server-{name}", self.log)
        self._start_task: OwnedTask | None = None
        self._lifecycle_lock = asyncio.Lock()
        self._stopping = False
        self._started_at: datetime | None = None
        self._started_monotonic: float | None = None
        self._ended_monotonic: float | None = None
        self._restarts = 0
        self._user_agent: str | None = None
        self._last_error: str | None = None

    # ---- public API ----

    @property
    def state(self) -> State:
        """``"stopped" | "starting" | "running" | "restarting" | "dead"``."""
        return self._lifecycle.state

    @property
    def launcher(self) -> AppServerLauncher:
        """The process-group mechanics of the current process."""
        return self.process.launcher

    @property
    def pid(self) -> int | None:
        """Pid of the live process, or ``None``."""
        return self.process.pid

    async def ensure_started(self) -> None:
        """Start the app-server if needed and wait until it is ready.

        Single-flight: concurrent callers share one start, and callers arriving
        while the restarter is at work wait for its next attempt. After
        ``"dead"`` this tries once more (a user action resets the restarter).
        Raises :class:`AppServerStartError` with a readable message.
        """
        if self.state == "running":
            return
        if self._stopping:
            raise AppServerStartError(f"codex app-server ({self.name}) is stopping")
        fut = self._lifecycle.ready or self._begin_start()
        await asyncio.shield(fut)

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a request (starting the server if needed) and return its result.

        ``timeout`` in seconds defaults to ``request_timeout``; 0 or less waits
        forever. Raises ``RpcError``, ``RpcTimeoutError``, ``AppServerDiedError``
        or ``AppServerStartError``.
        """
        conn = await self._connection()
        return await conn.request(method, params, timeout=self._timeout(timeout))

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification, starting the server if needed."""
        conn = await self._connection()
        await conn.notify(method, params)

    def add_notification_listener(self, cb: NotificationListener) -> Callable[[], None]:
        """Call ``cb(method, params)`` for every notification; returns a remover.

        ``cb`` runs on the reader task: it must not block (schedule work instead).
        """
        return self._notification_listeners.add(cb)

    def set_server_request_handler(self, method: str, handler: ServerRequestHandler) -> None:
        """Answer server→client requests of ``method`` with ``handler(params)``.

        The handler's dict is the result; an exception becomes a JSON-RPC error.
        It is cancelled if the server withdraws the request
        (``serverRequest/resolved``) and replaced by the method's fallback after
        ``server_request_timeout``.
        """
        self._handlers[method] = handler

    def add_start_hook(self, hook: StartHook) -> None:
        """Await ``hook()`` after every successful (re)start handshake.

        Runs before ``ensure_started()`` returns; its own ``request()`` calls go
        to the new process directly. A failing hook is logged (and recorded as
        ``last_error``) but does not fail the start: the process is healthy.
        """
        self._start_hooks.append(hook)

    def add_lifecycle_listener(self, cb: LifecycleListener) -> Callable[[], None]:
        """Call ``cb(event, data)`` on ``started {pid}``, ``died {pid, returncode,
        unexpected}``, ``restarting {attempt, delay}`` and ``dead {reason}``.

        ``died`` is also sent (``unexpected: False``) when stop() or restart()
        ends a process; an explicit restart's ``restarting`` carries ``reason``.
        Returns a remover.
        """
        return self._lifecycle_listeners.add(cb)

    async def restart(self, *, reason: str) -> None:
        """Kill the process group (SIGTERM, then SIGKILL) and start again.

        Pending requests fail with ``AppServerDiedError``. Resets the
        restarter's count. Raises ``AppServerStartError`` if the new process
        does not come up (the state is then ``"stopped"``).
        """
        async with self._lifecycle_lock:
            if self._stopping:
                raise AppServerStartError(f"codex app-server ({self.name}) is stopping")
            self.log.info("Restarting codex app-server (%s): %s", self.name, reason)
            await self._quiesce()
            self.restarter.reset()
            self._lifecycle.to("restarting")
            await self._discard_expected(
                graceful=False, reason=f"codex app-server ({self.name}) was restarted: {reason}"
            )
            self._fire("restarting", {"attempt": 1, "delay": 0.0, "reason": reason})
            try:
                await self._start_attempt()
            except BaseException as e:
                self._lifecycle.to("stopped", e)
                raise
            self.restarter.start()

    async def stop(self) -> None:
        """Stop gracefully: close stdin, wait, SIGTERM, wait, SIGKILL the group.

        Also stops the restarter and any start in progress, and fails pending
        requests. Idempotent; leaves no process and no task behind.
        """
        async with self._lifecycle_lock:
            self._stopping = True
            try:
                await self._quiesce()
                await self._discard_expected(
                    graceful=True, reason=f"codex app-server ({self.name}) was stopped"
                )
                self._lifecycle.to("stopped", AppServerStartError("the app-server was stopped"))
            finally:
                self._stopping = False

    def info(self) -> dict[str, Any]:
        """Status for ``GET codex/api/status``: nothing secret in it."""
        return {
            "name": self.name,
            "state": self.state,
            "pid": self.pid,
            "started_at": self._started_at.isoformat() if self._started_at else None,
            "restarts": self._restarts,
            "user_agent": self._user_agent,
            "codex_home": self.codex_home,
            "last_error": self._last_error,
        }

    # ---- supervision: the whole surface a restarter uses ----

    @property
    def uptime(self) -> float:
        """Seconds the current process has run; once it ended, how long it had run."""
        if self._started_monotonic is None:
            return 0.0
        end = self._ended_monotonic if self._ended_monotonic is not None else time.monotonic()
        return end - self._started_monotonic

    def is_alive(self) -> bool:
        """Whether the app-server is running and its process is alive."""
        return self.state == "running" and self.process.pid is not None

    async def wait_for_exit(self) -> int | None:
        """Wait until the running process ends on its own; report it; return its exit.

        On return the state is ``"restarting"`` (new callers wait for the next
        start), pending requests have failed with ``AppServerDiedError``,
        ``died {unexpected: True}`` was sent and :attr:`uptime` is frozen. The
        manager cancels this wait before any exit it causes itself.
        """
        await self.process.ended()
        # From here on, new callers wait for the restart instead of using a dead connection.
        self._lifecycle.to("restarting")
        returncode = await self.process.reap()
        self._ended_monotonic = time.monotonic()
        pid = self.launcher.pid
        self._last_error = f"codex app-server exited unexpectedly ({describe_exit(returncode)})"
        tail = self.process.stderr_tail()
        self.log.warning(
            "codex app-server (%s, pid %s) exited unexpectedly (%s)%s",
            self.name,
            pid,
            describe_exit(returncode),
            ("; last stderr lines:\n" + "\n".join(tail)) if tail else "",
        )
        await self.process.discard(
            graceful=False,
            wait_time=self.shutdown_wait_time,
            reason=f"codex app-server ({self.name}) exited ({describe_exit(returncode)})",
        )
        self._fire("died", {"pid": pid, "returncode": returncode, "unexpected": True})
        return returncode

    async def recover(self, *, attempt: int, delay: float) -> None:
        """One automatic restart: send ``restarting {attempt, delay}``, wait ``delay``
        seconds, start a new process.

        Raises :class:`AppServerStartError` if it does not come up; callers of
        ``ensure_started()`` then see that error and later ones wait for the
        next attempt.
        """
        self._lifecycle.to("restarting")
        self._fire("restarting", {"attempt": attempt, "delay": delay})
        try:
            await asyncio.sleep(delay)
            await self._start_attempt()
        except BaseException as e:
            self._lifecycle.to("restarting", e)
            raise

    async def give_up(self, reason: str) -> None:
        """Declare the app-server ``"dead"``; waiting callers fail with ``reason``.

        The next ``ensure_started()`` (a user action) tries again.
        """
        self._last_error = reason
        self._lifecycle.to(
            "dead",
            AppServerStartError(
                f"{reason}; giving up (it will be tried again on the next request)",
                name=self.name,
            ),
        )
        self._fire("dead", {"reason": reason})

    # ---- argv / env ----

    def build_argv(self) -> list[str]:
        """``codex app-server -c k=v ... <extra_args>``."""
        return [
            self.codex_bin,
            "app-server",
            *config_override_args(self.config_overrides),
            *self.extra_args,
        ]

    def build_env(self) -> dict[str, str]:
        """``os.environ`` + ``env`` + ``CODEX_HOME``."""
        return {**os.environ, **self.env, "CODEX_HOME": self.codex_home}

    def _prepare_codex_home(self) -> None:
        try:
            os.makedirs(self.codex_home, mode=0o700, exist_ok=True)
            os.chmod(self.codex_home, 0o700)  # it holds auth.json and thread history
        except OSError as e:
            message = f"cannot prepare CODEX_HOME {self.codex_home!r}: {e.strerror or e}"
            raise AppServerStartError(message, name=self.name) from e

    def _initialize_params(self) -> dict[str, Any]:
        return {
            "clientInfo": {
                "name": self.client_name,
                "title": self.client_title,
                "version": self.client_version,
            },
            "capabilities": {"experimentalApi": True},
        }

    # ---- starting ----

    def _begin_start(self) -> asyncio.Future[None]:
        previous = self.state
        if previous == "dead":
            self.restarter.reset()
        fut = self._lifecycle.to("starting")
        assert fut is not None
        self._start_task = self._tasks.start_soon(
            self._explicit_start, previous, name=f"codex-start-{self.name}"
        )
        return fut

    async def _explicit_start(self, previous: State) -> None:
        try:
            await self._start_attempt()
        except BaseException as e:
            if self.state == "starting":
                self._lifecycle.to(previous, e)
            if not isinstance(e, Exception):
                raise
        else:
            if not self._stopping:
                self.restarter.start()
        finally:
            if self._start_task is not None and self._start_task.is_current():
                self._start_task = None

    async def _start_attempt(self) -> None:
        """Launch, handshake, run hooks, go ``running``; on failure leave no process behind."""
        argv = self.build_argv()
        self.log.info(
            "Starting codex app-server (%s): %s app-server%s",
            self.name,
            argv[0],
            "".join(f" -c {key}=…" for key in self.config_overrides),
        )
        try:
            self._prepare_codex_home()
            result = await self.process.open(
                argv,
                self.build_env(),
                self.cwd or None,
                initialize_params=self._initialize_params(),
                timeout=self.startup_timeout,
                shutdown_wait_time=self.shutdown_wait_time,
                max_line_bytes=self.max_line_bytes,
                handlers=self._handlers,
                on_notification=self._dispatch_notification,
                server_request_timeout=self.server_request_timeout,
            )
        except AppServerStartError as e:
            self._last_error = e.message
            raise
        self._user_agent = result.get("userAgent")
        self._started_at = datetime.now(timezone.utc)
        self._started_monotonic, self._ended_monotonic = time.monotonic(), None
        pid = self.launcher.pid
        self.log.info("codex app-server (%s) is up, pid %s: %s", self.name, pid, self._user_agent)
        try:
            await self._run_start_hooks()
        except BaseException:
            await self.process.discard(
                graceful=False,
                wait_time=self.shutdown_wait_time,
                reason=f"codex app-server ({self.name}) start was interrupted",
            )
            raise
        if self.state == "restarting":
            self._restarts += 1
        self._lifecycle.to("running")
        self._fire("started", {"pid": pid})

    async def _run_start_hooks(self) -> None:
        token = _starting_manager.set(self)
        try:
            for hook in list(self._start_hooks):
                try:
                    await within(hook(), self.startup_timeout)
                except asyncio.TimeoutError:
                    self._last_error = f"a start hook took longer than {self.startup_timeout:g} s"
                    self.log.error("codex app-server (%s): %s", self.name, self._last_error)
                except Exception as e:  # noqa: BLE001 - a hook must not fail the start
                    self._last_error = f"start hook failed: {redact(str(e))}"
                    self.log.error(
                        "Start hook of codex app-server (%s) failed:\n%s",
                        self.name,
                        format_error(e),
                    )
        finally:
            _starting_manager.reset(token)

    # ---- stopping ----

    async def _quiesce(self) -> None:
        """Cancel a start in progress and the watcher, so no exit looks unexpected."""
        if self._start_task is not None:
            await self._start_task.stop()
        await self.restarter.stop()

    async def _discard_expected(self, *, graceful: bool, reason: str) -> None:
        """Take down the current process on purpose, reporting ``died`` (expected)."""
        pid = self.launcher.pid
        had_process = self.launcher.has_process()
        returncode = await self.process.discard(
            graceful=graceful, wait_time=self.shutdown_wait_time, reason=reason
        )
        if had_process:
            self._fire("died", {"pid": pid, "returncode": returncode, "unexpected": False})

    # ---- dispatch ----

    async def _connection(self) -> JsonRpcConnection:
        if _starting_manager.get() is not self:
            await self.ensure_started()
        conn = self.process.connection
        if conn is None:
            raise AppServerDiedError(f"codex app-server ({self.name}) is not running")
        return conn

    def _timeout(self, timeout: float | None) -> float | None:
        value = self.request_timeout if timeout is None else timeout
        return value if value > 0 else None

    def _dispatch_notification(self, method: str, params: dict[str, Any]) -> None:
        self._notification_listeners.emit_nowait(method, params)

    def _fire(self, event: str, data: dict[str, Any]) -> None:
        self.log.debug("codex app-server (%s) lifecycle event %s %s", self.name, event, data)
        self._lifecycle_listeners.emit_nowait(event, data)


__all__ = [
    "AppServerManager",
    "LifecycleListener",
    "StartHook",
    "config_override_args",
    "toml_value",
]
