"""``NotebookKernels`` against the server's own session and kernel managers and a real
ipykernel: back-to-back runs, and a kernel a user's cell keeps busy."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from jupyter_client.asynchronous.client import AsyncKernelClient

from jupyter_codex.errors import KernelRunError
from jupyter_codex.workspace import notebook_kernel
from jupyter_codex.workspace.notebook_kernel import NotebookKernels

LOG = logging.getLogger("test")


@pytest.fixture
def kernels(jp_serverapp: Any) -> NotebookKernels:
    return NotebookKernels(jp_serverapp.session_manager, jp_serverapp.kernel_manager, LOG)


async def test_back_to_back_runs_never_find_the_kernel_busy(kernels: NotebookKernels) -> None:
    """The server learns a kernel's state from its own IOPub stream, which lags ours: a
    run that follows the previous one (and its own subshell probe) at once must not be
    refused because the server still says "busy" (a CI failure at stop 23)."""
    for i in range(12):
        result = await kernels.run("loop.ipynb", "python3", f"print({i})", timeout=30)
        assert result.status == "ok", result
        assert result.outputs[0]["text"] == f"{i}\n"


async def test_a_cell_that_clears_its_output_reports_the_clear(kernels: NotebookKernels) -> None:
    seen: list[dict[str, Any]] = []
    code = (
        "from IPython.display import clear_output\n"
        "for step in range(3):\n"
        "    clear_output()\n"
        "    print(f'step {step}')"
    )
    result = await kernels.run("clear.ipynb", "python3", code, timeout=30, on_output=seen.append)
    assert result.status == "ok"
    assert result.outputs == [{"output_type": "stream", "name": "stdout", "text": "step 2\n"}]
    kinds = [o["output_type"] for o in seen]
    assert kinds == ["clear_output", "stream"] * 3, kinds


async def test_a_kernel_busy_with_a_users_cell_refuses_the_run_at_once(
    kernels: NotebookKernels, jp_serverapp: Any
) -> None:
    km = await kernels.kernel_for("busy.ipynb", "python3")
    user = AsyncKernelClient(parent=km)
    user.load_connection_info(km.get_connection_info(session=False))
    user.start_channels()
    try:
        await user.wait_for_ready(timeout=30)
        user.execute("import time; time.sleep(60)")
        deadline = time.monotonic() + 10
        while km.execution_state != "busy":
            assert time.monotonic() < deadline, "the user's cell never made the kernel busy"
            await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(KernelRunError, match="busy running another cell"):
            await kernels.run("busy.ipynb", "python3", "print('mine')", timeout=30)
        waited = time.monotonic() - started
        # The grace and one subshell probe, never the run's 30 s timeout.
        assert waited < notebook_kernel.BUSY_GRACE + notebook_kernel.CONTROL_TIMEOUT + 2
    finally:
        await km.interrupt_kernel()
        user.stop_channels()
