"""``%load_ext jupyter_codex``: register the magics and teach IPython three things.

* Top-level ``%codex`` calls become ``await`` of the magics' coroutine (an input
  transformer that runs after IPython turned magics into calls), so the turn runs
  on the kernel's loop and the loop stays free for widget clicks and interrupts.
* ``%codex Why?`` is a question for Codex, not IPython's ``obj?`` help.
* :class:`~jupyter_codex.kernel.magics.CodexMagicError` is shown as its message
  alone (a custom exception handler), never as a traceback.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from .magics import CodexMagicError, CodexMagics

#: The user-namespace name of the object that ``await``-rewritten cells call.
ASYNC_ENTRY = "__codex_magics__"
_MAGIC_CALL = re.compile(
    r"^(?P<pre>(?:[A-Za-z_]\w*\s*=\s*)?)get_ipython\(\)\.run_(?P<kind>line|cell)_magic\("
    r"(?P<q>['\"])(?P<name>codex|codex_fix)(?P=q),"
)


class _AsyncEntry:
    """``await __codex_magics__.run_line_magic('codex', '…')``: the rewritten cells' target."""

    def __init__(self, magics: CodexMagics) -> None:
        self._magics = magics

    async def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> None:
        await self._magics.run_async(name, line)

    async def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        await self._magics.run_async(name, line, cell)


def async_transformer(lines: list[str]) -> list[str]:
    """Rewrite top-level ``%codex`` calls to ``await`` the async entry point.

    Runs after IPython turned magics into ``get_ipython().run_*_magic(...)``;
    indented calls (in a loop or function) stay synchronous.
    """
    out = []
    for line in lines:
        match = _MAGIC_CALL.match(line)
        if match:
            call = f"await {ASYNC_ENTRY}.run_{match['kind']}_magic({match['q']}{match['name']}{match['q']},"
            line = match["pre"] + call + line[match.end() :]
        out.append(line)
    return out


_QUESTION = re.compile(
    r"^(?P<indent>[ \t]*)%(?P<name>codex|codex_fix)[ \t]+(?P<prompt>.*\?)[ \t]*$"
)


def protect_questions(lines: list[str]) -> list[str]:
    """Keep ``%codex Why is this slow?`` a question for Codex.

    IPython reads a line ending in ``?`` as a help request (``obj?``); this runs
    before that and writes such a line as the magic call it means
    (``%codex?`` alone still shows the magic's help).
    """
    out = []
    for line in lines:
        body = line.rstrip("\n")
        match = _QUESTION.match(body)
        if match and match["prompt"].strip("? \t"):
            call = f"get_ipython().run_line_magic({match['name']!r}, {match['prompt']!r})"
            line = match["indent"] + call + line[len(body) :]
        out.append(line)
    return out


def _show_error(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """Custom traceback handler: the message alone, in red."""
    stb = [f"\x1b[0;31mCodex: {value}\x1b[0m"]
    shell._showtraceback(etype, value, stb)
    return stb


def _can_await(shell: Any) -> bool:
    """Cells with top-level ``await`` run on asyncio (ipykernel, and IPython by default)."""
    try:
        from IPython.core.interactiveshell import (  # type: ignore[attr-defined]
            _asyncio_runner,
        )
    except ImportError:  # pragma: no cover - IPython < 7
        return False
    return bool(getattr(shell, "autoawait", False)) and shell.loop_runner is _asyncio_runner


def load_ipython_extension(shell: Any) -> None:
    """Register the magics, the readable-error handler and the ``await`` rewrite."""
    magics = CodexMagics(shell)
    shell.register_magics(magics)
    entry = _AsyncEntry(magics)
    shell.user_ns[ASYNC_ENTRY] = entry
    shell.user_ns_hidden[ASYNC_ENTRY] = entry
    # trio (imported lazily by httpcore) warns once it finds any custom handler.
    warnings.filterwarnings(
        "ignore", message="IPython detected, but you already have a custom exception handler"
    )
    previous = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if CodexMagicError not in previous:
        if previous:
            old_handler = shell.CustomTB

            def handler(
                sh: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
            ) -> Any:
                if isinstance(value, CodexMagicError):
                    return _show_error(sh, etype, value, tb, tb_offset)
                return old_handler(etype, value, tb, tb_offset=tb_offset)

            shell.set_custom_exc((*previous, CodexMagicError), handler)
        else:
            shell.set_custom_exc((CodexMagicError,), _show_error)
    if protect_questions not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(protect_questions)
    if _can_await(shell) and async_transformer not in shell.input_transformers_post:
        shell.input_transformers_post.append(async_transformer)


def unload_ipython_extension(shell: Any) -> None:
    if protect_questions in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(protect_questions)
    if async_transformer in shell.input_transformers_post:
        shell.input_transformers_post.remove(async_transformer)
    shell.user_ns.pop(ASYNC_ENTRY, None)
    shell.user_ns_hidden.pop(ASYNC_ENTRY, None)


__all__ = [
    "ASYNC_ENTRY",
    "async_transformer",
    "load_ipython_extension",
    "protect_questions",
    "unload_ipython_extension",
]
