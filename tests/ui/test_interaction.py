"""Issue 17 in the panel (real Chromium, real lab, real app-server, fake upstream): the
question card answers Codex's questions, and the answer reaches the model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, hang, text, tool_call
from fakes.sse import user_images
from server_process import JupyterServerProcess
from ui_helpers import open_lab, send, start_lab, wait_until

MCP_SERVER = Path(__file__).parent.parent / "workspace" / "mcp_form_server.py"

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
TIMELINE = f"{PANEL} .jp-codex-Timeline"


@pytest.fixture(scope="module")
def lab(
    ui_fake: FakeUpstream, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServerProcess]:
    """conftest's lab, plus the tests' stdio MCP server (its forms are elicitations)."""
    server = start_lab(
        ui_fake,
        lab_root,
        tmp_path_factory.mktemp("lab-home"),
        codex_config={
            "mcp_servers.formy.command": sys.executable,
            "mcp_servers.formy.args": [str(MCP_SERVER)],
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServerProcess) -> Iterator[Any]:
    page = open_lab(browser, lab)
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")
    yield page
    page.context.close()


def turns_done(rest: httpx.Client, sid: str) -> int:
    events = rest.get(f"/codex/api/sessions/{sid}/events").raise_for_status().json()["events"]
    return sum(1 for e in events if e["type"] == "turn.completed")


def new_session(page: Any, rest: httpx.Client, folder: str, title: str) -> str:
    back = page.locator(f"{PANEL} .jp-codex-Back")
    if back.count():
        back.click()
    page.wait_for_selector(f"{PANEL} .jp-codex-NewSession")
    page.fill(f"{PANEL} input[aria-label=Folder]", folder)
    page.fill(f"{PANEL} input[aria-label=Title]", title)
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{TIMELINE}[data-ready=true]")
    sessions = rest.get("/codex/api/sessions").json()["sessions"]
    return next(s["id"] for s in sessions if s["title"] == title)  # type: ignore[no-any-return]


def test_question_card_answers_a_choice_and_free_text(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    questions = {
        "questions": [
            {
                "id": "color",
                "header": "Color",
                "question": "Which color?",
                "options": [
                    {"label": "Red", "description": "warm"},
                    {"label": "Blue", "description": ""},
                ],
            },
            {
                "id": "title",
                "header": "Title",
                "question": "Chart title?",
                "options": [{"label": "Untitled", "description": ""}],
            },
            {
                "id": "key",
                "header": "Key",
                "question": "API key?",
                "isSecret": True,
                "options": [{"label": "none", "description": ""}],
            },
        ]
    }
    ui_fake.script("UI-ASK", tool_call("request_user_input", questions), text("Thanks!"))
    sid = new_session(page, rest, "proj", "Questions")
    send(page, "UI-ASK please")
    card = page.locator(f"{PANEL} .jp-codex-QuestionCard.jp-mod-waiting")
    card.wait_for()
    assert "Which color?" in card.text_content()
    submit = card.get_by_role("button", name="Submit")
    assert submit.is_disabled()  # not every question is answered yet
    card.get_by_label("Blue").check()
    card.get_by_role("textbox", name="Chart title?").fill("Sales 2026")
    secret = card.locator("[data-question-id=key] .jp-codex-QuestionText")
    assert secret.get_attribute("type") == "password"  # typed masked
    secret.fill("k-123")
    submit.click()
    page.wait_for_selector(f"{PANEL} .jp-codex-QuestionCard[data-decision=accept]")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    outputs = ui_fake.responses_requests("UI-ASK")[-1].function_call_outputs
    assert json.loads(outputs[-1]) == {
        "answers": {
            "color": {"answers": ["Blue"]},
            "title": {"answers": ["Sales 2026"]},
            "key": {"answers": ["k-123"]},
        }
    }


def test_session_menu_sets_the_sandbox_and_enter_while_running_steers(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script("UI-STEER", hang() + text("first"), text("steered"))
    sid = new_session(page, rest, "proj", "Steering")

    page.locator(f"{PANEL} .jp-codex-SessionMenu > summary").click()
    page.locator(f"{PANEL} select[aria-label='Sandbox']").select_option("read-only")
    page.locator(f"{PANEL} input[aria-label='Network access']").click()
    wait_until(
        lambda: rest.get(f"/codex/api/sessions/{sid}").json()["sandbox"] == "read-only",
        what="the sandbox to change",
    )
    wait_until(
        lambda: rest.get(f"/codex/api/sessions/{sid}").json()["network_access"] is True,
        what="network access to turn on",
    )
    page.locator(f"{PANEL} .jp-codex-SessionMenu > summary").click()  # close it

    send(page, "UI-STEER go")
    ui_fake.wait_for(lambda f: f.hanging, timeout=30)
    box = page.locator(f"{PANEL} .jp-codex-Input[data-steers=true]")
    box.wait_for()
    assert "steers" in (box.get_attribute("placeholder") or "")
    box.fill("UI-STEERED make it blue")
    box.press("Enter")
    plain = page.locator(f"{PANEL} .jp-codex-Input")
    wait_until(lambda: plain.input_value() == "", what="the steer to be sent")
    ui_fake.release()
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    last = ui_fake.responses_requests("UI-STEER")[-1].body
    assert "UI-STEERED make it blue" in json.dumps(last)
    # Read-only, from the menu, reached codex on this turn too.
    assert "sandbox_mode` is `read-only`" in json.dumps(last)


PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_a_pasted_image_reaches_the_model_and_shows_as_a_thumbnail(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script("UI-IMG", text("A tiny picture."))
    sid = new_session(page, rest, "proj", "Images")
    page.evaluate(
        """b64 => {
            const box = document.querySelector('#jupyter-codex-panel .jp-codex-Input');
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], 'shot.png', { type: 'image/png' }));
            box.dispatchEvent(
              new ClipboardEvent('paste', { clipboardData: data, bubbles: true })
            );
        }""",
        PNG_B64,
    )
    page.locator(f"{PANEL} .jp-codex-ImageChip img").wait_for()
    send(page, "UI-IMG what is this?")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    body = ui_fake.responses_requests("UI-IMG")[-1].body
    parts = user_images(body)
    assert parts and PNG_B64[:40] in json.dumps(parts)
    thumb = page.locator(f"{PANEL} .jp-codex-Bubble-user .jp-codex-Thumbnail")
    thumb.wait_for()
    wait_until(
        lambda: thumb.evaluate("img => img.complete && img.naturalWidth === 1"),
        what="the thumbnail to load",
    )
    assert page.locator(f"{PANEL} .jp-codex-ImageChip").count() == 0  # sent, cleared


def test_an_image_selected_in_the_file_browser_is_attached(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab_root: Any
) -> None:
    import base64

    (lab_root / "proj" / "browsed.png").write_bytes(base64.b64decode(PNG_B64))
    ui_fake.script("UI-BROWSED", text("Got the file."))
    sid = new_session(page, rest, "proj", "Browsed image")
    page.locator(".jp-DirListing-item[title*='proj']").first.dblclick()
    item = page.locator(".jp-DirListing-item[title*='browsed.png']")
    item.click()
    page.locator(f"{PANEL} .jp-codex-Attach").click()
    page.locator(f"{PANEL} .jp-codex-ImageChip img").wait_for()
    send(page, "UI-BROWSED look")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    body = json.dumps(ui_fake.responses_requests("UI-BROWSED")[-1].body)
    assert "input_image" in body and PNG_B64[:40] in body


def test_mcp_form_card_fills_the_form(page: Any, rest: httpx.Client, ui_fake: FakeUpstream) -> None:
    ui_fake.script(
        "UI-FORM", tool_call("ask_form", {}, namespace="mcp__formy"), text("Hello, Ada.")
    )
    sid = new_session(page, rest, "proj", "Forms")
    send(page, "UI-FORM who am I")
    may_run = page.locator(f"{PANEL} .jp-codex-QuestionCard.jp-mod-waiting")
    may_run.wait_for()
    assert "ask_form" in may_run.text_content()
    may_run.get_by_role("button", name="Submit").click()  # a form without fields

    form = page.locator(f"{PANEL} .jp-codex-QuestionCard.jp-mod-waiting", has_text="Who are you?")
    form.wait_for()
    submit = form.get_by_role("button", name="Submit")
    assert submit.is_disabled()  # "name" is required
    form.locator("[data-field=name] input").fill("Ada")
    form.locator("[data-field=age] input").fill("36")
    submit.click()
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    output = json.dumps(ui_fake.responses_requests("UI-FORM")[-1].function_call_outputs)
    assert '\\"content\\": {\\"age\\": 36, \\"name\\": \\"Ada\\"}' in output
