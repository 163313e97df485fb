"""Progress of tool calls a client runs, appended as the events the server's own path emits.

When the server serves a ``notebook_*`` call itself (the notebook is closed,
``notebooks.py``), it appends ``notebook.cell_changed`` for each edit and
``notebook.run_output`` for each output of a run. While the notebook is open in
JupyterLab the browser serves the call instead (``labextension/src/notebook/host.ts``)
and reports the same facts over the tool protocol (``tool_progress`` on the events
socket, or ``POST codex/api/tool-calls/{id}/progress``); :class:`ToolProgressEvents`
checks them and appends the same events, so the timeline shows a browser-served run's
outputs while it runs, and either path's edits as cell diffs, live and on replay.

What the client may say is bounded by the call it runs: an output only for a
``notebook_run_cell``, a cell change only for an edit tool, and the notebook and the
run's cell always come from the server (the session and the call's arguments), never
from the client.
"""

from __future__ import annotations

from typing import Any, Protocol

import nbformat

from ..errors import InvalidRequestError, NotFoundError
from ..models import Session, ToolProgress
from ._items import OUTPUT_CAP, cap
from .eventlog import EventLog
from .notebook_cells import PREFIX
from .notebook_kernel import CLEAR_OUTPUT
from .tools import ToolCallInfo

_EDIT_TOOLS = frozenset(
    PREFIX + n for n in ("insert_cell", "edit_cell", "delete_cell", "move_cell")
)
_RUN_TOOL = PREFIX + "run_cell"
_OUTPUT_TYPES = frozenset({"stream", "display_data", "execute_result", "error"})
#: Longest cell source a cell change may carry (characters, each side).
SOURCE_CAP = 256 * 1024


class SessionLookup(Protocol):
    async def get(self, session_id: str) -> Session: ...


def checked_output(output: dict[str, Any]) -> dict[str, Any]:
    """A valid nbformat v4 output (stream text capped), the run's
    ``{"output_type": "clear_output"}`` (the cell cleared what it showed so far), or
    ``InvalidRequestError``."""
    kind = output.get("output_type")
    if kind == CLEAR_OUTPUT["output_type"]:
        return dict(CLEAR_OUTPUT)
    if kind not in _OUTPUT_TYPES:
        raise InvalidRequestError(
            "`output.output_type` must be clear_output or one of "
            f"{', '.join(sorted(_OUTPUT_TYPES))}."
        )
    try:
        nbformat.validate(output, ref=str(kind), version=4)
    except nbformat.ValidationError as e:
        raise InvalidRequestError(f"`output` is not a valid nbformat {kind} output.") from e
    if kind == "stream":
        text = output["text"]
        text = "".join(text) if isinstance(text, list) else str(text)
        output = {**output, "text": cap(text, OUTPUT_CAP)[0]}
    return output


class ToolProgressEvents:
    """Appends the events of a client's ``tool_progress`` (the router's reporter)."""

    def __init__(self, *, sessions: SessionLookup, events: EventLog) -> None:
        self.sessions = sessions
        self.events = events

    async def report(self, call: ToolCallInfo, progress: ToolProgress) -> None:
        given = [
            k for k in ("message", "output", "cell_change") if getattr(progress, k) is not None
        ]
        if len(given) != 1:
            raise InvalidRequestError(
                "tool_progress needs exactly one of 'message', 'output' or 'cell_change'."
            )
        ids = {"turn_id": call.turn_id, "item_id": call.call_id}
        if progress.message is not None:
            self.events.append(
                call.session_id, "tool_call.progress", {"message": progress.message}, **ids
            )
            return
        notebook = await self._notebook(call)
        if progress.output is not None:
            if call.tool != _RUN_TOOL:
                raise InvalidRequestError(f"Only a {_RUN_TOOL} call reports outputs.")
            arguments = call.arguments if isinstance(call.arguments, dict) else {}
            data = {
                "notebook": notebook,
                "cell_id": arguments.get("cell_id"),
                "output": checked_output(progress.output),
            }
            self.events.append(call.session_id, "notebook.run_output", data, **ids)
            return
        change = progress.cell_change
        assert change is not None
        if call.tool not in _EDIT_TOOLS:
            raise InvalidRequestError("Only a notebook edit tool call reports a cell change.")
        for source in (change.source_before, change.source_after):
            if source is not None and len(source) > SOURCE_CAP:
                raise InvalidRequestError(
                    f"A cell source in a cell change may have at most {SOURCE_CAP} characters."
                )
        data = {"notebook": notebook, **change.model_dump(), "live": True}
        self.events.append(call.session_id, "notebook.cell_changed", data, **ids)

    async def _notebook(self, call: ToolCallInfo) -> str:
        try:
            session = await self.sessions.get(call.session_id)
        except NotFoundError as e:
            raise InvalidRequestError("The tool call's session is gone.") from e
        if not session.notebook:
            raise InvalidRequestError("Outputs and cell changes belong to notebook sessions.")
        return session.notebook


__all__ = ["SOURCE_CAP", "ToolProgressEvents", "checked_output"]
