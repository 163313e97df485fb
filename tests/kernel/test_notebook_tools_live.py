"""Notebook functions as Codex tools: a real kernel defines ``@tool`` functions, ``%codex``
declares them on the notebook's session, the real codex calls one by name (scripted in
the fake), the kernel runs it on its main thread, and the result reaches the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import text, tool_call
from kernel_driver import KernelDriver, final_plain, kernel
from kernel_live import Live

SCALE_TOOL = '''
import threading
from jupyter_codex import tool
from jupyter_codex.kernel import report_progress

calls = []

@tool
def scale_column(column: str, factor: float, limit: int | None = None) -> dict:
    """Multiply a column of the notebook's table by a factor.

    Args:
        column: the column's name
        factor: what to multiply by
    """
    main = threading.current_thread() is threading.main_thread()
    calls.append((column, factor, type(factor).__name__, limit, main))
    print("scaling", column)
    report_progress(f"scaled {column}")  # from the kernel's main thread, in the cell's context
    return {"column": column, "total": 10 * factor}
'''


def sessions_titled(live: Live, title: str) -> list[dict[str, Any]]:
    with live.server.client() as http:
        listed = http.get("/codex/api/sessions").json()["sessions"]
    return [s for s in listed if s["title"] == title]


def value(nb: KernelDriver, expression: str) -> str:
    return nb.ok(f"print(repr({expression}))").stdout.strip()


@pytest.fixture
def notebook(live: Live, request: pytest.FixtureRequest) -> Iterator[tuple[KernelDriver, str]]:
    """A fresh kernel whose notebook (and so default session) is this test's own."""
    name = f"{request.node.name[:40]}.ipynb"
    env = live.kernel_env(JPY_SESSION_NAME=str(live.project / name))
    with kernel(env, live.project) as driver:
        driver.ok("%load_ext jupyter_codex")
        yield driver, name


def test_a_notebook_tool_runs_in_the_kernel_and_its_result_reaches_the_model(
    live: Live, notebook: tuple[KernelDriver, str]
) -> None:
    nb, title = notebook
    nb.ok(SCALE_TOOL)
    live.fake.script(
        "NBTOOL-1 scale",
        tool_call("scale_column", {"column": "units", "factor": "2.5"}),
        text("Scaled the units."),
    )
    run = nb.ok("%codex NBTOOL-1 scale the units")

    # The function ran in the kernel, on its main thread, with typed arguments.
    assert value(nb, "calls") == "[('units', 2.5, 'float', None, True)]"
    assert "scaling units" in run.stdout  # its prints land in the %codex cell
    first, follow_up = live.fake.responses_requests(containing="NBTOOL-1 scale")[:2]
    offered = json.dumps(first.body)
    assert "scale_column" in offered and "Multiply a column" in offered
    assert "what to multiply by" in offered  # the Args section describes the arguments
    assert json.loads(follow_up.function_call_outputs[-1]) == {"column": "units", "total": 25.0}

    # The compact output shows the call: name, arguments, status and result.
    final = final_plain(run)
    assert 'tool scale_column(column="units", factor="2.5")  [done' in final, final
    assert '→ {"column": "units", "total": 25.0}' in final, final
    assert final.rstrip().endswith("Scaled the units.")
    markdown = run.of_type("update_display_data")[-1]["content"]["data"]["text/markdown"]
    assert '⚙ `scale_column(column="units", factor="2.5")` — done' in markdown, markdown

    # Its progress report reached the session's timeline.
    (session,) = sessions_titled(live, title)
    with live.server.client() as http:
        events = http.get(f"/codex/api/sessions/{session['id']}/events").json()["events"]
    progress = [e["data"]["message"] for e in events if e["type"] == "tool_call.progress"]
    assert progress == ["scaled units"], progress

    # The session was declared with the tool once; the next turn keeps it.
    live.fake.script(
        "NBTOOL-1 again", tool_call("scale_column", {"column": "price", "factor": 2}), text("Ok.")
    )
    again = nb.ok("%codex NBTOOL-1 again")
    assert "new session" not in again.stdout
    assert "scaling price" in again.stdout, again.describe()  # this cell's, not the first one's
    assert [s["id"] for s in sessions_titled(live, title)] == [session["id"]]
    assert (
        json.loads(
            live.fake.responses_requests(containing="NBTOOL-1 again")[1].function_call_outputs[-1]
        )["total"]
        == 20
    )


def test_an_exception_in_a_notebook_tool_becomes_an_error_result(
    live: Live, notebook: tuple[KernelDriver, str]
) -> None:
    nb, _ = notebook
    nb.ok(
        "import asyncio\n"
        "from jupyter_codex import tool\n\n"
        "@tool\n"
        "def load_table(name: str) -> str:\n"
        '    """Load one of the notebook\'s tables by name."""\n'
        "    raise KeyError(f'no table {name}')\n\n"
        "@tool\n"
        "async def list_tables(limit: int = 10) -> list[str]:\n"
        '    """The names of the notebook\'s tables."""\n'
        "    await asyncio.sleep(0.01)\n"
        "    print('listing tables')\n"
        "    return ['orders', 'customers'][:limit]\n"
    )
    live.fake.script(
        "NBTOOL-2 load",
        tool_call("load_table", {"name": "sales"}),
        tool_call("list_tables", {"limit": "1"}),
        text("There is no sales table."),
    )
    run = nb.ok("%codex NBTOOL-2 load sales")
    assert run.errors == []  # the tool's exception went to the model, not to the cell

    requests = live.fake.responses_requests(containing="NBTOOL-2 load")
    assert "KeyError: 'no table sales'" in json.dumps(requests[1].function_call_outputs)
    assert json.loads(requests[2].function_call_outputs[-1]) == [
        "orders"
    ]  # the async tool's result
    assert "listing tables" in run.stdout  # it ran in this cell's context
    final = final_plain(run)
    assert 'tool load_table(name="sales")  [failed' in final, final
    assert "error: KeyError: 'no table sales'" in final, final
    assert "There is no sales table." in final


def test_tools_defined_later_continue_in_a_new_session_and_no_tools_turns_them_off(
    live: Live, notebook: tuple[KernelDriver, str]
) -> None:
    nb, title = notebook
    live.fake.script("NBTOOL-3 before", text("No tools yet."))
    nb.ok("%codex NBTOOL-3 before")
    (before,) = sessions_titled(live, title)

    # A tool defined after the session started: codex cannot add it to that thread.
    nb.ok(SCALE_TOOL)
    live.fake.script(
        "NBTOOL-3 after",
        tool_call("scale_column", {"column": "units", "factor": 3}),
        text("Now with tools."),
    )
    run = nb.ok("%codex NBTOOL-3 after")
    assert "continuing in a new session" in run.stdout and before["id"] in run.stdout
    after = [s for s in sessions_titled(live, title) if s["id"] != before["id"]]
    assert len(after) == 1 and after[0]["cwd"] == before["cwd"]
    assert (
        json.loads(
            live.fake.responses_requests(containing="NBTOOL-3 after")[1].function_call_outputs[-1]
        )["total"]
        == 30
    )
    assert "NBTOOL-3 before" not in json.dumps(
        live.fake.responses_requests(containing="NBTOOL-3 after")[0].body
    )

    # --no-tools: the same session; a call the model still makes fails at once.
    live.fake.script(
        "NBTOOL-3 off",
        tool_call("scale_column", {"column": "units", "factor": 4}),
        text("Tools are off."),
    )
    off = nb.ok("%codex --no-tools NBTOOL-3 off")
    assert "new session" not in off.stdout
    assert len(sessions_titled(live, title)) == 2
    assert "Notebook tools are off" in json.dumps(
        live.fake.responses_requests(containing="NBTOOL-3 off")[1].function_call_outputs
    )
    probe = nb.ok("print(repr(len(calls)))")
    assert probe.stdout.strip() == "1", probe.describe()


def test_a_blocking_codex_runs_the_tool_on_the_main_thread_too(
    live: Live, notebook: tuple[KernelDriver, str]
) -> None:
    """%codex inside a loop runs on the client's loop thread; the tool still runs where
    cells run, and the turn goes on."""
    nb, _ = notebook
    nb.ok(SCALE_TOOL)
    live.fake.script(
        "NBTOOL-4 loop",
        tool_call("scale_column", {"column": "units", "factor": 1.5, "limit": 3}),
        text("Looped."),
    )
    run = nb.ok("for attempt in range(1):\n    %codex NBTOOL-4 loop")
    assert value(nb, "calls") == "[('units', 1.5, 'float', 3, True)]"
    assert "scaling units" in run.stdout
    assert (
        json.loads(
            live.fake.responses_requests(containing="NBTOOL-4 loop")[1].function_call_outputs[-1]
        )["total"]
        == 15.0
    )
    assert "Looped." in final_plain(run)


def test_a_kernel_restart_keeps_the_session_when_the_tools_are_the_same(
    live: Live, request: pytest.FixtureRequest
) -> None:
    """The server remembers each session's declared tools: a restarted kernel that
    defines the same tools continues the conversation; changed tools still move on."""
    name = f"{request.node.name[:40]}.ipynb"
    env = live.kernel_env(JPY_SESSION_NAME=str(live.project / name))
    live.fake.script(
        "NBTOOL-5 first",
        tool_call("scale_column", {"column": "units", "factor": 2}),
        text("First."),
    )
    with kernel(env, live.project) as nb:
        nb.ok("%load_ext jupyter_codex")
        nb.ok(SCALE_TOOL)
        nb.ok("%codex NBTOOL-5 first")
    (session,) = sessions_titled(live, name)
    assert [t["name"] for t in session["tools"]] == ["scale_column"], session

    # A new kernel, the notebook's cells run again: same tools, same session.
    live.fake.script(
        "NBTOOL-5 second",
        tool_call("scale_column", {"column": "units", "factor": 4}),
        text("Second."),
    )
    with kernel(env, live.project) as nb:
        nb.ok("%load_ext jupyter_codex")
        nb.ok(SCALE_TOOL)
        run = nb.ok("%codex NBTOOL-5 second")
        assert "new session" not in run.stdout, run.describe()
        assert [s["id"] for s in sessions_titled(live, name)] == [session["id"]]
        second = live.fake.responses_requests(containing="NBTOOL-5 second")
        assert "NBTOOL-5 first" in json.dumps(second[0].body)  # the same conversation
        assert json.loads(second[1].function_call_outputs[-1])["total"] == 40
        assert value(nb, "calls") == "[('units', 4.0, 'float', None, True)]"

    # After another restart, a tool whose signature changed cannot join that thread.
    changed = SCALE_TOOL.replace("limit: int | None = None", "limit: int | None = None, x=0")
    with kernel(env, live.project) as nb:
        nb.ok("%load_ext jupyter_codex")
        nb.ok(changed)
        live.fake.script("NBTOOL-5 third", text("Third."))
        run = nb.ok("%codex NBTOOL-5 third")
        assert "continuing in a new session" in run.stdout, run.describe()
    assert len(sessions_titled(live, name)) == 2
