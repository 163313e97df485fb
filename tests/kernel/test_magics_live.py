"""%codex in a real kernel against a real server, real codex and the fake upstream."""

from __future__ import annotations

import json
from typing import Any

from fakes import exec_command, hang, text, tool_call, usage_limit_error
from fakes.sse import user_images
from kernel_driver import KernelDriver, assert_readable, final_plain
from kernel_live import Live


def last_body(live: Live, marker: str) -> str:
    """The newest model request whose input mentions ``marker``, as JSON text."""
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in live.fake.responses_requests()]
    matching = [b for b in bodies if marker in b]
    assert matching, f"no model request mentioned {marker!r}"
    return matching[-1]


def sessions(live: Live) -> list[dict[str, Any]]:
    with live.server.client() as http:
        return http.get("/codex/api/sessions").json()["sessions"]  # type: ignore[no-any-return]


def test_answer_streams_into_one_updating_display(live: Live, nb: KernelDriver) -> None:
    live.fake.script(
        "STREAM-ME", text("Hello from Codex, streamed in pieces.", chunks=5, delay=0.15)
    )
    nb.ok("n_rows = 42")
    run = nb.ok("%codex STREAM-ME with {n_rows} rows")

    shown = run.of_type("display_data")
    updates = run.of_type("update_display_data")
    assert len(shown) == 1 and len(updates) >= 3, run.describe()
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    # The reply grows across the updates (streamed, not printed at the end).
    growing = [u["content"]["data"]["text/plain"] for u in updates]
    partial = [g for g in growing if "Hello" in g and "pieces." not in g]
    assert partial, growing
    final = updates[-1]["content"]["data"]
    assert final["text/markdown"].strip() == "Hello from Codex, streamed in pieces."
    assert "Working" not in final["text/plain"]

    body = last_body(live, "STREAM-ME")
    assert "STREAM-ME with 42 rows" in body  # {var} interpolation
    assert "analysis.ipynb" in body and "n_rows = 42" in body  # automatic context
    mine = [s for s in sessions(live) if s["title"] == "analysis.ipynb"]
    assert len(mine) == 1 and mine[0]["cwd"] == "proj"

    # The next %codex continues the notebook's session.
    live.fake.script("SECOND-TURN", text("Still here."))
    nb.ok("%codex SECOND-TURN")
    assert [s["id"] for s in sessions(live) if s["title"] == "analysis.ipynb"] == [mine[0]["id"]]


def test_cell_magic_insert_creates_the_next_cell(live: Live, nb: KernelDriver) -> None:
    code = "totals = {'a': 1, 'b': 2}\nprint(sum(totals.values()))"
    live.fake.script("INSERT-ME", text(f"Here you go:\n\n```python\n{code}\n```\n"))
    run = nb.ok("%%codex --insert\nINSERT-ME: add up the totals")
    inserted = [p for p in run.payloads if p.get("source") == "set_next_input"]
    assert inserted == [{"source": "set_next_input", "text": code, "replace": False}], run.payloads
    assert "one ```python block" in last_body(live, "INSERT-ME")  # --insert asks for code
    assert "new cell below" in run.stdout


def test_approval_widget_accept_runs_the_command_and_decline_does_not(
    live: Live, nb: KernelDriver
) -> None:
    approved, declined = live.project / "approved.txt", live.project / "declined.txt"
    live.fake.script(
        "APPROVE-ME", exec_command("touch approved.txt", escalated=True), text("Done.")
    )
    live.fake.script("DECLINE-ME", exec_command("touch declined.txt", escalated=True), text("Ok."))

    for marker, label, path in (
        ("APPROVE-ME", "Accept", approved),
        ("DECLINE-ME", "Decline", declined),
    ):
        before = set(nb.widget_ids("ButtonModel", description=label))
        run = nb.start(f"%codex {marker}")
        button = nb.wait_for(
            lambda label=label, before=before: (
                set(nb.widget_ids("ButtonModel", description=label)) - before
            ),
            timeout=60,
            what=f"an approval prompt with {label}",
        )
        # The turn really waits: nothing ran, the cell is still busy, the server waits too.
        assert not path.exists()
        with live.server.client() as http:
            pending = http.get("/codex/api/approvals").json()["approvals"]
        assert len(pending) == 1 and path.name in pending[0]["command"]
        assert run.reply is None
        nb.click(next(iter(button)))
        nb.wait(run, timeout=60)
        assert run.status == "ok", run.describe()
        final = final_plain(run)
        assert path.name in final
        if label == "Accept":
            assert path.exists() and "exit 0" in final, final
        else:
            assert not path.exists() and "declined" in final, final
    with live.server.client() as http:
        assert http.get("/codex/api/approvals").json()["approvals"] == []


def test_codex_in_a_loop_blocks_and_leaves_approvals_to_the_panel(
    live: Live, nb: KernelDriver
) -> None:
    """Indented %codex runs without the await rewrite: outputs still stream into the
    cell, and an approval (no buttons possible) is decided elsewhere."""
    made = live.project / "from-loop.txt"
    live.fake.script(
        "LOOP-ME", exec_command("touch from-loop.txt", escalated=True), text("Looped.")
    )
    run = nb.start("for attempt in range(1):\n    %codex LOOP-ME")
    shown = lambda: "".join(run.plain_outputs())
    nb.wait_for(lambda: "asks for approval" in shown(), timeout=60, what="the approval line")
    with live.server.client() as http:
        pending = http.get("/codex/api/approvals").json()["approvals"]
        assert len(pending) == 1 and pending[0]["id"] in shown()
        assert not made.exists() and run.reply is None
        http.post(f"/codex/api/approvals/{pending[0]['id']}", json={"decision": "accept"})
    nb.wait(run, timeout=60)
    assert run.status == "ok", run.describe()
    assert made.exists()
    assert run.of_type("display_data") and run.of_type("update_display_data")
    assert "Looped." in final_plain(run)


def test_codex_fix_sends_the_traceback(live: Live, nb: KernelDriver) -> None:
    failing = nb.run("def load(path):\n    return open(path).read()\n\nload('missing-data.csv')")
    assert failing.status == "error"
    live.fake.script("FIX-MARK", text("The file does not exist; create it first."))
    run = nb.ok("%codex_fix FIX-MARK")
    body = last_body(live, "FIX-MARK")
    assert "FileNotFoundError" in body and "missing-data.csv" in body
    assert "Traceback" in body and "return open(path).read()" in body
    assert "create it first" in final_plain(run)
    # Also spelled %codex --fix; with nothing to fix it says so.
    nb.ok("x = 1")
    live.fake.script("FIX-AGAIN", text("Same fix."))
    nb.ok("%codex --fix FIX-AGAIN")
    assert "FileNotFoundError" in last_body(live, "FIX-AGAIN")


def test_interrupting_the_kernel_stops_the_turn(live: Live, nb: KernelDriver) -> None:
    live.fake.script("SLOW-ONE", text("partial answer ") + hang())
    run = nb.start("%codex SLOW-ONE")
    nb.wait_for(
        lambda: any("partial answer" in p for p in run.plain_outputs()),
        timeout=60,
        what="the partial answer",
    )
    nb.interrupt()
    nb.wait(run, timeout=60)
    live.fake.release()
    assert run.status == "ok", run.describe()
    assert "Stopped the turn." in run.stdout
    assert "Stopped." in final_plain(run)
    mine = next(s for s in sessions(live) if s["title"] == "analysis.ipynb")
    with live.server.client() as http:
        events = http.get(f"/codex/api/sessions/{mine['id']}/events").json()["events"]
    done = [e for e in events if e["type"] == "turn.completed"]
    assert done[-1]["data"]["status"] == "interrupted"
    # The kernel and the session are usable again.
    live.fake.script("AFTER-STOP", text("Back again."))
    assert "Back again." in final_plain(nb.ok("%codex AFTER-STOP"))

    # The same from a blocking %codex (inside a loop).
    live.fake.script("SLOW-TWO", text("second partial ") + hang())
    run = nb.start("for attempt in range(1):\n    %codex SLOW-TWO")
    nb.wait_for(
        lambda: any("second partial" in p for p in run.plain_outputs()),
        timeout=60,
        what="the second partial answer",
    )
    nb.interrupt()
    nb.wait(run, timeout=60)
    live.fake.release()
    assert run.status == "ok" and "Stopped the turn." in run.stdout, run.describe()
    assert "Stopped." in final_plain(run)


def test_context_vars_describes_dataframes(live: Live, nb: KernelDriver) -> None:
    nb.ok(
        "import pandas as pd\n"
        "sales = pd.DataFrame({'region': ['north', 'south'], 'units': [3, 5], 'price': [1.5, 2.0]})"
    )
    live.fake.script("VARS-MARK", text("Two regions."))
    nb.ok("%codex --context vars --format text VARS-MARK summarize sales")
    body = last_body(live, "VARS-MARK")
    assert "sales: pandas.DataFrame with 2 rows × 3 columns" in body
    assert "region object" in body or "region str" in body, body
    assert "units int64" in body and "price float64" in body
    assert "Answer in plain text" in body


def test_status_accounts_and_sessions(live: Live, nb: KernelDriver) -> None:
    accounts = final_plain(nb.ok("%codex_accounts"))
    assert live.account_id in accounts and "tester@example.com" in accounts
    assert "70%" in accounts and "90%" in accounts  # remaining = 100 - used, both windows
    switched = nb.ok(f"%codex_accounts use {live.account_id} --target api")
    assert f"Target api now uses account {live.account_id}" in switched.stdout
    status = final_plain(nb.ok("%codex_status"))
    assert live.server.url in status and "found in the environment" in status
    assert "Target api: " in status and "tester@example.com" in status
    assert "analysis.ipynb" in status  # this notebook's session
    listed = final_plain(nb.ok("%codex_sessions"))
    assert "▶" in listed and "analysis.ipynb" in listed
    assert_readable(nb.run("%codex_accounts use nope --target cli"), "nope")


def test_bad_session_id_and_exhausted_account_read_well(live: Live, nb: KernelDriver) -> None:
    missing = "0123456789abcdef0123456789abcdef"
    assert_readable(nb.run(f"%codex --session {missing} hello"), "no session", "%codex_sessions")
    assert_readable(nb.run("%codex --format yaml hello"), "--format must be one of")

    live.fake.script("EXHAUSTED", usage_limit_error())
    assert_readable(nb.run("%codex EXHAUSTED"), "usage limit", "%codex_accounts")


def test_named_sessions_cwd_effort_and_new(live: Live, nb: KernelDriver) -> None:
    (live.project / "sub").mkdir()
    live.fake.script("CWD-MARK", text("In sub."))
    live.fake.script("CWD-AGAIN", text("Still in sub."))
    live.fake.script("NEW-MARK", text("Fresh start."))
    nb.ok("%codex --session cwd-demo --cwd sub --effort low CWD-MARK")
    nb.ok("%codex --session cwd-demo CWD-AGAIN")
    named = [s for s in sessions(live) if s["title"] == "cwd-demo"]
    assert len(named) == 1 and named[0]["cwd"] == "proj/sub" and named[0]["effort"] == "low"
    body = last_body(live, "CWD-AGAIN")
    assert "CWD-MARK" in body  # the same conversation

    before = {s["id"] for s in sessions(live) if s["title"] == "analysis.ipynb"}
    nb.ok("%codex --new NEW-MARK")
    after = {s["id"] for s in sessions(live) if s["title"] == "analysis.ipynb"}
    (fresh,) = after - before
    assert "CWD-MARK" not in last_body(live, "NEW-MARK")
    listed = final_plain(nb.ok("%codex_sessions"))
    marked = next(line for line in listed.splitlines() if line.startswith("▶"))
    assert fresh in marked


def test_model_option_reaches_the_upstream_request(live: Live, nb: KernelDriver) -> None:
    live.fake.script("MODEL-MARK", text("Answered by the chosen model."))
    live.fake.script("MODEL-AGAIN", text("Same model."))
    nb.ok("%codex --session model-demo --model gpt-fake-mini MODEL-MARK")
    requests = [r for r in live.fake.responses_requests() if "MODEL-MARK" in json.dumps(r.body)]
    assert requests and {r.body.get("model") for r in requests} == {"gpt-fake-mini"}
    (session,) = [s for s in sessions(live) if s["title"] == "model-demo"]
    assert session["model"] == "gpt-fake-mini"
    # It sticks for the session's later turns.
    nb.ok("%codex --session model-demo MODEL-AGAIN")
    later = [r for r in live.fake.responses_requests() if "MODEL-AGAIN" in json.dumps(r.body)]
    assert later and later[-1].body.get("model") == "gpt-fake-mini"


def test_format_code_renders_the_answer_as_code(live: Live, nb: KernelDriver) -> None:
    code = "totals = sales.groupby('region').units.sum()\ntotals.plot.bar()"
    live.fake.script("CODE-MARK", text(code))
    run = nb.ok("%codex --format code CODE-MARK plot units per region")
    assert "one ```python block" in last_body(live, "CODE-MARK")  # asked for code
    final = run.of_type("update_display_data")[-1]["content"]["data"]
    assert final["text/markdown"] == f"```python\n{code}\n```", final
    assert final["text/plain"] == code
    # A reply that brings its own fence is shown as it is.
    fenced = f"```python\n{code}\n```"
    live.fake.script("CODE-FENCED", text(f"Here:\n\n{fenced}"))
    run = nb.ok("%codex --format code CODE-FENCED")
    final = run.of_type("update_display_data")[-1]["content"]["data"]
    assert final["text/markdown"] == f"Here:\n\n{fenced}", final


def test_codex_image_sends_a_file_and_a_displayed_picture(live: Live, nb: KernelDriver) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    live.fake.script("MAGIC-IMG", text("Two pictures."))
    nb.ok(
        "import base64\nfrom IPython.display import Image\n"
        f"raw = base64.b64decode({png!r})\nopen('pixel.png', 'wb').write(raw)\n"
        "shown = Image(data=raw)\nshown"
    )
    run = nb.ok("%codex --image pixel.png --image shown MAGIC-IMG describe them")
    assert "Two pictures." in final_plain(run)
    body = live.fake.responses_requests("MAGIC-IMG")[-1].body
    parts = user_images(body)
    assert len(parts) == 2 and all(png[:40] in json.dumps(p) for p in parts)
    bad = nb.run("%codex --image nowhere.png MAGIC-IMG")
    assert_readable(bad, "no such file")


def test_codex_image_plot_sends_the_figure_the_cell_drew(live: Live, nb: KernelDriver) -> None:
    live.fake.script("MAGIC-PLOT", text("A rising line."))
    nb.ok(
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig = plt.figure()\n_ = plt.plot([1, 2, 3])"
    )
    run = nb.ok("%codex --image plot MAGIC-PLOT what does it show?")
    assert "A rising line." in final_plain(run)
    body = live.fake.responses_requests("MAGIC-PLOT")[-1].body
    # The session goes on across this module's tests: read this turn's message only.
    last_user = [item for item in body["input"] if item.get("role") == "user"][-1]
    parts = [p for p in last_user.get("content") or [] if p.get("type") == "input_image"]
    assert len(parts) == 1
    # The PNG signature, base64-encoded, at the start of the data URL's payload.
    assert "iVBORw0KGgo" in json.dumps(parts[0])
    nb.ok("plt.close('all')")
    empty = nb.run("%codex --image plot MAGIC-PLOT again")
    assert_readable(empty, "no matplotlib figure")


def test_codex_without_buttons_prints_the_question_and_how_to_answer(
    live: Live, nb: KernelDriver
) -> None:
    questions = {
        "questions": [
            {
                "id": "unit",
                "header": "Unit",
                "question": "Which unit?",
                "options": [
                    {"label": "meters", "description": "SI"},
                    {"label": "feet", "description": ""},
                ],
            }
        ]
    }
    live.fake.script("LOOP-ASK", tool_call("request_user_input", questions), text("Using feet."))
    run = nb.start("for attempt in range(1):\n    %codex LOOP-ASK")
    # The text is one display (cleared once answered), not stdout.
    shown = lambda: "".join(run.plain_outputs())
    nb.wait_for(lambda: "Which unit?" in shown(), timeout=60, what="the question")
    assert "meters — SI" in shown() and "answers={'unit': ['meters']}" in shown()
    with live.server.client() as http:
        (pending,) = http.get("/codex/api/approvals").json()["approvals"]
        assert pending["id"] in shown()
        http.post(
            f"/codex/api/approvals/{pending['id']}",
            json={"decision": "accept", "answers": {"unit": ["feet"]}},
        )
    nb.wait(run, timeout=60)
    assert run.status == "ok", run.describe()
    assert "Using feet." in final_plain(run)
    outputs = live.fake.responses_requests("LOOP-ASK")[-1].function_call_outputs
    assert json.loads(outputs[-1]) == {"answers": {"unit": {"answers": ["feet"]}}}
