"""The ``notebook_*`` tools: their declarations and their edits of an nbformat document.

Pure functions over a :class:`nbformat.NotebookNode`: no I/O, no kernel. The
server applies them to a closed notebook on disk (``notebooks.py``); the
JupyterLab tool host applies the same operations, with the same arguments and
the same answers, to the live document of an open notebook. A bad argument (an
unknown cell id, an index out of range) raises :class:`NotebookToolError`,
whose message the model reads as the tool's failed result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4.rwbase import rejoin_lines

from ..errors import InvalidRequestError
from ..models import ToolSpec

#: Prefix of every notebook tool (the contract: ``notebook_*``).
PREFIX = "notebook_"
#: Characters of one output's text the model gets (head and tail are kept).
OUTPUT_TEXT_CAP = 8_000
#: Most images one ``notebook_read`` or run returns as viewable images.
MAX_IMAGES = 8
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class NotebookToolError(InvalidRequestError, ValueError):
    """A notebook tool cannot do what it was asked; the text is for the model."""


def _spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return ToolSpec(name=PREFIX + name, description=description, input_schema=schema)


_CELL_ID = {"type": "string", "description": "The cell's id, as notebook_read shows it."}
_SOURCE = {"type": "string", "description": "The cell's whole new source."}
_TYPE = {"type": "string", "enum": ["code", "markdown", "raw"]}

TOOL_SPECS: list[ToolSpec] = [
    _spec(
        "read",
        "Read the notebook this session works on: every cell (or a range) with its id, "
        "type, source, execution count and outputs (text, errors with tracebacks; images "
        "are attached so you can see them). Cell ids are stable: use them in the other "
        "notebook_* tools.",
        {
            "start": {"type": "integer", "minimum": 0, "description": "First cell index."},
            "end": {"type": "integer", "minimum": 0, "description": "Index after the last."},
            "include_outputs": {"type": "boolean", "default": True},
        },
        [],
    ),
    _spec(
        "insert_cell",
        "Insert a new cell into the notebook. Give `after_cell_id` (or `index`); by "
        "default the cell goes to the end. Answers the new cell's id.",
        {
            "source": _SOURCE,
            "cell_type": {**_TYPE, "default": "code"},
            "after_cell_id": _CELL_ID,
            "index": {"type": "integer", "minimum": 0},
        },
        ["source"],
    ),
    _spec(
        "edit_cell",
        "Replace the source of one cell (optionally changing its type). Its outputs stay "
        "until it runs again.",
        {"cell_id": _CELL_ID, "source": _SOURCE, "cell_type": _TYPE},
        ["cell_id", "source"],
    ),
    _spec("delete_cell", "Delete one cell.", {"cell_id": _CELL_ID}, ["cell_id"]),
    _spec(
        "move_cell",
        "Move one cell to a new index (0 is the top).",
        {"cell_id": _CELL_ID, "index": {"type": "integer", "minimum": 0}},
        ["cell_id", "index"],
    ),
    _spec(
        "run_cell",
        "Run one code cell in the notebook's own kernel (started if needed) and answer "
        "its outputs, errors and images. The kernel keeps its state between runs.",
        {
            "cell_id": _CELL_ID,
            "timeout": {
                "type": "number",
                "minimum": 1,
                "maximum": 600,
                "default": 60,
                "description": "Seconds before the run is interrupted.",
            },
        },
        ["cell_id"],
    ),
]
TOOL_NAMES = frozenset(t.name for t in TOOL_SPECS)


@dataclass
class Rendered:
    """What a tool answers: text for the model and images it can view."""

    text: str
    #: (mime type, base64 data, label) of each image.
    images: list[tuple[str, str, str]] = field(default_factory=list)


# -- documents -------------------------------------------------------------------


def parse(text: str) -> NotebookNode:
    """A notebook from its JSON, upgraded to nbformat 4.5 (every cell has an id)."""
    try:
        raw = json.loads(text)
        if (
            isinstance(raw, dict)
            and raw.get("nbformat") == 4
            and isinstance(raw.get("cells"), list)
        ):
            # The common case, without a full schema validation (a write validates).
            nb = rejoin_lines(nbformat.from_dict(raw))
        else:
            nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several unrelated types
        raise NotebookToolError(f"The notebook is not valid JSON/nbformat: {e}") from e
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        nb.nbformat_minor = 5
    for cell in nb.cells:
        if not cell.get("id"):
            cell["id"] = _new_id(nb)
    return nb  # type: ignore[no-any-return]


def dumps(nb: NotebookNode) -> str:
    """The notebook's JSON; raises :class:`NotebookToolError` if it is not valid."""
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise NotebookToolError(f"The edit would make the notebook invalid: {e}") from e
    return str(nbformat.writes(nb))


def _new_id(nb: NotebookNode) -> str:
    taken = {c.get("id") for c in nb.cells}
    while True:
        cell = nbformat.v4.new_code_cell()
        if cell.id not in taken:
            return str(cell.id)


def find(nb: NotebookNode, cell_id: Any) -> int:
    """The index of the cell with ``cell_id``."""
    if not isinstance(cell_id, str) or not cell_id:
        raise NotebookToolError("`cell_id` is required (a cell id from notebook_read).")
    for index, cell in enumerate(nb.cells):
        if cell.get("id") == cell_id:
            return index
    raise NotebookToolError(
        f"No cell has the id {cell_id!r} (it may have been deleted); "
        "call notebook_read for the current cell ids."
    )


def _source(arguments: dict[str, Any]) -> str:
    source = arguments.get("source")
    if not isinstance(source, str):
        raise NotebookToolError("`source` must be a string.")
    return source


def _cell_type(arguments: dict[str, Any], default: str | None) -> str | None:
    kind = arguments.get("cell_type", default)
    if kind not in ("code", "markdown", "raw", None):
        raise NotebookToolError("`cell_type` must be 'code', 'markdown' or 'raw'.")
    return kind


def _new_cell(kind: str, source: str, cell_id: str) -> NotebookNode:
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[kind]
    cell = make(source=source)
    cell["id"] = cell_id
    return cell  # type: ignore[no-any-return]


# -- edits -----------------------------------------------------------------------


@dataclass
class Change:
    """One edit, for the answer and the timeline (``notebook.cell_changed``)."""

    action: str  # inserted | edited | deleted | moved
    cell_id: str
    index: int
    before: str | None = None
    after: str | None = None

    def event(self, notebook: str) -> dict[str, Any]:
        return {
            "notebook": notebook,
            "action": self.action,
            "cell_id": self.cell_id,
            "index": self.index,
            "source_before": self.before,
            "source_after": self.after,
        }


def insert_cell(nb: NotebookNode, arguments: dict[str, Any]) -> Change:
    source = _source(arguments)
    kind = _cell_type(arguments, "code") or "code"
    after, index = arguments.get("after_cell_id"), arguments.get("index")
    if after:
        position = find(nb, after) + 1
    elif index is not None:
        if not isinstance(index, int) or not 0 <= index <= len(nb.cells):
            raise NotebookToolError(f"`index` must be between 0 and {len(nb.cells)}.")
        position = index
    else:
        position = len(nb.cells)
    cell = _new_cell(kind, source, _new_id(nb))
    nb.cells.insert(position, cell)
    return Change("inserted", str(cell.id), position, None, source)


def edit_cell(nb: NotebookNode, arguments: dict[str, Any]) -> Change:
    index = find(nb, arguments.get("cell_id"))
    source = _source(arguments)
    kind = _cell_type(arguments, None)
    cell = nb.cells[index]
    before = str(cell.source)
    if kind and kind != cell.cell_type:
        cell = nb.cells[index] = _new_cell(kind, source, str(cell.id))
    else:
        cell.source = source
    return Change("edited", str(cell.id), index, before, source)


def delete_cell(nb: NotebookNode, arguments: dict[str, Any]) -> Change:
    index = find(nb, arguments.get("cell_id"))
    cell = nb.cells.pop(index)
    return Change("deleted", str(cell.id), index, str(cell.source), None)


def move_cell(nb: NotebookNode, arguments: dict[str, Any]) -> Change:
    index = find(nb, arguments.get("cell_id"))
    target = arguments.get("index")
    if not isinstance(target, int) or not 0 <= target < len(nb.cells):
        raise NotebookToolError(f"`index` must be between 0 and {len(nb.cells) - 1}.")
    cell = nb.cells.pop(index)
    nb.cells.insert(target, cell)
    return Change("moved", str(cell.id), target, str(cell.source), str(cell.source))


EDITS = {
    PREFIX + "insert_cell": insert_cell,
    PREFIX + "edit_cell": edit_cell,
    PREFIX + "delete_cell": delete_cell,
    PREFIX + "move_cell": move_cell,
}


def describe_change(change: Change, nb: NotebookNode) -> str:
    """The model's answer to an edit."""
    verb = {"inserted": "Inserted", "edited": "Edited", "deleted": "Deleted", "moved": "Moved"}
    where = f"at index {change.index}" if change.action != "deleted" else "from the notebook"
    return (
        f"{verb[change.action]} cell {change.cell_id} {where}; "
        f"the notebook has {len(nb.cells)} cells."
    )


# -- reading ---------------------------------------------------------------------


def _cap(text: str, cap: int = OUTPUT_TEXT_CAP) -> str:
    if len(text) <= cap:
        return text
    head = cap // 4
    tail = cap - head
    return f"{text[:head]}\n[… {len(text) - cap} characters omitted …]\n{text[-tail:]}"


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def output_text(output: dict[str, Any], images: list[tuple[str, str, str]], label: str) -> str:
    """One output as text; its images are appended to ``images``."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"[{output.get('name', 'stdout')}]\n{_cap(_joined(output.get('text')))}"
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback") or []))
        head = f"[error] {output.get('ename')}: {output.get('evalue')}"
        return f"{head}\n{_cap(trace)}" if trace else head
    data = output.get("data") or {}
    parts: list[str] = []
    for mime in IMAGE_TYPES:
        if mime in data:
            number = len(images) + 1
            name = f"{label}-image-{number}"
            if len(images) < MAX_IMAGES:
                images.append((mime, _joined(data[mime]).replace("\n", ""), name))
                parts.append(f"[image {mime}: attached as {name}]")
            else:
                parts.append(f"[image {mime}: not attached, more than {MAX_IMAGES} images]")
            break
    if "text/plain" in data:
        parts.append(_cap(_joined(data["text/plain"])))
    elif not parts:
        parts.append(f"[{', '.join(sorted(data)) or 'empty'} output]")
    tag = "result" if kind == "execute_result" else "display"
    return f"[{tag}]\n" + "\n".join(parts)


def cell_text(
    cell: dict[str, Any],
    index: int,
    images: list[tuple[str, str, str]],
    *,
    outputs: bool = True,
) -> str:
    """One cell as the model reads it."""
    cell_id = cell.get("id")
    kind = cell.get("cell_type")
    head = f"### cell {index} id={cell_id} type={kind}"
    if kind == "code":
        head += f" execution_count={cell.get('execution_count')}"
    lines = [head, "```", _joined(cell.get("source")), "```"]
    if outputs and kind == "code" and cell.get("outputs"):
        lines.append("outputs:")
        for output in cell["outputs"]:
            lines.append(output_text(output, images, f"cell-{cell_id}"))
    return "\n".join(lines)


def read(nb: NotebookNode, arguments: dict[str, Any], path: str) -> Rendered:
    """``notebook_read``: the cells in ``[start, end)`` with outputs and images."""
    total = len(nb.cells)
    start, end = arguments.get("start", 0), arguments.get("end", total)
    if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end < start:
        raise NotebookToolError("`start` and `end` must be integers with 0 <= start <= end.")
    end = min(end, total)
    images: list[tuple[str, str, str]] = []
    outputs = arguments.get("include_outputs", True) is not False
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "unknown"
    parts = [
        f"Notebook {path}: {total} cells (showing {start}-{max(start, end - 1)}), kernel {kernel}."
    ]
    parts += [cell_text(nb.cells[i], i, images, outputs=outputs) for i in range(start, end)]
    return Rendered("\n\n".join(parts), images)


def run_answer(cell_id: str, count: Any, outputs: list[dict[str, Any]], status: str) -> Rendered:
    """``notebook_run_cell``'s answer: the outputs of the run."""
    images: list[tuple[str, str, str]] = []
    lines = [f"Ran cell {cell_id} (execution_count={count}): {status}."]
    if not outputs:
        lines.append("No output.")
    lines += [output_text(o, images, f"cell-{cell_id}") for o in outputs]
    return Rendered("\n".join(lines), images)


__all__ = [
    "EDITS",
    "PREFIX",
    "TOOL_NAMES",
    "TOOL_SPECS",
    "Change",
    "NotebookToolError",
    "Rendered",
    "dumps",
    "find",
    "parse",
    "read",
    "run_answer",
]
