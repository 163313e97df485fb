"""Run a cell in a notebook's own kernel, through the Jupyter server's managers.

A closed notebook's cell runs in the kernel of the notebook's Jupyter session,
the one JupyterLab attaches to when the notebook is opened; when the notebook
has none, a session (and its kernel) is started for it. The run reads IOPub
until the kernel is idle again, hands each output to ``on_output`` as it comes
(the timeline's progress), and never waits forever: a timeout interrupts the
kernel, and a kernel that dies (or is restarted) mid-run ends the run at once.

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


class NotebookKernels:
    """The kernels of notebooks, found or started through the server's session manager."""

    def __init__(
        self, sessions: SessionManagerLike, kernels: KernelManagersLike, log: logging.Logger
    ) -> None:
        self.sessions = sessions
        self.kernels = kernels
        self.log = log

    async def kernel_for(self, path: str, kernel_name: str | None) -> Any:
        """The kernel manager of ``path``'s session, starting one if it has none."""
        for model in await self.sessions.list_sessions():
            kernel = model.get("kernel") or {}
            if model.get("path") == path and kernel.get("id"):
                return self.kernels.get_kernel(kernel["id"])
        self.log.info("Starting a kernel (%s) for %s", kernel_name or "default", path)
        model = await self.sessions.create_session(
            path=path, name=os.path.basename(path), type="notebook", kernel_name=kernel_name
        )
        return self.kernels.get_kernel(model["kernel"]["id"])

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
            km = await self.kernel_for(path, kernel_name)
        except Exception as e:
            raise KernelRunError(f"The notebook's kernel could not be started: {e}") from e
        if getattr(km, "execution_state", None) == "busy":
            # A run would queue behind the running cell (a %codex cell waits for this
            # very call): say so now instead of timing out.
            raise KernelRunError(
                "The notebook's kernel is busy running another cell (for a %codex turn: "
                "its own cell), so this cell cannot run now; tell the user to run it."
            )
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
        try:
            return await self._run(km, client, code, timeout, died, on_output)
        finally:
            for event in ("restart", "dead"):
                with contextlib.suppress(Exception):
                    km.remove_restart_callback(on_death, event)
            client.stop_channels()

    async def _run(
        self,
        km: Any,
        client: AsyncKernelClient,
        code: str,
        timeout: float,
        died: asyncio.Event,
        on_output: Callable[[dict[str, Any]], None] | None,
    ) -> RunResult:
        try:
            await client.wait_for_ready(timeout=min(60.0, max(timeout, 10.0)))
        except Exception as e:
            raise KernelRunError(f"The notebook's kernel is not responding: {e}") from e
        started = time.monotonic()
        result = RunResult()
        msg_id = client.execute(code, store_history=True, allow_stdin=False)
        deadline = started + timeout
        idle = False
        while not idle:
            if died.is_set() or not await km.is_alive():
                result.status = "died"
                break
            if time.monotonic() > deadline:
                result.status = "timeout"
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
