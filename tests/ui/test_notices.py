"""Account events in real Chromium: an automatic switch (both targets, with the
usage alert that caused it) is one self-closing notice in the panel naming the
accounts by label; nothing covers the composer or the status bar meanwhile; the
status bar, the accounts view and the system log follow without a click."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream
from server_process import JupyterServerProcess
from ui_helpers import add_account, dismiss_toasts, open_lab, screenshot

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
VIEW = "#jupyter-codex-accounts-view"
STATUS = ".jp-codex-StatusItem"
NOTICE = f"{PANEL} .jp-codex-AccountNotice"

# Every notice and toast that ever shows, with its text.
RECORD_NOTICES = """() => {
  window.__codexNotices = [];
  window.__codexToasts = [];
  new MutationObserver(records => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (!(n instanceof HTMLElement)) continue;
        for (const el of [n, ...n.querySelectorAll('*')]) {
          if (el.classList.contains('jp-codex-AccountNotice'))
            window.__codexNotices.push(el.textContent);
          if (el.classList.contains('Toastify__toast'))
            window.__codexToasts.push(el.textContent);
        }
      }
    }
  }).observe(document.body, {subtree: true, childList: true});
}"""


@pytest.fixture(scope="module")
def accounts(rest: httpx.Client, ui_fake: FakeUpstream) -> list[dict[str, Any]]:
    made = [add_account(rest, ui_fake, 1, "note"), add_account(rest, ui_fake, 2, "note")]
    ui_fake.set_usage("acct-note-1", primary_used=20, secondary_used=5)
    ui_fake.set_usage("acct-note-2", primary_used=10, secondary_used=5)
    rest.post("/codex/api/usage/refresh").raise_for_status()
    assert rest.get("/codex/api/targets/cli").json()["account_id"] == made[0]["id"]
    return made


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServerProcess, accounts: list[dict[str, Any]]) -> Iterator[Any]:
    page = open_lab(browser, lab)
    yield page
    page.context.close()


def test_one_labelled_self_closing_notice_per_switch_that_blocks_nothing(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream, accounts: list[dict[str, Any]]
) -> None:
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")
    page.fill(f"{PANEL} input[aria-label=Folder]", "proj")
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{PANEL} .jp-codex-Timeline[data-ready=true]")
    dismiss_toasts(page)
    page.locator(STATUS).click()
    page.wait_for_selector(f"{VIEW} .jp-codex-AccountCard")
    page.wait_for_selector(f"{STATUS}:has-text('Account 1')")
    page.evaluate(RECORD_NOTICES)

    # Account 1 falls below the threshold: the router moves cli and api to Account 2
    # (a switch per target plus the alert: several events, one notice).
    ui_fake.set_usage("acct-note-1", primary_used=95, secondary_used=5)
    rest.post("/codex/api/usage/refresh").raise_for_status()
    assert rest.get("/codex/api/targets/cli").json()["account_id"] == accounts[1]["id"]

    notice = page.locator(NOTICE)
    notice.wait_for()
    text = notice.inner_text()
    assert "now Account 2" in text and "Account 1" in text, text
    for raw in (accounts[0]["id"], accounts[1]["id"], "(threshold)", "_"):
        assert raw not in text, text
    screenshot(page, "notice-switch", PANEL)
    # Nothing sits over the composer or the status bar: they take clicks at once.
    page.locator(f"{PANEL} .jp-codex-Input").click(timeout=2000)
    page.locator(STATUS).click(timeout=2000)

    # Status bar, accounts view and system log followed the events, with no click.
    page.wait_for_selector(f"{STATUS}:has-text('Account 2')")
    page.wait_for_selector(f"{VIEW} .jp-codex-TargetCard[data-target=cli]:has-text('Account 2')")
    page.wait_for_selector(f"{VIEW} .jp-codex-LogTable td:has-text('Account 1 → Account 2')")
    screenshot(page, "accounts-after-switch", VIEW)

    # It closes by itself, and it was the only one (no toast either).
    notice.wait_for(state="detached", timeout=15_000)
    assert len(page.evaluate("() => window.__codexNotices")) == 1
    assert page.evaluate("() => window.__codexToasts") == []
