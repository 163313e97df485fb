"""Kernel-side pieces that need no server: option parsing, prompt context, the
timeline renderer, the cell rewrites, and the magics without ipywidgets."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from jupyter_codex.kernel import tool
from jupyter_codex.kernel.context import (
    build_context,
    describe_value,
    interpolate,
    recent_cells,
)
from jupyter_codex.kernel.extension import async_transformer, protect_questions
from jupyter_codex.kernel.magics import extract_code
from jupyter_codex.kernel.notebook_tools import (
    ToolConflictError,
    fingerprint,
    notebook_tools,
    refusing,
)
from jupyter_codex.kernel.options import OptionError, parse_line
from jupyter_codex.kernel.render import Timeline


def test_options_keep_the_prompt_verbatim() -> None:
    options, prompt = parse_line("--session data --effort high what's wrong with df? --new")
    assert options.session == "data" and options.effort == "high" and not options.new
    assert prompt == "what's wrong with df? --new"
    options, prompt = parse_line('--cwd="my dir" --format=code -- --literal prompt')
    assert options.cwd == "my dir" and options.format == "code"
    assert prompt == "--literal prompt"
    options, prompt = parse_line("--no-tools summarize")
    assert options.no_tools and prompt == "summarize"
    for bad in ("--colour red hi", "--format yaml hi", "--effort", "--new=yes hi"):
        with pytest.raises(OptionError):
            parse_line(bad)


def test_interpolation_expands_only_references_to_existing_variables() -> None:
    ns = {"df": "<frame>", "cfg": {"k": 3}, "items": [4, 5]}
    text = "use {df} with {cfg['k']} and {items[1]}; keep {missing}, {{literal}}, {1 + 1}"
    assert interpolate(text, ns) == (
        "use <frame> with 3 and 5; keep {missing}, {{literal}}, {1 + 1}"
    )
    assert interpolate("def f(): return {'a': 1}", ns) == "def f(): return {'a': 1}"


def test_variables_are_described_compactly() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": range(1000), "b": ["x"] * 1000})
    described = describe_value(frame)
    assert described.startswith("pandas.DataFrame with 1000 rows × 2 columns: a int64, b ")
    assert len(described) < 600  # the rows are not sent
    assert describe_value(list(range(3))) == "list with 3 items of int: [0, 1, 2]"
    assert describe_value(3.5) == "float = 3.5"

    def area(width: float, height: float = 1.0) -> float:
        """Width times height."""
        return width * height

    assert describe_value(area) == (
        "function test_variables_are_described_compactly.<locals>.area"
        "(width: 'float', height: 'float' = 1.0) -> 'float' — Width times height."
    )


def test_context_modes() -> None:
    raw = ["", "import math", "%codex earlier question", "x = math.pi", "", "%codex now {x}"]
    ns = {"In": raw, "Out": {3: 3.14}, "x": 3.14, "__session__": "/w/nb.ipynb", "math": math_}
    cells = recent_cells(raw, ns["Out"])
    assert [(c.number, c.source, c.output) for c in cells] == [
        (1, "import math", None),
        (3, "x = math.pi", "3.14"),
    ]
    none = build_context("none", "what is x", ns, inputs=raw).render()
    assert none == ""
    cell = build_context("cell", "what is x", ns, inputs=raw)
    assert cell.notebook == "/w/nb.ipynb" and [c.number for c in cell.cells] == [3]
    notebook = build_context("notebook", "what is x", ns, inputs=raw)
    assert notebook.variables == ["x: float = 3.14"]  # named in the prompt; modules skipped
    every = build_context("vars", "explain", ns, inputs=raw)
    assert every.variables == ["x: float = 3.14"] and every.cells == []
    rendered = notebook.render()
    assert "Notebook: /w/nb.ipynb" in rendered and "In [3]:" in rendered


math_ = __import__("math")


def test_timeline_folds_a_turn_into_compact_blocks() -> None:
    events = [
        {"type": "assistant.delta", "item_id": "m1", "data": {"delta": "Running "}},
        {"type": "assistant.delta", "item_id": "m1", "data": {"delta": "tests."}},
        {
            "type": "command.started",
            "item_id": "c1",
            "data": {"command": "/bin/bash -lc 'pytest -q'"},
        },
        {
            "type": "command.completed",
            "item_id": "c1",
            "data": {
                "command": "pytest -q",
                "status": "completed",
                "exit_code": 1,
                "output": "E   assert 1 == 2\n1 failed",
                "duration_ms": 1500,
            },
        },
        {
            "type": "file_change.completed",
            "item_id": "p1",
            "data": {
                "status": "completed",
                "changes": [
                    {"path": "src/a.py", "kind": "update", "diff": "@@\n-x = 1\n+x = 2\n+y = 3\n"},
                    {"path": "new.txt", "kind": "add", "diff": "one\ntwo\nthree\n"},
                ],
            },
        },
        {"type": "assistant.message", "item_id": "m2", "data": {"text": "Fixed `a.py`."}},
        {"type": "turn.completed", "data": {"status": "completed"}},
    ]
    timeline = Timeline()
    for event in events:
        timeline.add(event)
    markdown = timeline.markdown()
    assert markdown.splitlines()[0] == "Running tests."
    assert "✗ `pytest -q` — exit 1, 1.5 s" in markdown and "1 failed" in markdown
    assert "✎ edited `src/a.py` +2 −1" in markdown and "✎ added `new.txt` +3 −0" in markdown
    assert timeline.final_text == "Fixed `a.py`." and not timeline.running
    assert "Working" not in markdown
    assert "$ pytest -q  [exit 1, 1.5 s]" in timeline.plain()


def test_cell_rewrites() -> None:
    assert async_transformer(["get_ipython().run_line_magic('codex', 'hi')\n"]) == [
        "await __codex_magics__.run_line_magic('codex', 'hi')\n"
    ]
    assert async_transformer(["r = get_ipython().run_cell_magic('codex', '', 'x\\n')\n"]) == [
        "r = await __codex_magics__.run_cell_magic('codex', '', 'x\\n')\n"
    ]
    indented = ["    get_ipython().run_line_magic('codex', 'hi')\n"]
    assert async_transformer(indented) == indented  # inside a loop: stays blocking
    other = ["get_ipython().run_line_magic('time', 'x')\n"]
    assert async_transformer(other) == other
    assert protect_questions(["%codex why so slow?\n", "%codex?\n", "%%codex x?\n"]) == [
        "get_ipython().run_line_magic('codex', 'why so slow?')\n",
        "%codex?\n",
        "%%codex x?\n",
    ]
    assert extract_code("Try:\n```python\nprint(1)\n```\nDone.") == "print(1)"
    assert extract_code("print(2)") == "print(2)"


def test_magics_load_and_read_well_without_ipywidgets() -> None:
    """ipywidgets is optional: the extension loads in a plain IPython shell without it,
    importing jupyter_codex stays light, and approvals fall back to the panel."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ipywidgets"] = None  # as if it were not installed
        import jupyter_codex
        assert "IPython" not in sys.modules and "httpx" not in sys.modules
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        shell.run_line_magic("load_ext", "jupyter_codex")
        assert {"codex", "codex_fix", "codex_status", "codex_accounts", "codex_sessions"} <= set(
            shell.magics_manager.magics["line"])
        from jupyter_codex.kernel.magics import _kernel_delivers_clicks
        ok, why = _kernel_delivers_clicks()
        assert not ok and "ipywidgets is not installed" in why, why
        shell.run_line_magic("codex", "--help")
        result = shell.run_cell("%codex --bogus hi")
        assert type(result.error_in_exec).__name__ == "CodexMagicError"
        print("OK")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    assert "Unknown option --bogus" in done.stdout + done.stderr
    assert "--session" in done.stdout and "{name} in the prompt" in done.stdout  # --help
    assert "Traceback" not in done.stdout


def test_tool_calls_show_arguments_and_result_compactly() -> None:
    timeline = Timeline("t1")
    started = {"kind": "dynamic", "tool": "lookup", "arguments": {"id": 7, "tags": ["a"]}}
    timeline.add({"type": "tool_call.started", "turn_id": "t1", "item_id": "c1", "data": started})
    assert '⚙ `lookup(id=7, tags=["a"])` — running…' in timeline.markdown()
    done = {
        **started,
        "status": "completed",
        "success": True,
        "duration_ms": 12,
        "result": [{"type": "inputText", "text": "x" * 1000}, {"type": "inputImage"}],
    }
    timeline.add({"type": "tool_call.completed", "turn_id": "t1", "item_id": "c1", "data": done})
    markdown = timeline.markdown()
    assert "— done, 12 ms" in markdown and "↳ `xxx" in markdown
    line = markdown.splitlines()[1]
    assert line.endswith("…`") and len(line) < 260  # long results are cut
    long_args = {"kind": "dynamic", "tool": "save", "arguments": {"text": "y" * 500}}
    timeline.add({"type": "tool_call.started", "turn_id": "t1", "item_id": "c2", "data": long_args})
    assert max(len(line) for line in timeline.plain().splitlines()) < 260
    failed = {
        "kind": "dynamic",
        "tool": "load",
        "arguments": '{"name": "sales"}',
        "status": "failed",
        "success": False,
        "error": {"message": "KeyError: 'sales'"},
        "result": [{"type": "inputText", "text": "KeyError: 'sales'"}],
    }
    timeline.add({"type": "tool_call.completed", "turn_id": "t1", "item_id": "c3", "data": failed})
    assert "⚙ `load(name=\"sales\")` — failed  \n↳ ✗ `KeyError: 'sales'`" in timeline.markdown()
    assert "tool load(name=\"sales\")  [failed]\n  error: KeyError: 'sales'" in timeline.plain()


def test_code_format_shows_a_bare_reply_as_python() -> None:
    timeline = Timeline("t1", code=True)
    timeline.add({"type": "assistant.message", "turn_id": "t1", "data": {"text": "df.head()"}})
    assert timeline.markdown().startswith("```python\ndf.head()\n```")


def test_notebook_tools_are_the_public_tool_objects_of_the_namespace() -> None:
    def area(width: float, height: float) -> float:
        """Area of a rectangle."""
        return width * height

    area_tool = tool(area)
    other = tool(name="area")(lambda side: side)
    hidden_tool = tool(name="hidden")(area)
    namespace = {
        "area_tool": area_tool,
        "alias": area_tool,
        "_private": tool(name="private")(area),
        "shown": hidden_tool,
        "plain": area,
    }
    assert [t.name for t in notebook_tools(namespace, {"shown": hidden_tool})] == ["area"]
    assert [t.name for t in notebook_tools(namespace)] == ["area", "hidden"]
    with pytest.raises(ToolConflictError, match="Two tools are named 'area'"):
        notebook_tools({**namespace, "other": other})
    # What the model sees decides whether a session can serve a tool set.
    assert fingerprint([area_tool]) == fingerprint([tool(area)])
    assert fingerprint([area_tool]) != fingerprint([tool(area, description="Another text.")])


async def test_refusing_stand_ins_answer_with_the_reason() -> None:
    (stand_in,) = refusing(["fetch"], "tools are off")
    assert stand_in.name == "fetch"
    for arguments in ({"url": "u"}, {}, None):  # whatever the model sends
        assert await stand_in.invoke(arguments) == (
            False,
            [{"type": "inputText", "text": "RuntimeError: tools are off"}],
        )


def test_the_turns_probe_reads_the_magics_counter_and_both_sides_send_the_same() -> None:
    """The server and JupyterLab ask a kernel (through a subshell) how many %codex turns
    it runs with one expression: 0 where the extension is not loaded."""
    from pathlib import Path

    from jupyter_codex.kernel.runner import turns_in_progress
    from jupyter_codex.workspace.notebook_kernel import TURNS_PROBE

    assert eval(TURNS_PROBE) == turns_in_progress() == 0
    bare = subprocess.run(
        [sys.executable, "-c", f"print({TURNS_PROBE})"], capture_output=True, text=True, check=True
    )
    assert bare.stdout.strip() == "0"
    source = Path(__file__).parents[2] / "labextension/src/notebook/subshell.ts"
    assert f'"{TURNS_PROBE}"' in source.read_text(encoding="utf-8")


def test_a_notebook_run_approval_shows_the_cell_not_a_command() -> None:
    from jupyter_codex.kernel.widgets.approval import describe_approval

    run = {
        "kind": "notebook_run",
        "command": "for i in range(3):\n    print(i < 2)",
        "cwd": "nb.ipynb",
        "reason": "Codex wants to run cell r1 of nb.ipynb.",
    }
    shown = describe_approval(run)
    assert "<b>Run this cell</b><pre" in shown
    assert "for i in range(3):\n    print(i &lt; 2)</pre>" in shown  # escaped, lines kept
    assert "cell r1 of nb.ipynb" in shown
    command = describe_approval({"kind": "command", "command": "/bin/bash -lc 'ls -la'"})
    assert "<b>Run</b> <code>ls -la</code>" in command
