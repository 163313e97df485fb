"""Run a cell in a notebook's own kernel, through the Jupyter server's managers.

A closed notebook's cell runs in the kernel of the notebook's Jupyter session,
the one JupyterLab attaches to when the notebook is opened; when the notebook
has none, a session (and its kernel) is started for it. The run reads IOPub
until the kernel is idle again, hands each output to ``on_output`` as it comes
(the timeline's progress), and never waits forever: a timeout interrupts the
kernel, and a kernel that dies (or is restarted) mid-run ends the run at once.
A kernel busy with another cell would queue the run behind it: its main shell must
answer ``kernel_info`` within ``BUSY_GRACE`` or the run is refused with a message the
model can act on (the server's ``execution_state`` cannot tell, see ``BUSY_GRACE``).

While a ``%codex`` cell of the notebook runs, its kernel is busy with that cell,
which waits for its turn, which waits for this run: queued on the main shell the
run would never start. So each run first asks the kernel, through a **subshell**
(JEP 91, ipykernel >= 7: its own thread, the same namespace), whether a ``%codex``
turn is in progress (``jupyter_codex.kernel.runner.turns_in_progress``); if one is,
the cell runs in that subshell, concurrently with the ``%codex`` cell, and its
outputs come back as usual. A run there cannot be interrupted (an interrupt stops
the main shell: the ``%codex`` cell), so a timeout leaves it running, and its
subshell, and says so.

This module duck-types jupyter_server's ``SessionManager`` and
``MappingKernelManager`` (the composition root hands them in), so it does not
import the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient

from ..errors import KernelRunError

#: Seconds between liveness checks of the kernel while a run waits for output.
POLL_INTERVAL = 0.25
#: Seconds a kernel has to answer a control request (a subshell's creation).
CONTROL_TIMEOUT = 5.0
#: Seconds the main shell of a running kernel has to answer ``kernel_info`` before a
#: run is refused as queued behind another cell. (The server's ``execution_state`` is
#: no guide: it lags the kernel, and a subshell's idle status overwrites the main
#: shell's busy one.)
BUSY_GRACE = 3.0
#: Seconds a kernel started for the run has to answer at all.
START_TIMEOUT = 60.0
#: Reported through ``on_output`` when the cell clears its outputs
#: (``IPython.display.clear_output``): not an nbformat output, never saved.
CLEAR_OUTPUT: dict[str, Any] = {"output_type": "clear_output"}
#: Evaluated in a subshell: how many ``%codex`` turns the kernel runs now (0 when the
#: extension is not loaded there).
TURNS_PROBE = (
    "(lambda m: m.turns_in_progress() if m is not None else 0)"
    "(__import__('sys').modules.get('jupyter_codex.kernel.runner'))"
)


class SessionManagerLike(Protocol):
    async def list_sessions(self) -> list[dict[str, Any]]: ...

    async def create_session(
        self,
        path: str | None = None,
        name: str | None = None,
        type: str | None = None,
        kernel_name: str | None = None,
        kernel_id: str | None = None,
    ) -> dict[str, Any]: ...


class KernelManagersLike(Protocol):
    def get_kernel(self, kernel_id: str) -> Any: ...


@dataclass
class RunResult:
    outputs: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    status: str = "ok"  # ok | error | timeout | died
    seconds: float = 0.0
    #: Ran in a subshell, beside a running ``%codex`` cell.
    subshell: bool = False


class NotebookKernels:
    """The kernels of notebooks, found or started through the server's session manager."""

    def __init__(
        self, sessions: SessionManagerLike, kernels: KernelManagersLike, log: logging.Logger
    ) -> None:
        self.sessions = sessions
        self.kernels = kernels
        self.log = log
        #: Kernels (ids) that do not answer subshell requests (ipykernel < 7).
        self._no_subshells: set[str] = set()

    async def kernel_for(self, path: str, kernel_name: str | None) -> Any:
        """The kernel manager of ``path``'s session, starting one if it has none."""
        km, _ = await self._kernel_for(path, kernel_name)
        return km

    async def _kernel_for(self, path: str, kernel_name: str | None) -> tuple[Any, bool]:
        """The kernel manager and whether it was started just now."""
        for model in await self.sessions.list_sessions():
            kernel = model.get("kernel") or {}
            if model.get("path") == path and kernel.get("id"):
                return self.kernels.get_kernel(kernel["id"]), False
        self.log.info("Starting a kernel (%s) for %s", kernel_name or "default", path)
        model = await self.sessions.create_session(
            path=path, name=os.path.basename(path), type="notebook", kernel_name=kernel_name
        )
        return self.kernels.get_kernel(model["kernel"]["id"]), True

    async def run(
        self,
        path: str,
        kernel_name: str | None,
        code: str,
        *,
        timeout: float,
        on_output: Callable[[dict[str, Any]], None] | None = None,
    ) -> RunResult:
        """Execute ``code`` in the notebook's kernel and collect its outputs."""
        try:
            km, fresh = await self._kernel_for(path, kernel_name)
        except Exception as e:
            raise KernelRunError(f"The notebook's kernel could not be started: {e}") from e
        # With the manager as parent, liveness is the process, not a heartbeat that a
        # busy machine may delay.
        client = AsyncKernelClient(parent=km)
        client.load_connection_info(km.get_connection_info(session=False))
        client.start_channels()
        died = asyncio.Event()

        def on_death() -> None:
            died.set()

        km.add_restart_callback(on_death, "restart")
        km.add_restart_callback(on_death, "dead")
        subshell: str | None = None
        finished = False  # the run ended in the kernel (its subshell is idle again)
        try:
            # A kernel started just now runs no %codex cell; one that ignored a
            # subshell request before has no subshells (and would make us wait again).
            kernel_id = str(getattr(km, "kernel_id", id(km)))
            if not fresh and kernel_id not in self._no_subshells:
                subshell = await self._codex_subshell(client, kernel_id)
            if subshell is None:
                await self._main_shell_ready(client, fresh)
            result = await self._run(km, client, code, timeout, died, on_output, subshell)
            finished = result.status in ("ok", "error")
            return result
        finally:
            for event in ("restart", "dead"):
                with contextlib.suppress(Exception):
                    km.remove_restart_callback(on_death, event)
            if subshell is not None and finished:
                # Only an idle subshell is deleted: ipykernel deletes a busy one by
                # joining its thread in the thread that routes every shell message,
                # which would block the whole kernel until the code ends. A timed-out
                # run's subshell stays (an idle thread once its code ends).
                await self._control(client, "delete_subshell_request", {"subshell_id": subshell})
            client.stop_channels()

    @staticmethod
    async def _main_shell_ready(client: AsyncKernelClient, fresh: bool) -> None:
        """Wait until the main shell answers; a busy one queues our cell behind the
        running cell, so say so at once instead of timing out."""
        try:
            await client.wait_for_ready(timeout=START_TIMEOUT if fresh else BUSY_GRACE)
        except Exception as e:
            if fresh or "died" in str(e):
                raise KernelRunError(f"The notebook's kernel is not responding: {e}") from e
            raise KernelRunError(
                "The notebook's kernel is busy running another cell (or not responding), "
                "so this cell cannot run now; tell the user to run it (or to wait for "
                "the cell)."
            ) from e

    # -- subshells ----------------------------------------------------------------------

    async def _control(
        self, client: AsyncKernelClient, kind: str, content: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Send a control request; its reply's content, or None (no reply in time: a
        kernel without subshells ignores the request)."""
        msg = client.session.msg(kind, content)
        client.control_channel.send(msg)
        deadline = time.monotonic() + CONTROL_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = await client.get_control_msg(timeout=left)
            except queue.Empty:
                return None
            if reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]:
                return dict(reply["content"])
        return None

    @staticmethod
    def _execute_in(
        client: AsyncKernelClient,
        subshell: str,
        code: str,
        expressions: dict[str, str] | None = None,
    ) -> str:
        """Send an ``execute_request`` to a subshell (jupyter_client has no helper for
        it: the subshell is a header field); ``expressions`` make it a silent probe."""
        msg = client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": expressions is not None,
                "store_history": expressions is None,
                "user_expressions": expressions or {},
                "allow_stdin": False,
                "stop_on_error": expressions is None,
            },
        )
        msg["header"]["subshell_id"] = subshell
        client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    async def _codex_subshell(self, client: AsyncKernelClient, kernel_id: str) -> str | None:
        """A subshell of the kernel when a ``%codex`` cell occupies its main shell, else
        None (no such cell, or a kernel without subshells)."""
        created = await self._control(client, "create_subshell_request", {})
        if not created or created.get("status") != "ok" or not created.get("subshell_id"):
            self._no_subshells.add(kernel_id)
            return None
        subshell = str(created["subshell_id"])
        turns = 0
        with contextlib.suppress(Exception):
            msg_id = self._execute_in(client, subshell, "", {"turns": TURNS_PROBE})
            deadline = time.monotonic() + CONTROL_TIMEOUT
            while (left := deadline - time.monotonic()) > 0:
                reply = await client.get_shell_msg(timeout=left)
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                value = reply["content"].get("user_expressions", {}).get("turns", {})
                turns = int(value.get("data", {}).get("text/plain", "0"))
                break
        if turns > 0:
            self.log.info("A %%codex cell occupies the kernel: the run goes to a subshell")
            return subshell
        await self._control(client, "delete_subshell_request", {"subshell_id": subshell})
        return None

    async def _run(
        self,
        km: Any,
        client: AsyncKernelClient,
        code: str,
        timeout: float,
        died: asyncio.Event,
        on_output: Callable[[dict[str, Any]], None] | None,
        subshell: str | None = None,
    ) -> RunResult:
        started = time.monotonic()
        result = RunResult(subshell=subshell is not None)
        if subshell is None:
            msg_id = client.execute(code, store_history=True, allow_stdin=False)
        else:
            msg_id = self._execute_in(client, subshell, code)
        deadline = started + timeout
        idle = False
        while not idle:
            if died.is_set() or not await km.is_alive():
                result.status = "died"
                break
            if time.monotonic() > deadline:
                result.status = "timeout"
                if subshell is None:  # in a subshell it runs on (see the module's doc)
                    with contextlib.suppress(Exception):
                        await km.interrupt_kernel()
                break
            try:
                msg = await client.get_iopub_msg(timeout=POLL_INTERVAL)
            except queue.Empty:  # nothing yet: check the kernel and the clock again
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "execute_input":
                result.execution_count = content.get("execution_count")
            elif kind == "clear_output":
                result.outputs.clear()
                if on_output is not None:  # the timeline clears what it showed
                    on_output(dict(CLEAR_OUTPUT))
            elif kind in ("stream", "display_data", "execute_result", "error"):
                output = dict(nbformat.v4.output_from_msg(msg))
                if kind == "error":
                    result.status = "error"
                self._add(result.outputs, output)
                if on_output is not None:
                    on_output(output)
        result.seconds = time.monotonic() - started
        return result

    @staticmethod
    def _add(outputs: list[dict[str, Any]], output: dict[str, Any]) -> None:
        """Append, merging consecutive stream outputs of one name (as Lab shows them)."""
        last = outputs[-1] if outputs else None
        if (
            last is not None
            and output.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and last.get("name") == output.get("name")
        ):
            last["text"] = str(last.get("text", "")) + str(output.get("text", ""))
            return
        outputs.append(output)


__all__ = ["KernelRunError", "NotebookKernels", "RunResult"]
