"""Lifecycle of one supervised ``codex app-server`` (jupyter_client's ``KernelManager``).

An :class:`AppServerManager` starts its process lazily on the first request,
performs the ``initialize``/``initialized`` handshake, runs start hooks (for
example a login), routes notifications and server→client requests to whoever
registered for them, and hands crashes to its :class:`AppServerRestarter`.

It knows nothing about accounts or sessions: it is given a name, a
``CODEX_HOME``, an environment and arguments. Listeners, handlers and hooks are
registered once and survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Literal

from traitlets import Dict, Float, Integer, List, TraitError, Type, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ..config import ENV_CODEX_BIN, default_codex_bin
from ..errors import AppServerDiedError, AppServerError, AppServerStartError
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
from .restarter import AppServerRestarter

State = Literal["stopped", "starting", "running", "restarting", "dead"]
LifecycleListener = Callable[[str, dict[str, Any]], None]
StartHook = Callable[[], Awaitable[None]]

# Set while a manager runs its start hooks, so that a hook's own requests go
# straight to the new connection instead of waiting for the start they are part of.
_starting_manager: ContextVar[AppServerManager | None] = ContextVar(
    "codex_starting_manager", default=None
)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_STDERR_IN_ERRORS = 12


# ---- TOML values for `-c key=value` ----


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def toml_value(value: Any) -> str:
    """Render a Python value as a TOML value for codex's ``-c key=value``.

    Strings are quoted (codex would otherwise take an unparsable value as a raw
    string, silently), booleans are lowercase, lists are arrays and dicts inline
    tables. ``None`` has no TOML form and raises ``ValueError``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"cannot express {type(value).__name__} {value!r} in TOML")


def config_override_args(overrides: dict[str, Any]) -> list[str]:
    """``{"a.b": 1}`` → ``["-c", "a.b=1"]``, in insertion order."""
    args: list[str] = []
    for key, value in overrides.items():
        args += ["-c", f"{key}={toml_value(value)}"]
    return args


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "exit status unknown"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


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
        self.launcher = AppServerLauncher(log=self.log, label=f"codex app-server [{name}]")
        self.restarter: AppServerRestarter = self.restarter_class(parent=self, manager=self)
        self._state: State = "stopped"
        self._conn: JsonRpcConnection | None = None
        self._handlers: dict[str, ServerRequestHandler] = {}
        self._notification_listeners: list[NotificationListener] = []
        self._lifecycle_listeners: list[LifecycleListener] = []
        self._start_hooks: list[StartHook] = []
        # Outcome of the start in progress (explicit or automatic); shared by all
        # callers of ensure_started() — the single-flight.
        self._ready: asyncio.Future[None] | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._lifecycle_lock = asyncio.Lock()
        self._stopping = False
        self._started_at: datetime | None = None
        self._started_monotonic = 0.0
        self._restarts = 0
        self._user_agent: str | None = None
        self._last_error: str | None = None

    # ---- public API ----

    @property
    def state(self) -> State:
        """``"stopped" | "starting" | "running" | "restarting" | "dead"``."""
        return self._state

    @property
    def pid(self) -> int | None:
        """Pid of the live process, or ``None``."""
        return self.launcher.pid if self.launcher.has_process() else None

    async def ensure_started(self) -> None:
        """Start the app-server if needed and wait until it is ready.

        Single-flight: concurrent callers share one start, and callers arriving
        while the restarter is at work wait for its next attempt. After
        ``"dead"`` this tries once more (a user action resets the restarter).
        Raises :class:`AppServerStartError` with a readable message.
        """
        if self._state == "running":
            return
        if self._stopping:
            raise AppServerStartError(f"codex app-server ({self.name}) is stopping")
        fut = self._ready
        if fut is None:
            if self._state not in ("stopped", "dead"):  # pragma: no cover - invariant
                raise AppServerStartError(f"codex app-server ({self.name}) is {self._state}")
            fut = self._begin_start()
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
        self._notification_listeners.append(cb)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._notification_listeners.remove(cb)

        return remove

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
        self._lifecycle_listeners.append(cb)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._lifecycle_listeners.remove(cb)

        return remove

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
            self._state = "restarting"
            fut = self._ready or self._new_ready()
            await self._discard_expected(
                graceful=False, reason=f"codex app-server ({self.name}) was restarted: {reason}"
            )
            self._fire("restarting", {"attempt": 1, "delay": 0.0, "reason": reason})
            try:
                await self._start_attempt()
            except BaseException as e:
                self._state = "stopped"
                self._settle(fut, e)
                raise
            self._restarts += 1
            self._settle(fut, None)
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
                if self._ready is not None:
                    self._settle(self._ready, AppServerStartError("the app-server was stopped"))
                self._state = "stopped"
            finally:
                self._stopping = False

    def info(self) -> dict[str, Any]:
        """Status for ``GET codex/api/status``: nothing secret in it."""
        return {
            "name": self.name,
            "state": self._state,
            "pid": self.pid,
            "started_at": self._started_at.isoformat() if self._started_at else None,
            "restarts": self._restarts,
            "user_agent": self._user_agent,
            "codex_home": self.codex_home,
            "last_error": self._last_error,
        }

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
            self._last_error = message
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

    def _new_ready(self) -> asyncio.Future[None]:
        self._ready = asyncio.get_running_loop().create_future()
        return self._ready

    def _settle(self, fut: asyncio.Future[None], error: BaseException | None) -> None:
        """Resolve a readiness future; every waiter sees an AppServerStartError."""
        if self._ready is fut:
            self._ready = None
        if fut.done():
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

    def _begin_start(self) -> asyncio.Future[None]:
        previous = self._state
        if previous == "dead":
            self.restarter.reset()
        self._state = "starting"
        fut = self._new_ready()
        self._start_task = asyncio.create_task(
            self._explicit_start(previous, fut), name=f"codex-start-{self.name}"
        )
        return fut

    async def _explicit_start(self, previous: State, fut: asyncio.Future[None]) -> None:
        try:
            await self._start_attempt()
        except BaseException as e:
            if self._state == "starting":
                self._state = previous
            self._settle(fut, e)
            if not isinstance(e, Exception):
                raise
        else:
            self._settle(fut, None)
            if not self._stopping:
                self.restarter.start()
        finally:
            if self._start_task is asyncio.current_task():
                self._start_task = None

    async def _start_attempt(self) -> None:
        """Launch, handshake, run hooks; on any failure leave no process behind."""
        argv = self.build_argv()
        self._prepare_codex_home()
        self.log.info(
            "Starting codex app-server (%s): %s app-server%s",
            self.name,
            argv[0],
            "".join(f" -c {key}=…" for key in self.config_overrides),
        )
        try:
            process = await self.launcher.launch(argv, self.build_env(), self.cwd or None)
        except OSError as e:
            message = (
                f"could not run codex app-server ({self.name}) from {argv[0]!r}: "
                f"{e.strerror or e}. Set c.AppServerManager.codex_bin or ${ENV_CODEX_BIN}."
            )
            self._last_error = message
            raise AppServerStartError(message, name=self.name) from e
        assert process.stdout is not None and process.stdin is not None
        conn = JsonRpcConnection(
            process.stdout,
            process.stdin,
            max_line_bytes=self.max_line_bytes,
            log=self.log,
            handlers=self._handlers,
            on_notification=self._dispatch_notification,
            server_request_timeout=self.server_request_timeout,
        )
        conn.start()
        self._conn = conn
        try:
            result = await conn.request(
                "initialize", self._initialize_params(), timeout=self.startup_timeout
            )
            await conn.notify("initialized")
        except BaseException as e:
            returncode = await self._discard_process(
                graceful=False, reason=f"codex app-server ({self.name}) failed to start"
            )
            if not isinstance(e, AppServerError):
                raise
            message = self._start_failure_message(e, returncode)
            self._last_error = message
            raise AppServerStartError(message, name=self.name) from e
        self._user_agent = result.get("userAgent") if isinstance(result, dict) else None
        self._started_at = datetime.now(timezone.utc)
        self._started_monotonic = time.monotonic()
        self.log.info(
            "codex app-server (%s) is up, pid %d: %s", self.name, process.pid, self._user_agent
        )
        try:
            await self._run_start_hooks()
        except BaseException:
            await self._discard_process(
                graceful=False, reason=f"codex app-server ({self.name}) start was interrupted"
            )
            raise
        self._state = "running"
        self._fire("started", {"pid": process.pid})

    async def _run_start_hooks(self) -> None:
        token = _starting_manager.set(self)
        try:
            for hook in list(self._start_hooks):
                try:
                    await asyncio.wait_for(hook(), self.startup_timeout)
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

    def _start_failure_message(self, error: AppServerError, returncode: int | None) -> str:
        parts = [f"codex app-server ({self.name}) did not start: {error.message}"]
        if returncode is not None:
            parts.append(f"It exited ({_describe_exit(returncode)}).")
        tail = self.launcher.stderr_tail(_STDERR_IN_ERRORS)
        if tail:
            parts.append("Last stderr lines:\n" + "\n".join(tail))
        return "\n".join(parts)

    # ---- stopping ----

    async def _quiesce(self) -> None:
        """Cancel a start in progress and the watcher, so no exit looks unexpected."""
        task = self._start_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.restarter.stop()

    async def _discard_expected(self, *, graceful: bool, reason: str) -> None:
        """Take down the current process on purpose, reporting ``died`` (expected)."""
        pid = self.launcher.pid
        had_process = self.launcher.has_process()
        returncode = await self._discard_process(graceful=graceful, reason=reason)
        if had_process:
            self._fire("died", {"pid": pid, "returncode": returncode, "unexpected": False})

    async def _discard_process(self, *, graceful: bool, reason: str) -> int | None:
        """Close the connection (failing pending requests) and end the process group.

        ``graceful``: EOF on stdin, wait half of ``shutdown_wait_time``, SIGTERM,
        wait the other half, SIGKILL. Otherwise SIGTERM first. Runs to the end
        even if the caller is cancelled, so no process or task is left behind.
        """
        task = asyncio.create_task(self._discard_process_now(graceful=graceful, reason=reason))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise

    async def _discard_process_now(self, *, graceful: bool, reason: str) -> int | None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.aclose(reason)  # also closes stdin: app-server exits on EOF
        launcher = self.launcher
        half = max(self.shutdown_wait_time / 2, 0.0)
        if launcher.has_process() and graceful:
            await launcher.wait(half)
        if launcher.has_process():
            self.log.debug("Sending SIGTERM to codex app-server (%s)", self.name)
            launcher.terminate()
            await launcher.wait(half)
        if launcher.has_process():
            self.log.warning("codex app-server (%s) ignored SIGTERM; killing it", self.name)
            launcher.kill()
            await launcher.wait(5.0)
        returncode = launcher.poll()
        await launcher.cleanup()
        return returncode

    # ---- used by the restarter ----

    async def _wait_for_exit(self) -> int | None:
        """Return once the process exits, or kill it once its output is unusable."""
        conn = self._conn
        exit_task = asyncio.create_task(self.launcher.wait(), name="codex-wait-exit")
        waiting: set[asyncio.Future[Any]] = {exit_task}
        if conn is not None:
            waiting.add(conn.closed)
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await exit_task
        # From here on, new callers wait for the restart instead of using a dead connection.
        self._state = "restarting"
        if self._ready is None:
            self._new_ready()
        # stdout closed or the reader failed while the process lives: the
        # protocol cannot recover, so treat it as a crash.
        if self.launcher.has_process() and await self.launcher.wait(1.0) is None:
            reason = conn.close_reason if conn is not None else "no connection"
            self.log.error(
                "Lost the connection to codex app-server (%s) (%s); killing it", self.name, reason
            )
            self.launcher.kill()
            await self.launcher.wait(5.0)
        return self.launcher.poll()

    async def _handle_unexpected_exit(self, returncode: int | None) -> None:
        """Fail pending requests, report ``died``; callers now wait for a restart."""
        pid = self.launcher.pid
        self._state = "restarting"
        if self._ready is None:
            self._new_ready()
        self._last_error = f"codex app-server exited unexpectedly ({_describe_exit(returncode)})"
        tail = self.launcher.stderr_tail(_STDERR_IN_ERRORS)
        self.log.warning(
            "codex app-server (%s, pid %s) exited unexpectedly (%s)%s",
            self.name,
            pid,
            _describe_exit(returncode),
            ("; last stderr lines:\n" + "\n".join(tail)) if tail else "",
        )
        await self._discard_process(
            graceful=False,
            reason=f"codex app-server ({self.name}) exited ({_describe_exit(returncode)})",
        )
        self._fire("died", {"pid": pid, "returncode": returncode, "unexpected": True})

    async def _restart_attempt(self) -> None:
        """One automatic restart; on failure, later callers wait for the next one."""
        self._state = "restarting"
        fut = self._ready or self._new_ready()
        try:
            await self._start_attempt()
        except BaseException as e:
            self._settle(fut, e)
            self._new_ready()
            raise
        self._restarts += 1
        self._settle(fut, None)

    async def _mark_dead(self, reason: str) -> None:
        self._state = "dead"
        self._last_error = reason
        if self._ready is not None:
            self._settle(
                self._ready,
                AppServerStartError(
                    f"{reason}; giving up (it will be tried again on the next request)",
                    name=self.name,
                ),
            )
        self._fire("dead", {"reason": reason})

    # ---- dispatch ----

    async def _connection(self) -> JsonRpcConnection:
        if _starting_manager.get() is not self:
            await self.ensure_started()
        conn = self._conn
        if conn is None:
            raise AppServerDiedError(f"codex app-server ({self.name}) is not running")
        return conn

    def _timeout(self, timeout: float | None) -> float | None:
        value = self.request_timeout if timeout is None else timeout
        return value if value > 0 else None

    def _dispatch_notification(self, method: str, params: dict[str, Any]) -> None:
        for cb in list(self._notification_listeners):
            try:
                cb(method, params)
            except Exception:
                self.log.exception("Notification listener failed on %s", method)

    def _fire(self, event: str, data: dict[str, Any]) -> None:
        self.log.debug("codex app-server (%s) lifecycle event %s %s", self.name, event, data)
        for cb in list(self._lifecycle_listeners):
            try:
                cb(event, data)
            except Exception:
                self.log.exception("Lifecycle listener failed on %s", event)


__all__ = [
    "AppServerManager",
    "LifecycleListener",
    "StartHook",
    "config_override_args",
    "toml_value",
]
