"""The panel's queued follow-ups and Jobs view in a real JupyterLab (Chromium), with the
real codex binary and the fake upstream."""

from __future__ import annotations

from typing import Any

import httpx
from fakes import FakeUpstream, hang, text
from ui_helpers import screenshot, wait_until

PANEL = "#jupyter-codex-panel"
TIMELINE = f"{PANEL} .jp-codex-Timeline"


def test_queue_follow_ups_while_codex_works_cancel_one_and_see_jobs(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script("long task", text("working on it ") + hang())
    ui_fake.script("first follow-up", text("follow-up done"))
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")
    page.fill(f"{PANEL} input[aria-label=Folder]", "proj")
    page.fill(f"{PANEL} input[aria-label=Title]", "Queueing")
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{TIMELINE}[data-ready=true]")
    sid = next(
        s["id"]
        for s in rest.get("/codex/api/sessions").json()["sessions"]
        if s["title"] == "Queueing"
    )

    box = page.locator(f"{PANEL} .jp-codex-Input")
    box.fill("long task")
    box.press("Enter")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('working on it')")
    # While Codex works, Queue runs the message after the turn (Enter steers it).
    box.fill("first follow-up")
    page.locator(f"{PANEL} .jp-codex-Queue").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-FollowUp")
    box.fill("second follow-up")
    page.locator(f"{PANEL} .jp-codex-Queue").click()
    follow_ups = page.locator(f"{PANEL} .jp-codex-FollowUp")
    wait_until(lambda: follow_ups.count() == 2, what="two queued follow-ups")
    assert "first follow-up" in follow_ups.nth(0).inner_text()
    assert "Queued" in follow_ups.nth(1).inner_text()
    screenshot(page, "jobs-follow-ups", PANEL)

    follow_ups.nth(1).get_by_role(
        "button", name="Cancel queued follow-up: second follow-up"
    ).click()
    wait_until(lambda: follow_ups.count() == 1, what="the cancelled follow-up to go")
    jobs = rest.get("/codex/api/jobs", params={"session_id": sid}).json()["jobs"]
    assert sorted(j["state"] for j in jobs) == ["cancelled", "queued"]

    ui_fake.release()
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('follow-up done')")
    wait_until(lambda: follow_ups.count() == 0, what="the follow-up to finish")

    # The Jobs view lists them with state, attempts and result.
    page.locator(f"{PANEL} .jp-codex-Back").click()
    page.locator(f"{PANEL} .jp-codex-JobsButton").click()
    done = page.locator(f"{PANEL} .jp-codex-Job[data-state=succeeded]")
    done.first.wait_for()
    assert "follow-up done" in done.first.inner_text()
    assert "attempt 1/1" in done.first.inner_text()
    assert page.locator(f"{PANEL} .jp-codex-Job[data-state=cancelled]").count() == 1
    screenshot(page, "jobs-view", PANEL)
