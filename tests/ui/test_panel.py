"""The Codex panel in real Chromium against a real ``jupyter lab``, the real codex
app-server and the fake upstream: sessions, streaming, approvals, Stop → Force Stop,
reconnect and reload without duplicated or missing events, themes.

Timeline text is read with ``text_content()``, not ``inner_text()``: bubbles have
``content-visibility: auto``, so one that just arrived below the fold is not rendered
(its ``innerText`` is empty) until the timeline has scrolled to it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, apply_patch, exec_command, hang, text
from server_process import JupyterServerProcess
from ui_helpers import open_lab, screenshot, send, wait_until

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
TIMELINE = f"{PANEL} .jp-codex-Timeline"


class WebSocketSwitch:
    """Routes the page's events WebSocket through Playwright so a test can cut it
    (and keep it cut) like a network drop; the server side is the real one."""

    def __init__(self) -> None:
        self.blocked = False
        self.routes: list[tuple[Any, Any]] = []
        self.connections = 0

    def handler(self, ws: Any) -> None:
        if self.blocked:
            ws.close()
            return
        self.connections += 1
        server = ws.connect_to_server()
        self.routes.append((ws, server))

    def drop(self) -> None:
        self.blocked = True
        for page_side, server_side in self.routes:
            page_side.close()
            server_side.close()
        self.routes.clear()


@pytest.fixture(scope="module")
def switch() -> WebSocketSwitch:
    return WebSocketSwitch()


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServerProcess, switch: WebSocketSwitch) -> Iterator[Any]:
    page = open_lab(browser, lab, route_events=switch.handler)
    yield page
    page.context.close()


def events(rest: httpx.Client, sid: str) -> list[dict[str, Any]]:
    return rest.get(f"/codex/api/sessions/{sid}/events").raise_for_status().json()["events"]  # type: ignore[no-any-return]


def turns_done(rest: httpx.Client, sid: str) -> int:
    return sum(1 for e in events(rest, sid) if e["type"] == "turn.completed")


def open_panel(page: Any) -> None:
    """Open the panel with its keyboard shortcut (the `jupyter-codex:open` command)."""
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")


def back_to_list(page: Any) -> None:
    back = page.locator(f"{PANEL} .jp-codex-Back")
    if back.count():
        back.click()
    page.wait_for_selector(f"{PANEL} .jp-codex-NewSession")


def new_session(page: Any, rest: httpx.Client, folder: str, title: str) -> str:
    back_to_list(page)
    page.fill(f"{PANEL} input[aria-label=Folder]", folder)
    page.fill(f"{PANEL} input[aria-label=Title]", title)
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{TIMELINE}[data-ready=true]")
    sessions = rest.get("/codex/api/sessions").json()["sessions"]
    return next(s["id"] for s in sessions if s["title"] == title)  # type: ignore[no-any-return]


def timeline_numbers(page: Any) -> tuple[int, int]:
    """(events applied, highest seq applied) of the open session's timeline."""
    el = page.locator(TIMELINE)
    return (
        int(el.get_attribute("data-event-count") or 0),
        int(el.get_attribute("data-last-seq") or 0),
    )


def test_open_panel_pick_folder_and_start_a_session(page: Any, rest: httpx.Client) -> None:
    open_panel(page)
    assert page.locator(f"{PANEL} .jp-codex-Connection").get_attribute("data-state") == (
        "connected"
    )
    folder = page.locator(f"{PANEL} input[aria-label=Folder]")
    folder.fill("pro")
    # Suggestions come from the server's contents API.
    page.wait_for_selector(f"{PANEL} .jp-codex-Suggestions li:has-text('proj')")
    page.click(f"{PANEL} .jp-codex-Suggestions li:text-is('proj')")
    assert folder.input_value() == "proj"
    page.fill(f"{PANEL} input[aria-label=Title]", "First session")
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{PANEL} .jp-codex-SessionHeading:has-text('proj')")

    sessions = rest.get("/codex/api/sessions").json()["sessions"]
    assert [(s["title"], s["cwd"]) for s in sessions] == [("First session", "proj")]

    # Back in the list it shows with its folder; rename it there.
    back_to_list(page)
    item = page.locator(f"{PANEL} .jp-codex-SessionItem").first
    assert "proj" in item.inner_text()
    item.locator("button[aria-label=Rename]").click()
    title = page.locator(f"{PANEL} input[aria-label='Session title']")
    title.fill("Renamed session")
    title.press("Enter")
    wait_until(
        lambda: rest.get("/codex/api/sessions").json()["sessions"][0]["title"] == "Renamed session",
        what="the rename to reach the server",
    )
    page.wait_for_selector(f"{PANEL} .jp-codex-SessionItem:has-text('Renamed session')")

    # Archive hides it; the archive filter shows it again.
    item.get_by_role("button", name="Archive").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-SessionItem", state="detached")
    assert rest.get("/codex/api/sessions?archived=true").json()["sessions"][0]["archived"]
    page.locator(f"{PANEL} .jp-codex-SectionHeader input[type=checkbox]").check()
    page.wait_for_selector(f"{PANEL} .jp-codex-SessionItem:has-text('Renamed session')")
    page.locator(f"{PANEL} .jp-codex-SectionHeader input[type=checkbox]").uncheck()


def test_streamed_reply_renders_as_markdown(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script(
        "markdown please",
        text(
            "Here is **bold text** and `inline code`.\n\n- first\n- second\n", chunks=6, delay=0.05
        ),
    )
    sid = new_session(page, rest, "proj", "Markdown")
    send(page, "markdown please")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-user:has-text('markdown please')")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant strong:has-text('bold text')")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn:has-text('Turn completed')")
    assistant = page.locator(f"{PANEL} .jp-codex-Bubble-assistant")
    assert assistant.count() == 1
    assert assistant.locator("code").first.text_content() == "inline code"
    assert assistant.locator("li").all_text_contents() == ["first", "second"]
    # Every event of the session is applied exactly once (copies that arrive on
    # two paths are dropped by the sequencer, not applied twice).
    wait_until(lambda: timeline_numbers(page)[1] == events(rest, sid)[-1]["seq"], 30, "events")
    assert timeline_numbers(page)[0] == len(events(rest, sid))


def test_slash_completion_status_and_effort(page: Any, rest: httpx.Client) -> None:
    sid = new_session(page, rest, "proj", "Commands")
    box = page.locator(f"{PANEL} .jp-codex-Input")
    box.fill("/")
    labels = page.locator(f"{PANEL} .jp-codex-Completion .jp-codex-CompletionLabel")
    labels.first.wait_for()
    assert labels.all_inner_texts() == [
        "/status",
        "/review [instructions]",
        "/new [title]",
        "/model [name] [effort]",
    ]
    box.fill("/st")
    page.wait_for_selector(f"{PANEL} .jp-codex-Completion li.jp-mod-active:has-text('/status')")
    box.press("Enter")  # takes the completion
    assert box.input_value() == "/status"
    box.press("Enter")  # sends it
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-status:has-text('Model')")
    assert box.input_value() == ""

    page.locator(f"{PANEL} .jp-codex-ModelMenuButton").click()  # the compact pickers menu
    page.locator(f"{PANEL} select[aria-label='Reasoning effort']").select_option("high")
    wait_until(
        lambda: rest.get(f"/codex/api/sessions/{sid}").json()["effort"] == "high",
        what="the effort to reach the server",
    )


def test_attach_send_selection_and_open_a_changed_file(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab_root: Path
) -> None:
    (lab_root / "proj" / "notes.py").write_text("print('hi from notes')\n")
    patch = "*** Begin Patch\n*** Add File: created.txt\n+made by codex\n*** End Patch\n"
    ui_fake.script("explain notes", apply_patch(patch), text("Created it."))
    # (awaited, not returned: the widget is too deep an object graph to serialize)
    page.evaluate(
        "async () => { await window.jupyterapp.commands.execute('docmanager:open', "
        "{path: 'proj/notes.py'}); }"
    )
    editor = page.locator(".jp-FileEditor .cm-content")
    editor.wait_for()
    sid = new_session(page, rest, "proj", "Context")

    page.locator(f"{PANEL} .jp-codex-Attach").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-Chip:has-text('notes.py')")
    # The shortcut sends the editor's text (no selection: the whole file) to the composer.
    editor.click()
    page.keyboard.press("Control+Alt+Enter")
    box = page.locator(f"{PANEL} .jp-codex-Input")
    wait_until(lambda: "print('hi from notes')" in box.input_value(), what="the selection")
    assert "```python" in box.input_value()

    box.fill("explain notes")
    box.press("Enter")
    user = page.locator(f"{PANEL} .jp-codex-Bubble-user")
    user.wait_for()
    assert "proj/notes.py" in user.text_content()
    change = page.locator(f"{PANEL} .jp-codex-Bubble-file_change")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-file_change [data-status=completed]")
    assert "Created" in change.text_content() and "+made by codex" in change.text_content()
    change.get_by_role("button", name="Open").click()
    page.wait_for_selector(".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('created.txt')")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")


def test_approve_runs_the_command_and_decline_does_not(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab_root: Path
) -> None:
    ui_fake.script("make a file", exec_command("touch approved.txt", escalated=True), text("Done."))
    ui_fake.script("other file", exec_command("touch declined.txt", escalated=True), text("Ok."))
    sid = new_session(page, rest, "proj", "Approvals")

    send(page, "make a file")
    card = page.locator(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting")
    card.wait_for()
    assert "touch approved.txt" in card.text_content()
    # The panel's tab and header show that something waits.
    tab = page.locator(".lm-TabBar-tab[data-codex-pending='1']")
    tab.wait_for()
    assert page.locator(f"{PANEL} .jp-codex-PendingBadge").inner_text() == "1"
    assert not (lab_root / "proj" / "approved.txt").exists()
    card.get_by_role("button", name="Approve", exact=True).click()

    command = page.locator(f"{PANEL} .jp-codex-Bubble-command [data-exit-code='0']")
    command.wait_for()
    assert "touch approved.txt" in command.text_content()
    assert "exit 0" in command.text_content()
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard[data-decision=accept]")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the first turn")
    assert (lab_root / "proj" / "approved.txt").exists()
    assert page.locator(".lm-TabBar-tab[data-codex-pending]").count() == 0

    send(page, "other file")
    card = page.locator(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting")
    card.wait_for()
    assert "touch declined.txt" in card.text_content()
    card.get_by_role("button", name="Decline").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-command [data-status=declined]")
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard[data-decision=decline]")
    wait_until(lambda: turns_done(rest, sid) == 2, what="the second turn")
    assert not (lab_root / "proj" / "declined.txt").exists()
    assert rest.get("/codex/api/approvals").json()["approvals"] == []


def test_approve_for_session_is_not_asked_again(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab_root: Path
) -> None:
    """ "Approve for session": the command runs, and the same command asked for again
    in that session runs without a second card."""
    command = "echo ran >> session-approved.txt"
    ui_fake.script(
        "twice please", exec_command(command), exec_command(command), text("Ran it twice.")
    )
    sid = new_session(page, rest, "proj", "Approve for session")
    send(page, "twice please")
    card = page.locator(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting")
    card.wait_for()
    assert command in card.text_content()
    card.get_by_role("button", name="Approve for session").click()

    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard[data-decision=acceptForSession]")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('Ran it twice.')")
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    done = page.locator(f"{PANEL} .jp-codex-Bubble-command [data-exit-code='0']")
    assert done.count() == 2
    assert all(command in t for t in done.all_text_contents())
    assert (lab_root / "proj" / "session-approved.txt").read_text() == "ran\nran\n"
    # One card, answered once, by the user, for the session.
    assert page.locator(f"{PANEL} .jp-codex-ApprovalCard").count() == 1
    resolved = [e["data"] for e in events(rest, sid) if e["type"] == "approval.resolved"]
    assert [(r["decision"], r["by"]) for r in resolved] == [("acceptForSession", "user")]
    assert sum(e["type"] == "approval.requested" for e in events(rest, sid)) == 1
    assert rest.get("/codex/api/approvals").json()["approvals"] == []


def test_math_and_code_blocks_render_through_rendermime(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script(
        "math and code",
        text("The square is $x^2$.\n\n```python\ndef f(x):\n    return x ** 2\n```\n"),
    )
    sid = new_session(page, rest, "proj", "Math")
    send(page, "math and code")
    reply = page.locator(f"{PANEL} .jp-codex-Bubble-assistant")
    reply.locator(".jp-RenderedMarkdown").wait_for()
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    # MathJax (JupyterLab's latex typesetter) replaced the TeX with its own element.
    math = reply.locator("mjx-container")
    math.first.wait_for(timeout=30_000)
    assert "$x^2$" not in reply.text_content()
    # The fenced block is highlighted by CodeMirror's Python support: the keyword is
    # a token span coloured apart from the plain text around it.
    code = reply.locator("pre code.language-python")
    assert "return x ** 2" in code.text_content()
    keyword = code.locator("span", has_text="def").first
    keyword.wait_for()
    colour = "(el) => getComputedStyle(el).color"
    assert keyword.get_attribute("class")
    assert keyword.evaluate(colour) != code.evaluate(colour)


def test_stop_then_force_stop(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab: JupyterServerProcess
) -> None:
    ui_fake.script("slow one", text("partial answer ") + hang())
    sid = new_session(page, rest, "proj", "Stopping")
    send(page, "slow one")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('partial answer')")
    page.locator(f"{PANEL} .jp-codex-Stop").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn:has-text('Stopped')")
    page.wait_for_selector(f"{PANEL} .jp-codex-Send")
    assert turns_done(rest, sid) == 1

    # A hung codex ignores Stop: the button becomes Force Stop, which restarts it.
    ui_fake.script("hang again", text("working ") + hang())
    send(page, "hang again")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('working')")
    pid = rest.get("/codex/api/status").json()["targets"]["cli"]["pid"]
    assert pid
    os.kill(pid, signal.SIGSTOP)
    try:
        page.locator(f"{PANEL} .jp-codex-Stop:has-text('Stop')").click()
        force = page.locator(f"{PANEL} .jp-codex-Stop:has-text('Force Stop')")
        force.wait_for()
        time.sleep(1.0)  # codex is frozen: the turn is still running
        assert page.locator(TIMELINE).get_attribute("data-running") == "true"
        force.click()
        page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-notice:has-text('Force Stop')")
        page.wait_for_selector(f"{PANEL} .jp-codex-Send", timeout=90_000)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    types = [e["type"] for e in events(rest, sid)]
    assert "turn.force_stopped" in types
    assert types.count("turn.completed") == 2
    ui_fake.release()


def test_reconnect_after_a_drop_has_no_duplicated_or_missing_events(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, switch: WebSocketSwitch
) -> None:
    ui_fake.script("count one", text("one. " * 5, chunks=5))
    ui_fake.script("count two", text("two. " * 5, chunks=5))
    sid = new_session(page, rest, "proj", "Reconnect")
    send(page, "count one")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn")
    connection = page.locator(f"{PANEL} .jp-codex-Connection")

    switch.drop()
    wait_until(
        lambda: connection.get_attribute("data-state") in ("disconnected", "connecting"),
        what="the panel to notice the drop",
    )
    page.wait_for_selector(f"{PANEL} .jp-codex-Connection:has-text('Disconnected')")
    # While the panel is offline, a turn runs to the end (sent by another client).
    rest.post(f"/codex/api/sessions/{sid}/messages", json={"text": "count two"}).raise_for_status()
    wait_until(lambda: turns_done(rest, sid) == 2, what="the offline turn")
    before = len(events(rest, sid))

    switch.blocked = False
    page.wait_for_selector(f"{PANEL} .jp-codex-Connection[data-state=connected]", timeout=60_000)
    wait_until(lambda: timeline_numbers(page)[1] == events(rest, sid)[-1]["seq"], what="replay")
    count, last = timeline_numbers(page)
    assert count == last == before == len(events(rest, sid))
    replies = page.locator(f"{PANEL} .jp-codex-Bubble-assistant").all_text_contents()
    assert [r.strip() for r in replies] == ["one. " * 5, "two. " * 5] or [
        r.strip() for r in replies
    ] == [("one. " * 5).strip(), ("two. " * 5).strip()]
    assert page.locator(f"{PANEL} .jp-codex-Bubble-user").count() == 2
    assert page.locator(f"{PANEL} .jp-codex-Bubble-turn").count() == 2


def test_reload_mid_turn_replays_the_timeline_once(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script("long story", text("Once upon ", chunks=2) + hang() + text("a time.", chunks=2))
    sid = new_session(page, rest, "proj", "Reload")
    send(page, "long story")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('Once upon')")
    wait_until(lambda: ui_fake.hanging == 1, what="the stream to park")
    # JupyterLab saves the state DB into the workspace shortly after each change.
    wait_until(
        lambda: (
            rest.get("/lab/api/workspaces/default").json()["data"].get("jupyter-codex:panel")
            == {"session": sid}
        ),
        30,
        "the open session in the workspace",
    )

    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=120_000)
    open_panel(page)
    # The panel reopens the session it showed (the workspace's state DB): no click.
    page.wait_for_selector(f"{PANEL} .jp-codex-SessionHeading:has-text('Reload')")
    page.wait_for_selector(f"{TIMELINE}[data-ready=true]")
    screenshot(page, "reload-reopened", PANEL)
    assert page.locator(TIMELINE).get_attribute("data-running") == "true"
    ui_fake.release()
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn:has-text('Turn completed')")
    wait_until(lambda: timeline_numbers(page)[1] == events(rest, sid)[-1]["seq"], what="live tail")
    count, last = timeline_numbers(page)
    assert count == last == len(events(rest, sid))
    text_shown = " ".join(page.locator(f"{PANEL} .jp-codex-Bubble-assistant").all_text_contents())
    assert text_shown.count("Once upon") == 1 and text_shown.count("a time.") == 1
    assert page.locator(f"{PANEL} .jp-codex-Bubble-user").count() == 1


def test_long_timeline_stays_responsive(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    """Hundreds of events: the panel mounts a window of bubbles and keeps up."""
    ui_fake.script("many lines", text("line\n" * 400, chunks=400))
    sid = new_session(page, rest, "proj", "Long")
    started = time.monotonic()
    send(page, "many lines")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn", timeout=90_000)
    wait_until(lambda: timeline_numbers(page)[1] == events(rest, sid)[-1]["seq"], what="all")
    elapsed = time.monotonic() - started
    assert timeline_numbers(page)[0] >= 400
    # Stuck to the bottom while it streamed (the last layout may take a moment).
    wait_until(
        lambda: page.evaluate(
            """(sel) => { const el = document.querySelector(sel);
                   return el.scrollHeight - el.scrollTop - el.clientHeight < 60; }""",
            TIMELINE,
        ),
        10,
        "the view to stay at the bottom",
    )
    assert elapsed < 60, f"{elapsed:.1f}s for a 400-delta reply"

    # Scrolled up by the user, the view stays put while new output arrives.
    page.locator(TIMELINE).hover()
    page.mouse.wheel(0, -1500)
    page.locator(f"{PANEL} .jp-codex-JumpToBottom").wait_for()
    position = page.evaluate("(sel) => document.querySelector(sel).scrollTop", TIMELINE)
    ui_fake.script("more lines", text("more\n" * 50, chunks=10))
    send(page, "more lines")
    wait_until(lambda: turns_done(rest, sid) == 2, what="the second turn")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('more')")
    assert page.evaluate("(sel) => document.querySelector(sel).scrollTop", TIMELINE) == position
    page.locator(f"{PANEL} .jp-codex-JumpToBottom").click()
    page.locator(f"{PANEL} .jp-codex-JumpToBottom").wait_for(state="detached")


def change_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme and wait until it is applied (and painted)."""
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
        theme,
    )
    page.wait_for_function(
        "(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=30_000
    )
    time.sleep(0.5)


def test_screenshots_in_light_and_dark_themes(page: Any) -> None:
    """Artifacts for review (tests/ui/artifacts/); the themes must actually differ."""
    back_to_list(page)
    page.click(f"{PANEL} .jp-codex-SessionItem:has-text('Approvals') .jp-codex-SessionOpen")
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard")
    colors = {}
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        change_theme(page, theme)
        name = "light" if "Light" in theme else "dark"
        path = screenshot(page, f"panel-{name}", PANEL)
        assert path.stat().st_size > 5_000
        colors[name] = page.evaluate(
            "(sel) => getComputedStyle(document.querySelector(sel)).backgroundColor", PANEL
        )
    assert colors["light"] != colors["dark"]
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Light'})"
    )


def test_screenshot_in_high_contrast_theme(page: Any) -> None:
    """JupyterLab ships "JupyterLab Dark High Contrast": the panel follows it."""
    back_to_list(page)
    page.click(f"{PANEL} .jp-codex-SessionItem:has-text('Approvals') .jp-codex-SessionOpen")
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard")
    styles = {}
    for theme in ("JupyterLab Dark", "JupyterLab Dark High Contrast"):
        change_theme(page, theme)
        styles[theme] = page.evaluate(
            """(sel) => { const el = document.querySelector(sel + ' .jp-codex-ApprovalCard')
                       .closest('.jp-codex-Bubble');
                   const css = getComputedStyle(el);
                   return [css.color, css.backgroundColor, css.borderTopColor]; }""",
            PANEL,
        )
    path = screenshot(page, "panel-high-contrast", PANEL)
    assert path.stat().st_size > 5_000
    # The panel's colours come from the theme's --jp-* variables, so they change with it.
    assert styles["JupyterLab Dark"] != styles["JupyterLab Dark High Contrast"]
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Light'})"
    )


AMBER = """(el) => {
  const probe = document.createElement('span');
  probe.style.color = 'var(--jp-warn-color1)';
  document.body.appendChild(probe);
  const amber = getComputedStyle(probe).color;
  probe.remove();
  return getComputedStyle(el).borderTopColor === amber;
}"""


def command_bubble(page: Any, command: str) -> Any:
    """The one bubble that shows ``command`` (asserting there is exactly one)."""
    bubbles = page.locator(f"{PANEL} .jp-codex-Bubble", has_text=command)
    wait_until(lambda: bubbles.count() >= 1, 30, f"a bubble for {command}")
    assert bubbles.count() == 1, bubbles.all_text_contents()
    return bubbles.first


def test_one_command_bubble_carries_its_approval_state(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    """Waiting, approved, declined and cancelled by Stop: one bubble per command,
    whose state line agrees with the decision; amber only while waiting."""
    ui_fake.script("state one", exec_command("touch state-ok.txt", escalated=True), text("Ok."))
    ui_fake.script("state two", exec_command("touch state-no.txt", escalated=True), text("No."))
    ui_fake.script("state three", exec_command("touch state-stop.txt", escalated=True), text("."))
    sid = new_session(page, rest, "proj", "Approval states")

    send(page, "state one")
    waiting = page.locator(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting")
    waiting.wait_for()
    page.wait_for_selector(f"{PANEL} [data-state=waiting]")
    bubble = command_bubble(page, "touch state-ok.txt")
    assert "waiting for approval" in bubble.text_content()
    assert "running…" not in bubble.text_content()
    assert bubble.evaluate(AMBER)
    screenshot(page, "command-waiting", PANEL)
    waiting.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard[data-decision=accept][data-state=ok]")
    bubble = command_bubble(page, "touch state-ok.txt")
    assert "exit 0" in bubble.text_content() and "Approved" in bubble.text_content()
    assert not bubble.evaluate(AMBER)
    wait_until(lambda: turns_done(rest, sid) == 1, what="the first turn")
    screenshot(page, "command-approved", PANEL)

    send(page, "state two")
    waiting.wait_for()
    waiting.get_by_role("button", name="Decline").click()
    page.wait_for_selector(
        f"{PANEL} .jp-codex-ApprovalCard[data-decision=decline][data-state=declined]"
    )
    bubble = command_bubble(page, "touch state-no.txt")
    assert "declined" in bubble.text_content()
    assert not bubble.evaluate(AMBER)
    wait_until(lambda: turns_done(rest, sid) == 2, what="the second turn")
    screenshot(page, "command-declined", PANEL)

    send(page, "state three")
    waiting.wait_for()
    page.locator(f"{PANEL} .jp-codex-Stop").click()
    page.wait_for_selector(
        f"{PANEL} .jp-codex-ApprovalCard[data-decision=cancel][data-state=cancelled]"
    )
    bubble = command_bubble(page, "touch state-stop.txt")
    text_now = bubble.text_content()
    assert "cancelled (turn ended)" in text_now and "declined" not in text_now.lower()
    assert not bubble.evaluate(AMBER)
    wait_until(lambda: turns_done(rest, sid) == 3, what="the stopped turn")
    screenshot(page, "command-cancelled", PANEL)


def test_code_block_actions_copy_insert_below_and_replace_selection(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, lab_root: Path
) -> None:
    import json

    code = "total = sum(range(10))\nprint(total)"
    (lab_root / "proj" / "blocks.ipynb").write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "source": "x = 1",
                        "outputs": [],
                        "execution_count": None,
                    },
                    {"cell_type": "markdown", "metadata": {}, "source": "# End"},
                ],
                "metadata": {
                    "kernelspec": {
                        "name": "python3",
                        "display_name": "Python 3",
                        "language": "python",
                    }
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ui_fake.script("code please", text(f"Try this:\n\n```python\n{code}\n```\n"))
    page.evaluate(
        "async () => { await window.jupyterapp.commands.execute('docmanager:open', "
        "{path: 'proj/blocks.ipynb', factory: 'Notebook'}); }"
    )
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    cells = "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.map(c => c.getSource())"
    wait_until(lambda: page.evaluate(cells) == ["x = 1", "# End"], 30, "the notebook")
    page.locator(".jp-Notebook .jp-Cell").first.click()  # the active cell: the first

    sid = new_session(page, rest, "proj", "Code blocks")
    send(page, "code please")
    bar = page.locator(f"{PANEL} .jp-codex-Bubble-assistant .jp-codex-CodeActions")
    bar.wait_for()
    wait_until(lambda: turns_done(rest, sid) == 1, what="the turn")
    assert bar.get_by_role("button").all_inner_texts() == [
        "Copy",
        "Insert below",
        "Replace selection",
    ]
    screenshot(page, "code-block-actions", PANEL)

    bar.get_by_role("button", name="Insert below").click()
    wait_until(lambda: len(page.evaluate(cells)) == 3, what="the inserted cell")
    assert page.evaluate(cells) == ["x = 1", code, "# End"]
    page.wait_for_selector(f"{PANEL} .jp-codex-CodeAction:has-text('Inserted')")

    bar.get_by_role("button", name="Copy").click()
    wait_until(lambda: page.evaluate("() => navigator.clipboard.readText()") == code, 10, "copy")

    # Select the first cell's text, then replace it with the block.
    page.locator(".jp-Notebook .jp-Cell").first.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    bar.get_by_role("button", name="Replace selection").click()
    wait_until(lambda: page.evaluate(cells)[0] == code, 10, "the replaced selection")
    screenshot(page, "code-block-inserted")


def test_same_titles_are_told_apart_and_delete_removes_a_session(
    page: Any, rest: httpx.Client
) -> None:
    first = new_session(page, rest, "proj", "hello")
    time.sleep(1.1)  # a second apart: their start times differ
    new_session(page, rest, "other", "hello")
    back_to_list(page)
    twins = page.locator(f"{PANEL} .jp-codex-SessionItem:has-text('hello')")
    assert twins.count() == 2
    metas = twins.locator(".jp-codex-SessionMeta").all_inner_texts()
    assert all("started" in m for m in metas) and metas[0] != metas[1], metas
    # The folder field follows the file browser again, not the last folder typed.
    assert page.locator(f"{PANEL} input[aria-label=Folder]").input_value() != "other"

    row = page.locator(f"{PANEL} .jp-codex-SessionItem[data-session-id='{first}']")
    row.get_by_role("button", name="Delete").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    ids = [s["id"] for s in rest.get("/codex/api/sessions?archived=true").json()["sessions"]]
    ids += [s["id"] for s in rest.get("/codex/api/sessions").json()["sessions"]]
    assert first not in ids
    assert rest.get(f"/codex/api/sessions/{first}").status_code == 404
