"""``%codex`` and friends: Codex in any notebook cell.

``%load_ext jupyter_codex`` registers ``%codex`` / ``%%codex``, ``%codex_fix``,
``%codex_status``, ``%codex_accounts`` and ``%codex_sessions``. They talk to
the server's workspace through the Python client (the same sessions and
accounts as the panel) and never import the server.

Top-level ``%codex`` cells are rewritten to ``await`` :meth:`CodexMagics.run_async`
(see ``extension.py``), which keeps the kernel's loop free during the turn: widget
clicks arrive while the cell runs and "interrupt kernel" stops the turn. Every
failure the user can act on is shown as one readable line, without traceback.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand

from ..client import TurnResult
from ..client._portal import get_portal
from ..errors import (
    ClientError,
    CodexError,
    NoAccountAvailableError,
    NotFoundError,
    ServerUnreachableError,
)
from ..models import TARGETS
from .connection import Connection, get_connection
from .context import ContextMode, build_context, compose_prompt, interpolate, notebook_path
from .images import ImageSpecError, image_bytes
from .notebook_tools import ToolConflictError, notebook_tools
from .options import OptionError, parse_line, usage
from .runner import TurnPlan, TurnRunner, UiCalls, stop_turn
from .sessions import SessionRequest, shared_book
from .tables import accounts_bundle, sessions_bundle, status_bundle

_CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py|ipython|python3)?[ \t]*\n(.*?)```", re.DOTALL)


class CodexMagicError(ClientError):
    """A failure the user can act on; shown as its message alone."""


def readable(error: BaseException) -> str:
    """One paragraph for an error of the tree: what happened and what to do."""
    message = error.message if isinstance(error, CodexError) else str(error)
    if isinstance(error, NoAccountAvailableError):
        return f"{message} See %codex_accounts."
    if isinstance(error, NotFoundError) and "ession" in message:
        return f"{message} %codex_sessions lists the sessions; %codex --new starts one."
    if isinstance(error, ServerUnreachableError):
        return f"{message} Restart the Jupyter server (or this kernel) and try again."
    return message


def turn_failure(result: TurnResult) -> str:
    error = result.error
    message = (error.message if error else "") or "the turn failed"
    code = (error.code if error else None) or ""
    if code in ("usageLimitExceeded", "usage_limit_reached") or "usage limit" in message.lower():
        return (
            f"The account Codex used has hit its usage limit: {message} "
            "Pick another account with %codex_accounts use ID (or wait for the reset)."
        )
    if code in ("unauthorized",):
        return f"The account was refused upstream: {message} Sign in again (jupyter codex accounts login)."
    return f"The turn failed: {message}" + (f" ({code})" if code else "")


def extract_code(text: str) -> str:
    """The Python code of a reply: its first fenced block, else the whole text."""
    match = _CODE_BLOCK.search(text)
    return (match.group(1) if match else text).strip("\n")


def _kernel_delivers_clicks() -> tuple[bool, str]:
    """Can a widget click reach a cell that is awaiting? (ipykernel >= 7.4 with ipywidgets)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False, "ipywidgets is not installed in this kernel (pip install ipywidgets)."
    kernel = sys.modules.get("ipykernel")
    version = getattr(kernel, "version_info", None)
    if kernel is None or not isinstance(version, tuple) or version < (7, 4):
        return (
            False,
            "This kernel cannot take button clicks during a cell (needs ipykernel >= 7.4).",
        )
    return True, ""


async def _keep_waking(period: float = 0.2) -> None:
    """Wake the loop now and then while a turn runs.

    ipykernel turns SIGINT into a callback scheduled from the signal handler with
    ``call_soon`` (tornado's ``add_callback`` on its own thread), which does not
    wake a loop blocked in ``select``; without a timer due soon, "interrupt
    kernel" would only take effect at the next unrelated event.
    """
    while True:  # noqa: ASYNC110 - the timer itself is the point
        await asyncio.sleep(period)


@magics_class
class CodexMagics(Magics):
    """The ``%codex`` magics of one shell."""

    def __init__(self, shell: Any, connection: Connection | None = None) -> None:
        super().__init__(shell)
        self.connection = connection or get_connection()
        self.book = shared_book()
        self.book.notebook = self.book.notebook or notebook_path(shell.user_ns)
        self.last_result: TurnResult | None = None

    # -- %codex ----------------------------------------------------------------

    @no_var_expand  # type: ignore[untyped-decorator,unused-ignore]
    @line_cell_magic  # type: ignore[untyped-decorator,unused-ignore]
    def codex(self, line: str, cell: str | None = None) -> None:
        """Ask Codex: ``%codex [options] PROMPT`` or ``%%codex [options]`` + prompt cell."""
        plan = self._plan(line, cell)
        if plan is not None:
            self._finish(plan, self._run_blocking(plan))

    @no_var_expand  # type: ignore[untyped-decorator,unused-ignore]
    @line_magic  # type: ignore[untyped-decorator,unused-ignore]
    def codex_fix(self, line: str) -> None:
        """Send the last exception and its traceback to Codex and ask for a fix."""
        plan = self._plan("--fix " + line, None)
        if plan is not None:
            self._finish(plan, self._run_blocking(plan))

    async def run_async(self, name: str, line: str, cell: str | None = None) -> None:
        """What ``await``-rewritten cells call (see ``extension.async_transformer``)."""
        plan = self._plan(("--fix " if name == "codex_fix" else "") + line, cell)
        if plan is not None:
            self._finish(plan, await self._run_on_loop(plan))

    def _plan(self, line: str, cell: str | None) -> TurnPlan | None:
        if line.strip() in ("--help", "-h"):
            print(usage())
            return None
        try:
            options, prompt = parse_line(line)
        except OptionError as e:
            raise CodexMagicError(str(e)) from None
        if cell is not None:
            prompt = "\n".join(p for p in (prompt, cell.strip()) if p)
        shell: Any = self.shell
        user_ns = shell.user_ns
        prompt = interpolate(prompt, user_ns)
        if options.fix:
            prompt = prompt or "Fix the error raised by the last cell."
            if options.insert:
                prompt += " Give the corrected cell."
        if options.insert and "format" not in options.given:
            options.format = "code"
        if not prompt.strip():
            raise CodexMagicError("Nothing to ask: %codex PROMPT (see %codex --help).")
        mode: ContextMode = options.context or ("cell" if options.fix else "notebook")  # type: ignore[assignment]
        context = build_context(
            mode,
            prompt,
            user_ns,
            hidden=shell.user_ns_hidden,
            include_error=options.fix,
            output_format=options.format,
            inputs=list(shell.history_manager.input_hist_raw),
        )
        if options.fix and context.error is None:
            raise CodexMagicError("There is no exception to fix: run the failing cell first.")
        self.book.notebook = self.book.notebook or notebook_path(user_ns)
        try:
            tools = None if options.no_tools else notebook_tools(user_ns, shell.user_ns_hidden)
        except ToolConflictError as e:
            raise CodexMagicError(str(e)) from None
        try:
            images = [image_bytes(spec, user_ns) for spec in options.images]
        except ImageSpecError as e:
            raise CodexMagicError(str(e)) from None
        return TurnPlan(
            images=images,
            text=compose_prompt(prompt, context),
            request=SessionRequest(
                name=options.session,
                new=options.new,
                cwd=options.cwd,
                model=options.model,
                effort=options.effort,
            ),
            output_format=options.format,
            notes=["insert"] if options.insert else [],
            tools=tools,
        )

    def _fail(self, error: CodexError) -> CodexMagicError:
        """The readable error; a private server that went away is started again next time."""
        if isinstance(error, ServerUnreachableError) and self.connection.embedded:
            self.connection.reset()
        return CodexMagicError(readable(error))

    def _connect(self) -> None:
        try:
            self.connection.info  # noqa: B018 - discovery; may start the private server
        except CodexError as e:
            raise self._fail(e) from None

    async def _run_on_loop(self, plan: TurnPlan) -> TurnResult | None:
        self._connect()
        clicks, why = _kernel_delivers_clicks()
        runner = TurnRunner(self.book, UiCalls(direct=True), buttons=clicks, no_buttons_why=why)
        client = self.connection.async_client()
        ticker = asyncio.ensure_future(_keep_waking())
        try:
            return await runner.run(client, plan)
        except asyncio.CancelledError:
            self._stopped(plan, await stop_turn(client, plan.session_id))
            return None
        except CodexError as e:
            raise self._fail(e) from None
        finally:
            ticker.cancel()

    def _run_blocking(self, plan: TurnPlan) -> TurnResult | None:
        self._connect()
        client = self.connection.sync_client()
        ui = UiCalls(direct=False)
        runner = TurnRunner(
            self.book, ui, buttons=False, no_buttons_why="This cell cannot show buttons."
        )
        future = asyncio.run_coroutine_threadsafe(runner.run(client.aio, plan), get_portal().loop)
        try:
            return ui.pump(future)  # type: ignore[no-any-return]
        except KeyboardInterrupt:
            future.cancel()
            stopped = plan.session_id is not None and bool(
                client.stop(plan.session_id).get("stopped")
            )
            self._stopped(plan, stopped)
            return None
        except CodexError as e:
            raise self._fail(e) from None

    def _stopped(self, plan: TurnPlan, stopped: bool) -> None:
        if plan.display is not None:
            plan.display.timeline.status = "interrupted"
            plan.display.refresh()
        print("Stopped the turn." if stopped else "Interrupted; no turn was running.")

    def _finish(self, plan: TurnPlan, result: TurnResult | None) -> None:
        """After the turn: report a failure, insert code, remember the result."""
        if result is None:
            return
        self.last_result = result
        if result.turn_id is None and result.response:
            self._slash_command(result.response)
            return
        if result.status == "failed":
            raise CodexMagicError(turn_failure(result))
        if result.status == "interrupted":
            print("The turn was stopped.")
            return
        if "insert" in plan.notes:
            code = extract_code(result.text)
            if code:
                shell: Any = self.shell
                shell.set_next_input(code, replace=False)
                print("Codex's code is in a new cell below.")

    def _slash_command(self, response: dict[str, Any]) -> None:
        from IPython.display import JSON, display  # type: ignore[attr-defined,unused-ignore]

        session = response.get("session")
        if response.get("command") == "new" and isinstance(session, dict):
            self.book.default_id = str(session.get("id"))
            print(f"New session {session.get('id')}: later %codex calls use it.")
            return
        display(JSON(response))

    # -- status, accounts, sessions --------------------------------------------------

    def _client_call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._connect()
        try:
            return fn(self.connection.sync_client(), *args, **kwargs)
        except CodexError as e:
            raise self._fail(e) from None

    @line_magic  # type: ignore[untyped-decorator,unused-ignore]
    def codex_status(self, line: str = "") -> None:
        """The server, both targets' accounts, and this notebook's session."""
        from IPython.display import display

        def collect(client: Any) -> tuple[Any, Any]:
            session = None
            if self.book.default_id:
                try:
                    session = client.get_session(self.book.default_id)
                except NotFoundError:
                    self.book.default_id = None
            return client.status(), session

        status, session = self._client_call(collect)
        info = self.connection.info
        source = (
            "private server of this kernel"
            if self.connection.embedded
            else ("found in the environment" if info.source != "explicit" else "given")
        )
        display(status_bundle(status, info.url, source, session), raw=True)

    @line_magic  # type: ignore[untyped-decorator,unused-ignore]
    def codex_accounts(self, line: str = "") -> None:
        """List accounts with their quota; ``use ID [--target cli|api]``; ``refresh``."""
        from IPython.display import display

        words = line.split()
        if words[:1] == ["use"]:
            if len(words) < 2:
                raise CodexMagicError("Usage: %codex_accounts use ID [--target cli|api]")
            target = "cli"
            if "--target" in words:
                index = words.index("--target")
                target = words[index + 1] if index + 1 < len(words) else ""
            if target not in TARGETS:
                raise CodexMagicError("--target must be cli or api.")
            state = self._client_call(lambda c: c.use_account(words[1], target))
            print(f"Target {state.name} now uses account {state.account_id}.")
        elif words[:1] == ["refresh"]:
            self._client_call(lambda c: c.usage(refresh=True))
        elif words:
            raise CodexMagicError("Usage: %codex_accounts [refresh | use ID [--target cli|api]]")
        accounts = self._client_call(lambda c: c.accounts())
        display(accounts_bundle(accounts), raw=True)

    @line_magic  # type: ignore[untyped-decorator,unused-ignore]
    def codex_sessions(self, line: str = "") -> None:
        """This server's sessions (``--all`` includes archived ones)."""
        from IPython.display import display

        archived = "--all" in line.split()

        def collect(client: Any) -> list[Any]:
            sessions = list(client.list_sessions())
            return sessions + list(client.list_sessions(archived=True)) if archived else sessions

        sessions = self._client_call(collect)
        display(sessions_bundle(sessions, self.book.default_id), raw=True)


__all__ = ["CodexMagicError", "CodexMagics", "extract_code", "readable", "turn_failure"]
