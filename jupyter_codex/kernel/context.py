"""What a ``%codex`` prompt knows about the notebook it runs in.

The model cannot see the kernel, so the magics describe it in words: the
notebook's path, the last few cells (from IPython's own history), compact
descriptions of variables (a DataFrame's shape and dtypes rather than its
rows), and the last exception with its traceback. Everything here reads the
IPython shell only; nothing talks to the server.
"""

from __future__ import annotations

import keyword
import os
import re
import sys
import traceback
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ContextMode = Literal["none", "cell", "notebook", "vars"]
CONTEXT_MODES: tuple[ContextMode, ...] = ("none", "cell", "notebook", "vars")

#: Cells, values and tracebacks are cut to these many characters.
CELL_CHARS = 2_000
VALUE_CHARS = 300
TRACEBACK_CHARS = 8_000
MAX_CELLS = 5
MAX_VARIABLES = 25

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MAGIC_CELL = re.compile(r"^\s*%%?codex", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ``{name}``, ``{name.attr}``, ``{name[0]}``, ``{name["key"]}``: what ``{var}`` expands.
_PLACEHOLDER = re.compile(
    r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\[\]{}]{1,40}\])*)\}(?!\})"
)


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def shorten(text: str, limit: int) -> str:
    """Keep the start and the end of a long text, saying how much was dropped."""
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    return f"{text[:head]}\n[… {len(text) - limit} characters omitted …]\n{text[-tail:]}"


# -- the notebook ------------------------------------------------------------------


def notebook_path(
    user_ns: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """The notebook's file path as the frontend told the kernel, if it did.

    ipykernel stores ``JPY_SESSION_NAME`` (set by Jupyter Server for kernels it
    starts for a notebook) as ``__session__``; VS Code sets ``__vsc_ipynb_file__``.
    """
    env = os.environ if environ is None else environ
    for candidate in (
        user_ns.get("__session__"),
        user_ns.get("__vsc_ipynb_file__"),
        env.get("JPY_SESSION_NAME"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


@dataclass(frozen=True)
class Cell:
    """One executed cell: its number, source and (short) result."""

    number: int
    source: str
    output: str | None = None


def recent_cells(
    inputs: list[str],
    outputs: Mapping[int, Any] | None = None,
    *,
    limit: int = MAX_CELLS,
    skip_current: bool = True,
) -> list[Cell]:
    """The last ``limit`` cells from IPython's ``In``/``Out`` history.

    ``In[-1]`` is the cell running right now (the ``%codex`` call itself), so it is
    skipped; so are empty cells and other ``%codex`` cells, which would only
    repeat earlier prompts.
    """
    outputs = outputs or {}
    numbered = list(enumerate(inputs))[1:]  # In[0] is always ""
    if skip_current and numbered:
        numbered = numbered[:-1]
    cells: list[Cell] = []
    for number, source in reversed(numbered):
        if not source.strip() or _MAGIC_CELL.match(source) or "run_line_magic('codex" in source:
            continue
        result = outputs.get(number)
        shown = None if result is None else shorten(_safe_repr(result), VALUE_CHARS)
        cells.append(Cell(number, shorten(source.rstrip(), CELL_CHARS), shown))
        if len(cells) >= limit:
            break
    cells.reverse()
    return cells


# -- variables ---------------------------------------------------------------------


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as e:  # noqa: BLE001 - a broken __repr__ must not break the prompt
        return f"<{type(value).__name__}: repr failed ({type(e).__name__})>"


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{module.split('.')[0]}.{cls.__qualname__}"


def _is_dataframe(value: Any) -> bool:
    return all(hasattr(value, a) for a in ("dtypes", "columns", "shape", "head")) and (
        len(getattr(value, "shape", ())) == 2
    )


def _describe_dataframe(value: Any) -> str:
    rows, cols = value.shape
    dtypes = value.dtypes
    columns = [f"{c} {dtypes[c]}" for c in list(value.columns)[:40]]
    more = f", … {cols - 40} more" if cols > 40 else ""
    text = f"{_type_name(value)} with {rows} rows × {cols} columns: {', '.join(columns)}{more}"
    try:
        head = value.head(3).to_string(max_colwidth=30)
    except Exception:  # noqa: BLE001 - a preview is optional
        head = ""
    if head:
        text += "\n  first rows:\n" + "\n".join("    " + line for line in head.splitlines())
    return text


def describe_value(value: Any) -> str:
    """A one-line (or few-line) description a model can use without the data itself."""
    if _is_dataframe(value):
        return _describe_dataframe(value)
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if isinstance(shape, tuple) and dtype is not None:
        name = getattr(value, "name", None)
        named = f" named {name!r}" if isinstance(name, str) else ""
        preview = shorten(_safe_repr(value), VALUE_CHARS // 2).replace("\n", " ")
        return f"{_type_name(value)}{named} shape={shape} dtype={dtype}: {preview}"
    if isinstance(value, (bool, int, float, complex, type(None))):
        return f"{_type_name(value)} = {value!r}"
    if isinstance(value, str):
        return f"str of {len(value)} characters: {shorten(repr(value), VALUE_CHARS)}"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        kinds = sorted({type(v).__name__ for v in list(value)[:50]})
        of = f" of {'/'.join(kinds)}" if kinds else ""
        keys = "keys" if isinstance(value, dict) else "items"
        return (
            f"{type(value).__name__} with {len(value)} {keys}{of}: "
            f"{shorten(_safe_repr(value), VALUE_CHARS)}"
        )
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        import inspect

        try:
            signature = str(inspect.signature(value))
        except (TypeError, ValueError):
            signature = "(…)"
        doc = (inspect.getdoc(value) or "").strip().splitlines()
        kind = "class" if isinstance(value, type) else "function"
        summary = f" — {doc[0]}" if doc else ""
        return f"{kind} {getattr(value, '__qualname__', '?')}{signature}{summary}"
    return f"{_type_name(value)}: {shorten(_safe_repr(value), VALUE_CHARS)}"


def user_variables(user_ns: Mapping[str, Any], hidden: Iterable[str] = ()) -> dict[str, Any]:
    """The user's own variables: no IPython internals, modules or ``_private`` names."""
    skip = set(hidden)
    return {
        name: value
        for name, value in user_ns.items()
        if not name.startswith("_")
        and name not in skip
        and name not in ("In", "Out", "exit", "quit", "get_ipython")
        and not isinstance(value, types.ModuleType)
    }


def names_in(text: str, candidates: Mapping[str, Any]) -> list[str]:
    """Variable names that a prompt mentions, in order of first mention."""
    seen: list[str] = []
    for match in _NAME.finditer(text):
        name = match.group(0)
        if name in candidates and name not in seen and not keyword.iskeyword(name):
            seen.append(name)
    return seen


def describe_variables(
    names: Iterable[str], variables: Mapping[str, Any], limit: int = MAX_VARIABLES
) -> list[str]:
    """``name: description`` lines for the named variables (at most ``limit``)."""
    lines = []
    for name in list(names)[:limit]:
        if name in variables:
            lines.append(f"{name}: {describe_value(variables[name])}")
    return lines


# -- {var} interpolation -------------------------------------------------------------


def interpolate(text: str, user_ns: Mapping[str, Any]) -> str:
    """Replace ``{name}`` (also ``{name.attr}``, ``{name[0]}``) with the value's ``str``.

    Only simple references to existing variables expand; any other brace text
    (code, JSON, ``{{literal}}``) is left alone, so prompts about code survive.
    """

    def expand(match: re.Match[str]) -> str:
        expression = match.group(1)
        root = _NAME.match(expression)
        if root is None or root.group(0) not in user_ns:
            return match.group(0)
        try:
            value = eval(expression, {"__builtins__": {}}, dict(user_ns))
        except Exception:  # noqa: BLE001 - not a reference after all: leave the text
            return match.group(0)
        return str(value)

    return _PLACEHOLDER.sub(expand, text)


# -- the last exception ----------------------------------------------------------------


@dataclass(frozen=True)
class LastError:
    """The exception the last failing cell raised, as plain text."""

    type_name: str
    message: str
    traceback: str


def last_error(sys_module: Any = sys) -> LastError | None:
    """The last uncaught exception of the shell, with its traceback (colourless).

    IPython stores it in ``sys.last_type/last_value/last_traceback`` when it shows
    a traceback; cell sources appear in it because IPython registers them with
    ``linecache``.
    """
    value = getattr(sys_module, "last_value", None)
    if value is None:
        return None
    tb = getattr(sys_module, "last_traceback", None)
    lines = traceback.format_exception(type(value), value, tb)
    text = strip_ansi("".join(lines))
    return LastError(type(value).__name__, strip_ansi(str(value)), shorten(text, TRACEBACK_CHARS))


# -- the prompt ---------------------------------------------------------------------------


@dataclass
class PromptContext:
    """Everything added to a prompt; ``render()`` turns it into the text codex reads."""

    notebook: str | None = None
    cells: list[Cell] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    error: LastError | None = None
    format_hint: str | None = None

    def render(self) -> str:
        parts: list[str] = []
        if self.notebook:
            parts.append(f"Notebook: {self.notebook}")
        if self.cells:
            blocks = []
            for cell in self.cells:
                block = f"In [{cell.number}]:\n```python\n{cell.source}\n```"
                if cell.output is not None:
                    block += f"\nOut [{cell.number}]: {cell.output}"
                blocks.append(block)
            parts.append("Recent cells, oldest first:\n" + "\n".join(blocks))
        if self.variables:
            parts.append("Variables in the kernel:\n" + "\n".join(f"- {v}" for v in self.variables))
        if self.error is not None:
            parts.append(
                f"The last cell raised {self.error.type_name}: {self.error.message}\n"
                f"Traceback:\n```\n{self.error.traceback.rstrip()}\n```"
            )
        if self.format_hint:
            parts.append(self.format_hint)
        if not parts:
            return ""
        return "[Context from the Jupyter notebook]\n" + "\n\n".join(parts)


FORMAT_HINTS = {
    "markdown": None,
    "text": "Answer in plain text without Markdown.",
    "code": (
        "Answer with the Python code for the next notebook cell in one ```python block; "
        "keep any explanation to a short comment inside the code."
    ),
}


def build_context(
    mode: ContextMode,
    prompt: str,
    user_ns: Mapping[str, Any],
    *,
    hidden: Iterable[str] = (),
    include_error: bool = False,
    output_format: str = "markdown",
    inputs: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PromptContext:
    """Collect what ``--context MODE`` asks for.

    * ``none``: nothing (a format hint at most).
    * ``cell``: the notebook path and the last executed cell with its result.
    * ``notebook`` (default): the path, the last few cells, and the variables the
      prompt mentions by name.
    * ``vars``: the path and the variables the prompt mentions, or every user
      variable when it names none.

    ``inputs`` is IPython's raw input history (``In`` holds the transformed code).
    """
    context = PromptContext(format_hint=FORMAT_HINTS.get(output_format))
    if include_error:
        context.error = last_error()
    if mode == "none":
        return context
    context.notebook = notebook_path(user_ns, environ)
    if inputs is None:  # the parsed history; the magics pass IPython's raw one
        inputs = user_ns.get("In")
    outputs = user_ns.get("Out")
    history = inputs if isinstance(inputs, list) else []
    results = outputs if isinstance(outputs, dict) else {}
    if mode == "cell":
        context.cells = recent_cells(history, results, limit=1)
    elif mode == "notebook":
        context.cells = recent_cells(history, results)
    variables = user_variables(user_ns, hidden)
    named = names_in(prompt, variables)
    if mode == "vars" and not named:
        named = sorted(variables)
    if mode in ("notebook", "vars"):
        context.variables = describe_variables(named, variables)
    return context


def compose_prompt(prompt: str, context: PromptContext) -> str:
    """The text sent to codex: the user's words first, then the context block."""
    extra = context.render()
    return f"{prompt.strip()}\n\n{extra}" if extra else prompt.strip()


__all__ = [
    "CONTEXT_MODES",
    "Cell",
    "ContextMode",
    "LastError",
    "PromptContext",
    "build_context",
    "compose_prompt",
    "describe_value",
    "describe_variables",
    "interpolate",
    "last_error",
    "names_in",
    "notebook_path",
    "recent_cells",
    "strip_ansi",
    "user_variables",
]
