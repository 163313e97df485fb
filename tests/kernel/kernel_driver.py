"""Drive a real IPython kernel over ZMQ as a frontend would (jupyter_client).

``KernelDriver.run(code)`` executes a cell and returns its reply and every
IOPub message it caused; ``send_comm`` delivers a widget event (a button click,
a changed value) the way JupyterLab does, also while a cell is still running.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

Message = dict[str, Any]
#: Parents whose unclaimed IOPub messages are kept (the oldest are dropped).
UNCLAIMED_PARENTS = 200


@dataclass
class CellRun:
    """One ``execute_request``: its reply and the IOPub messages with it as parent."""

    msg_id: str
    reply: Message | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> str:
        assert self.reply is not None, "the cell has not finished"
        return str(self.reply["content"]["status"])

    def of_type(self, *types: str) -> list[Message]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout"
        )

    @property
    def stderr(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr"
        )

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["content"] for m in self.of_type("error")]

    def plain_outputs(self) -> list[str]:
        """``text/plain`` of every display/update/result, in order."""
        kinds = ("display_data", "update_display_data", "execute_result")
        return [
            str(m["content"]["data"].get("text/plain", ""))
            for m in self.of_type(*kinds)
            if "data" in m["content"]
        ]

    @property
    def payloads(self) -> list[dict[str, Any]]:
        assert self.reply is not None
        return list(self.reply["content"].get("payload") or [])

    def describe(self) -> str:
        lines = [f"status={self.reply and self.reply['content'].get('status')}"]
        for m in self.messages:
            content = m["content"]
            short = content.get("text") or content.get("data") or content.get("evalue") or ""
            lines.append(f"  {m['msg_type']}: {str(short)[:300]!r}")
        return "\n".join(lines)


class KernelDriver:
    """A started kernel plus a reader thread that sorts IOPub messages by parent."""

    def __init__(
        self, env: dict[str, str], cwd: Path, *, connection_file: Path | None = None
    ) -> None:
        """Start a kernel, or attach to a running one (``connection_file``: a kernel that
        the Jupyter server started for a notebook; it stays the server's to stop)."""
        self.manager: KernelManager | None = None
        if connection_file is None:
            self.manager = KernelManager(kernel_name="python3")
            self.manager.start_kernel(env=env, cwd=str(cwd))
            self.client = self.manager.client()
        else:
            self.client = BlockingKernelClient(connection_file=str(connection_file))
            self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.runs: dict[str, CellRun] = {}
        self.comm_opens: list[Message] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._replies: queue.Queue[Message] = queue.Queue()
        #: IOPub messages by parent msg_id that no run claims (yet).
        self._unclaimed: dict[str, list[Message]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            except Exception:  # noqa: BLE001 - channels closed at shutdown
                return
            parent = message.get("parent_header", {}).get("msg_id")
            with self._lock:
                if message["msg_type"] == "comm_open":
                    self.comm_opens.append(message)
                run = self.runs.get(parent)
                if run is not None:
                    run.messages.append(message)
                elif parent:
                    # Maybe a cell that start() has sent but not registered yet: a
                    # fast kernel answers before execute() returns its msg_id.
                    self._unclaimed.setdefault(parent, []).append(message)
                    while len(self._unclaimed) > UNCLAIMED_PARENTS:
                        self._unclaimed.pop(next(iter(self._unclaimed)))

    def start(self, code: str) -> CellRun:
        """Send a cell without waiting for it."""
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False)
        with self._lock:
            run = self.runs.setdefault(msg_id, CellRun(msg_id))
            # What the reader saw of it before it was registered (its busy status,
            # output, even its idle): lost, this made a cell look silent or hang.
            run.messages[:0] = self._unclaimed.pop(msg_id, [])
        return run

    def wait(self, run: CellRun, timeout: float = 90.0) -> CellRun:
        """Wait for the cell's reply and for its IOPub ``idle``."""
        deadline = time.monotonic() + timeout
        while run.reply is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"cell did not finish in {timeout}s:\n{run.describe()}")
            try:
                reply = self.client.get_shell_msg(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            parent = reply["parent_header"].get("msg_id")
            with self._lock:
                target = self.runs.get(parent)
            if target is not None:
                target.reply = reply
        self.wait_for(lambda: self._idle(run), timeout=max(5.0, deadline - time.monotonic()))
        return run

    def _idle(self, run: CellRun) -> bool:
        with self._lock:
            return any(
                m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                for m in run.messages
            )

    def run(self, code: str, timeout: float = 90.0) -> CellRun:
        return self.wait(self.start(code), timeout)

    def ok(self, code: str, timeout: float = 90.0) -> CellRun:
        """Run a cell that must succeed."""
        run = self.run(code, timeout)
        assert run.status == "ok", run.describe()
        return run

    def wait_for(
        self, condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"{what} not met within {timeout}s")

    def widget_ids(self, model: str, **state: Any) -> list[str]:
        """Comm ids of widgets of ``model`` (e.g. ``ButtonModel``) whose state matches."""
        with self._lock:
            opens = list(self.comm_opens)
        ids = []
        for message in opens:
            data = message["content"].get("data", {})
            current = data.get("state", {})
            if current.get("_model_name") != model:
                continue
            if all(current.get(k) == v for k, v in state.items()):
                ids.append(message["content"]["comm_id"])
        return ids

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        """A ``comm_msg`` from the frontend, as JupyterLab sends a widget event."""
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(message)

    def click(self, comm_id: str) -> None:
        self.send_comm(comm_id, {"method": "custom", "content": {"event": "click"}})

    def interrupt(self) -> None:
        assert self.manager is not None, "an attached kernel is interrupted by its owner"
        self.manager.interrupt_kernel()

    def shutdown(self) -> None:
        self._stop.set()
        self.client.stop_channels()
        if self.manager is not None:
            self.manager.shutdown_kernel(now=False)
        self._reader.join(timeout=5)


def final_plain(run: CellRun) -> str:
    outputs = run.plain_outputs()
    assert outputs, run.describe()
    return outputs[-1]


def assert_readable(run: CellRun, *needles: str) -> str:
    """The cell failed with one readable line: no Python traceback."""
    assert run.status == "error", run.describe()
    assert run.reply is not None
    content = run.reply["content"]
    assert content["ename"] == "CodexMagicError", content
    shown = "\n".join(content["traceback"])
    assert "Traceback" not in shown and "File " not in shown, shown
    assert len(content["traceback"]) == 1, shown
    for needle in needles:
        assert needle.lower() in shown.lower(), shown
    return shown


@contextmanager
def kernel(env: dict[str, str], cwd: Path) -> Iterator[KernelDriver]:
    driver = KernelDriver(env, cwd)
    try:
        yield driver
    finally:
        driver.shutdown()


__all__ = ["CellRun", "KernelDriver", "assert_readable", "final_plain", "kernel"]
