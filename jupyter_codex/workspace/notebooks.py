"""Notebook sessions: the ``notebook_*`` tools, served by the server itself.

A session created with ``"notebook": <path>`` is bound to that notebook; its
thread declares the tools of ``notebook_cells.TOOL_SPECS``. Who runs a call:

* while the notebook is open in JupyterLab, the frontend serves the tools over
  the client-tool protocol (``tools.py``) and edits the live document, so the
  user sees each edit at once, keeps unsaved work and can undo it;
* otherwise (:meth:`NotebookTools.call`, the router's local fallback) the
  server edits the ``.ipynb`` on disk with nbformat (validated, written
  atomically) and runs cells in the notebook's own kernel through jupyter_server
  (``notebook_kernel.py``), starting one when a run needs it.

Runs follow the session's approval policy: unless it is ``never`` (or the user
chose "accept for this session"), ``notebook_run_cell`` asks first, with the
cell's source on the card; edits do not ask. Every edit appends a
``notebook.cell_changed`` event (before/after source, for the timeline's cell
diff) and every output of a run a ``notebook.run_output`` event (progress).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

import nbformat
from traitlets import Bool, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..errors import InvalidRequestError, NotFoundError
from ..models import Session
from ..paths import resolve_file
from . import notebook_cells as cells
from .approvals import ApprovalBook
from .eventlog import EventLog
from .notebook_kernel import KernelRunError, NotebookKernels

#: The approval "method" of a cell run (ours, not the app-server's).
RUN_APPROVAL_METHOD = "notebook/runCell"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class SessionLookup(Protocol):
    async def get(self, session_id: str) -> Session: ...


def result(rendered: cells.Rendered, *, success: bool = True) -> dict[str, Any]:
    """A dynamic tool result (codex ``contentItems``) with the images attached."""
    items: list[dict[str, Any]] = [{"type": "inputText", "text": rendered.text}]
    for mime, data, _ in rendered.images:
        items.append({"type": "inputImage", "imageUrl": f"data:{mime};base64,{data}"})
    return {"contentItems": items, "success": success}


def failure(text: str) -> dict[str, Any]:
    return {"contentItems": [{"type": "inputText", "text": text}], "success": False}


class NotebookTools(LoggingConfigurable):
    """Binds sessions to notebooks and serves their tools when no frontend does."""

    root_dir = Unicode(help="The server's root directory (notebook paths are relative to it).")
    image_dir = Unicode(
        "", help="Where images of outputs are saved as files (the data dir's notebook_images)."
    )
    ask_before_run = Bool(
        True,
        config=True,
        help="Ask a human before Codex runs a notebook cell (unless the session's approval "
        "policy is 'never' or the user accepted runs for the session). Edits never ask.",
    )
    default_run_timeout = Float(
        60.0, config=True, help="Seconds a notebook_run_cell may run when the model sets none."
    )
    max_run_timeout = Float(
        600.0, config=True, help="Most seconds one notebook_run_cell may run (then interrupted)."
    )
    approval_timeout = Float(
        900.0, config=True, help="Seconds a cell run waits for approval before it is declined."
    )

    def __init__(
        self,
        *,
        sessions: SessionLookup,
        events: EventLog,
        approvals: ApprovalBook,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sessions = sessions
        self.events = events
        self.approvals = approvals
        #: Set by the composition root (it knows the Jupyter server's managers).
        self.kernels: NotebookKernels | None = None
        self._runs_accepted: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    # -- binding ---------------------------------------------------------------------

    def check(self, relative: str) -> str:
        """The canonical path (relative to the root) of a notebook a session may bind."""
        if not relative.strip().endswith(".ipynb"):
            raise InvalidRequestError(f"{relative!r} is not a notebook (an .ipynb file).")
        path = resolve_file(self.root_dir, relative)
        return path.relative_to(Path(self.root_dir).expanduser().resolve()).as_posix()

    @staticmethod
    def folder_of(notebook: str) -> str:
        return posixpath.dirname(notebook)

    def _path(self, notebook: str) -> Path:
        return resolve_file(self.root_dir, notebook)

    # -- the router's local fallback ------------------------------------------------

    async def call(
        self, session_id: str, tool: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Answer a ``notebook_*`` call of a notebook session; None for any other call."""
        if tool not in cells.TOOL_NAMES:
            return None
        try:
            session = await self.sessions.get(session_id)
        except NotFoundError:
            return None
        if not session.notebook:
            return None
        arguments = params.get("arguments")
        if not isinstance(arguments, dict):
            arguments = {}
        try:
            if tool == cells.PREFIX + "read":
                nb = await self._load(session.notebook)
                return result(cells.read(nb, arguments, session.notebook))
            if tool == cells.PREFIX + "run_cell":
                return await self._run_cell(session, arguments, params)
            return await self._edit(session, tool, arguments, params)
        except (cells.NotebookToolError, KernelRunError) as e:
            return failure(str(e))
        except (NotFoundError, InvalidRequestError) as e:
            return failure(f"The notebook {session.notebook} cannot be used: {e}")
        except OSError as e:
            return failure(f"The notebook {session.notebook} could not be read or written: {e}")

    async def gate(
        self, session_id: str, tool: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A run served by a frontend (the notebook is open) asks first too."""
        if tool != cells.PREFIX + "run_cell":
            return None
        try:
            session = await self.sessions.get(session_id)
        except NotFoundError:
            return None
        if not session.notebook:
            return None
        arguments = params.get("arguments")
        cell_id = str((arguments or {}).get("cell_id") if isinstance(arguments, dict) else "")
        source = "(the cell as it is in the open notebook)"
        with contextlib.suppress(
            cells.NotebookToolError, NotFoundError, InvalidRequestError, OSError
        ):
            nb = await self._load(session.notebook)
            source = str(nb.cells[cells.find(nb, cell_id)].source)
        refusal = await self._approve(session, session.notebook, cell_id, source, params)
        return None if refusal is None else failure(refusal)

    # -- edits on disk ----------------------------------------------------------------

    def _lock(self, notebook: str) -> asyncio.Lock:
        return self._locks.setdefault(notebook, asyncio.Lock())

    async def _load(self, notebook: str) -> Any:
        path = self._path(notebook)
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        return cells.parse(text)

    async def _save(self, notebook: str, nb: Any) -> None:
        text = cells.dumps(nb)
        path = self._path(notebook)

        def write() -> None:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                with contextlib.suppress(OSError):
                    os.chmod(tmp, path.stat().st_mode & 0o777)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

        await asyncio.to_thread(write)

    async def _edit(
        self, session: Session, tool: str, arguments: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        notebook = str(session.notebook)
        async with self._lock(notebook):
            nb = await self._load(notebook)
            change = cells.EDITS[tool](nb, arguments)
            await self._save(notebook, nb)
        self.events.append(
            session.id,
            "notebook.cell_changed",
            {**change.event(notebook), "live": False},
            turn_id=params.get("turnId"),
            item_id=params.get("callId"),
        )
        return result(cells.Rendered(cells.describe_change(change, nb)))

    # -- runs -----------------------------------------------------------------------

    async def _run_cell(
        self, session: Session, arguments: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        notebook = str(session.notebook)
        cell_id = arguments.get("cell_id")
        nb = await self._load(notebook)
        cell = nb.cells[cells.find(nb, cell_id)]
        if cell.cell_type != "code":
            raise cells.NotebookToolError(
                f"Cell {cell_id} is a {cell.cell_type} cell; only code cells run."
            )
        timeout = arguments.get("timeout", self.default_run_timeout)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise cells.NotebookToolError("`timeout` must be a positive number of seconds.")
        timeout = min(float(timeout), self.max_run_timeout)
        decision = await self._approve(session, notebook, str(cell_id), str(cell.source), params)
        if decision is not None:
            return failure(decision)
        if self.kernels is None:
            raise KernelRunError("This server cannot run kernels for Codex.")
        turn_id, item_id = params.get("turnId"), params.get("callId")

        def progress(output: dict[str, Any]) -> None:
            self.events.append(
                session.id,
                "notebook.run_output",
                {"notebook": notebook, "cell_id": cell_id, "output": output},
                turn_id=turn_id,
                item_id=item_id,
            )

        kernel_name = (nb.metadata.get("kernelspec") or {}).get("name")
        run = await self.kernels.run(
            notebook, kernel_name, str(cell.source), timeout=timeout, on_output=progress
        )
        async with self._lock(notebook):
            with contextlib.suppress(cells.NotebookToolError):
                fresh = await self._load(notebook)
                target = fresh.cells[cells.find(fresh, cell_id)]
                target.outputs = [nbformat.from_dict(o) for o in run.outputs]
                target.execution_count = run.execution_count
                await self._save(notebook, fresh)
        status = {
            "ok": "completed",
            "error": "completed with an error",
            "timeout": f"interrupted after {timeout:g} seconds (timeout)",
            "died": "the kernel died during the run (it is being restarted; its state is lost)",
        }[run.status]
        if run.subshell:  # beside the %codex cell that occupies the kernel
            status += " in a subshell of the kernel, beside the running %codex cell"
            if run.status == "timeout":
                status = (
                    f"still running after {timeout:g} seconds (timeout); it runs in a subshell "
                    "beside the %codex cell and cannot be interrupted without stopping that "
                    "cell: the user can restart the kernel"
                )
        answer = cells.run_answer(str(cell_id), run.execution_count, run.outputs, status)
        self._save_images(session.id, answer)
        return result(answer, success=run.status in ("ok", "error"))

    async def _approve(
        self, session: Session, notebook: str, cell_id: str, source: str, params: dict[str, Any]
    ) -> str | None:
        """None when the run may go ahead, else why not (for the model)."""
        if (
            not self.ask_before_run
            or session.approval_policy == "never"
            or session.id in self._runs_accepted
        ):
            return None
        ask = {
            "threadId": params.get("threadId"),
            "turnId": params.get("turnId"),
            "itemId": params.get("callId"),
            "command": source,
            "cwd": notebook,
            "reason": f"Codex wants to run cell {cell_id} of {notebook}.",
            "notebook": notebook,
            "cellId": cell_id,
        }
        reply = await self.approvals.ask(
            session.id, RUN_APPROVAL_METHOD, ask, self.approval_timeout
        )
        decision = reply.get("decision")
        if decision == "acceptForSession":
            self._runs_accepted.add(session.id)
        if decision in ("accept", "acceptForSession"):
            return None
        return f"The user did not allow running cell {cell_id} ({decision}); do not retry it."

    def _save_images(self, session_id: str, rendered: cells.Rendered) -> None:
        """Keep each image as a file too (its path is in the answer's text)."""
        if not self.image_dir or not rendered.images:
            return
        folder = Path(self.image_dir) / re.sub(r"[^A-Za-z0-9_-]", "", session_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = []
        for mime, data, name in rendered.images:
            file = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '', name)}.{_EXTENSIONS[mime]}"
            with contextlib.suppress(ValueError, OSError):
                file.write_bytes(base64.b64decode(data))
                lines.append(f"{name}: {file}")
        if lines:
            rendered.text += "\nImages saved as files:\n" + "\n".join(lines)

    def forget(self, session_id: str) -> None:
        self._runs_accepted.discard(session_id)


__all__ = ["RUN_APPROVAL_METHOD", "NotebookTools"]
