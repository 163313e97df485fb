"""The ipywidgets in a real kernel, driven by comm messages as JupyterLab sends them,
following a real server's event stream."""

from __future__ import annotations

import json

from fakes import exec_command, text, tool_call
from kernel_driver import KernelDriver, final_plain
from kernel_live import Live, import_account

WAIT_UNTIL = """
import asyncio, time
async def wait_until(check, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)
"""


def new_widget(nb: KernelDriver, model: str, before: set[str], **state: object) -> str:
    fresh = nb.wait_for(
        lambda: set(nb.widget_ids(model, **state)) - before, timeout=60, what=f"a new {model}"
    )
    assert len(fresh) == 1, fresh
    return str(next(iter(fresh)))


def test_chat_widget_sends_streams_and_asks_for_approval(live: Live, nb: KernelDriver) -> None:
    nb.ok(WAIT_UNTIL)
    live.fake.script("CHAT-ME", text("Hi from the chat widget.", chunks=3))
    live.fake.script("CHAT-TOUCH", exec_command("touch chat.txt", escalated=True), text("Touched."))
    live.fake.script("FROM-ELSEWHERE", text("Seen in the widget too."))
    areas = set(nb.widget_ids("TextareaModel"))
    sends = set(nb.widget_ids("ButtonModel", description="Send"))
    nb.ok(
        "from jupyter_codex.kernel.widgets import ChatWidget\n"
        "chat = ChatWidget(session='chat-demo')\nchat"
    )
    area = new_widget(nb, "TextareaModel", areas)
    send = new_widget(nb, "ButtonModel", sends, description="Send")
    nb.ok("await wait_until(lambda: chat.session_id is not None)")

    # Type and press Send, as the frontend does.
    nb.send_comm(
        area, {"method": "update", "state": {"value": "CHAT-ME hello"}, "buffer_paths": []}
    )
    nb.click(send)
    run = nb.ok(
        "await asyncio.wait_for(chat.turn_done.wait(), 60)\n"
        "print(chat.output.outputs[-1]['data']['text/plain'])"
    )
    assert "You: CHAT-ME hello" in run.stdout and "Hi from the chat widget." in run.stdout
    assert nb.ok("print(repr(chat.input.value))").stdout.strip() == "''"

    # An approval shows buttons in the widget; Accept lets the command run.
    accepts = set(nb.widget_ids("ButtonModel", description="Accept"))
    nb.send_comm(area, {"method": "update", "state": {"value": "CHAT-TOUCH"}, "buffer_paths": []})
    nb.click(send)
    accept = new_widget(nb, "ButtonModel", accepts, description="Accept")
    assert not (live.project / "chat.txt").exists()
    nb.click(accept)
    run = nb.ok(
        "await asyncio.wait_for(chat.turn_done.wait(), 60)\n"
        "print(chat.timeline.plain()); print(len(chat.approvals))"
    )
    assert (live.project / "chat.txt").exists()
    assert "touch chat.txt" in run.stdout and run.stdout.strip().endswith("0")

    # A message sent by another client shows up live.
    session_id = nb.ok("print(chat.session_id)").stdout.strip()
    with live.server.client() as http:
        http.post(f"/codex/api/sessions/{session_id}/messages", json={"text": "FROM-ELSEWHERE"})
    nb.ok("await wait_until(lambda: 'Seen in the widget too.' in chat.timeline.plain())")

    # Without a session name the chat uses the notebook's session, as %codex does.
    nb.ok("notebook_chat = ChatWidget()")
    nb.ok("await wait_until(lambda: notebook_chat.session_id is not None)")
    own = nb.ok("print(notebook_chat.session_id)").stdout.strip()
    status = final_plain(nb.ok("%codex_status"))
    assert f"'analysis.ipynb' ({own})" in status


def test_account_switcher_follows_the_server_and_switches(live: Live, nb: KernelDriver) -> None:
    nb.ok(WAIT_UNTIL)
    second = import_account(
        live.server, live.fake, "acct-test-2", "second@example.com", label="Spare"
    )
    live.fake.set_usage("acct-test-2", primary_used=80, secondary_used=50)
    with live.server.client() as http:
        http.post("/codex/api/usage/refresh", json={})
        http.patch("/codex/api/targets/cli", json={"account_id": live.account_id})
        http.patch("/codex/api/targets/api", json={"account_id": live.account_id})
    dropdowns = set(nb.widget_ids("DropdownModel"))
    nb.ok(
        "from jupyter_codex.kernel.widgets import AccountSwitcher\n"
        "import ipywidgets as w\n"
        "sw = AccountSwitcher(interval=600)\nsw"
    )
    # Filled before it is shown; the live stream does the rest.
    bars = nb.ok(
        "print(sorted(round(b.value) for row in sw.rows.children for box in row.children[1:]"
        " for b in box.children if isinstance(b, w.FloatProgress)))"
    )
    assert bars.stdout.strip() == "[20, 50, 70, 90]"  # remaining, both windows, both accounts
    assert nb.ok("print(sw.dropdowns['cli'].value)").stdout.strip() == live.account_id

    # A switch made elsewhere reaches the widget through the event stream.
    with live.server.client() as http:
        http.patch("/codex/api/targets/cli", json={"account_id": second})
    nb.ok(f"await wait_until(lambda: sw.dropdowns['cli'].value == {second!r})")

    # Picking in the api dropdown switches the api target on the server.
    fresh = set(nb.widget_ids("DropdownModel")) - dropdowns
    api = next(c for c in fresh if c in nb.widget_ids("DropdownModel", description="api"))
    ids = nb.ok("print(' '.join(v for _, v in sw.dropdowns['api'].options))").stdout.split()
    index = ids.index(second)
    nb.send_comm(api, {"method": "update", "state": {"index": index}, "buffer_paths": []})

    def api_target() -> str | None:
        with live.server.client() as http:
            return http.get("/codex/api/targets/api").json()["account_id"]  # type: ignore[no-any-return]

    nb.wait_for(lambda: api_target() == second, timeout=30, what="the api target switch")
    with live.server.client() as http:
        http.patch("/codex/api/targets/cli", json={"account_id": live.account_id})
        http.patch("/codex/api/targets/api", json={"account_id": live.account_id})


def test_usage_chart_draws_the_history(live: Live, nb: KernelDriver) -> None:
    nb.ok(WAIT_UNTIL)
    with live.server.client() as http:
        http.post("/codex/api/usage/refresh", json={})
    nb.ok(
        "from jupyter_codex.kernel.widgets import UsageChart\n"
        "chart = UsageChart(interval=600)\nchart"
    )
    run = nb.ok("print(chart.account_id, len(chart.points)); print(chart.chart.value)")
    first, svg = run.stdout.split("\n", 1)
    account, count = first.split()
    assert account == live.account_id and int(count) >= 1
    assert svg.startswith("<svg") and ("<polyline" in svg or "<circle" in svg)
    assert "5-hour window" in svg and "weekly window" in svg


def test_chat_widget_answers_a_question(live: Live, nb: KernelDriver) -> None:
    nb.ok(WAIT_UNTIL)
    questions = {
        "questions": [
            {
                "id": "size",
                "header": "Size",
                "question": "How big?",
                "options": [
                    {"label": "Small", "description": ""},
                    {"label": "Large", "description": ""},
                ],
            }
        ]
    }
    live.fake.script("WIDGET-ASK", tool_call("request_user_input", questions), text("Noted."))
    areas = set(nb.widget_ids("TextareaModel"))
    sends = set(nb.widget_ids("ButtonModel", description="Send"))
    radios = set(nb.widget_ids("RadioButtonsModel"))
    submits = set(nb.widget_ids("ButtonModel", description="Submit"))
    nb.ok(
        "from jupyter_codex.kernel.widgets import ChatWidget\nasking = ChatWidget(session='ask-demo')\nasking"
    )
    area = new_widget(nb, "TextareaModel", areas)
    send = new_widget(nb, "ButtonModel", sends, description="Send")
    nb.ok("await wait_until(lambda: asking.session_id is not None)")
    nb.send_comm(area, {"method": "update", "state": {"value": "WIDGET-ASK"}, "buffer_paths": []})
    nb.click(send)
    radio = new_widget(nb, "RadioButtonsModel", radios)
    submit = new_widget(nb, "ButtonModel", submits, description="Submit")
    nb.send_comm(radio, {"method": "update", "state": {"index": 1}, "buffer_paths": []})
    nb.click(submit)
    nb.ok("await asyncio.wait_for(asking.turn_done.wait(), 60)")
    outputs = live.fake.responses_requests("WIDGET-ASK")[-1].function_call_outputs
    assert json.loads(outputs[-1]) == {"answers": {"size": {"answers": ["Large"]}}}
