"""The accounts view and the status-bar item in real Chromium against a real
``jupyter lab`` whose accounts are signed in at the fake upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import FakeUpstream
from server_process import JupyterServerProcess
from ui_helpers import add_account, dismiss_toasts, open_lab, screenshot

pytestmark = pytest.mark.browser

VIEW = "#jupyter-codex-accounts-view"
STATUS = ".jp-codex-StatusItem"


@pytest.fixture(scope="module")
def accounts(lab: JupyterServerProcess, ui_fake: FakeUpstream) -> Iterator[list[dict[str, Any]]]:
    """Two ChatGPT accounts with known usage, polled twice (history for the chart)."""
    with lab.client() as rest:
        made = [add_account(rest, ui_fake, 1), add_account(rest, ui_fake, 2)]
        for primary in (30, 42):
            ui_fake.set_usage("acct-ui-1", primary_used=primary, secondary_used=5)
            ui_fake.set_usage("acct-ui-2", primary_used=primary + 38, secondary_used=30)
            rest.post("/codex/api/usage/refresh").raise_for_status()
            time.sleep(1.1)  # distinct history timestamps
        rest.patch("/codex/api/targets/cli", json={"account_id": made[0]["id"]}).raise_for_status()
        yield made


@pytest.fixture(scope="module")
def page(browser: Any, lab: JupyterServerProcess, accounts: list[dict[str, Any]]) -> Iterator[Any]:
    page = open_lab(browser, lab)
    yield page
    page.context.close()


def open_accounts(page: Any) -> None:
    """Open the accounts view by clicking the status-bar item."""
    dismiss_toasts(page)
    page.locator(STATUS).click()
    page.wait_for_selector(f"{VIEW} .jp-codex-AccountCard")


def meters(card: Any) -> list[int]:
    return [int(m.get_attribute("aria-valuenow")) for m in card.get_by_role("meter").all()]


def test_status_bar_and_usage_bars_for_both_accounts(
    page: Any, accounts: list[dict[str, Any]]
) -> None:
    status = page.locator(STATUS)
    status.wait_for()
    # The cli account and what is left of its tightest window (100 - 42).
    page.wait_for_selector(f"{STATUS}:has-text('Account 1')")
    assert "58% left" in status.inner_text()

    open_accounts(page)
    cards = page.locator(f"{VIEW} .jp-codex-AccountCard")
    assert cards.count() == 2
    first = page.locator(f"{VIEW} .jp-codex-AccountCard[data-account-id='{accounts[0]['id']}']")
    second = page.locator(f"{VIEW} .jp-codex-AccountCard[data-account-id='{accounts[1]['id']}']")
    assert meters(first) == [58, 95]
    assert meters(second) == [20, 70]
    assert "cli" in first.locator(".jp-codex-TargetBadge").all_inner_texts()
    # Two polls: each account has a usage-over-time chart.
    page.wait_for_selector(f"{VIEW} svg.jp-codex-UsageChart polyline")
    assert page.locator(f"{VIEW} svg.jp-codex-UsageChart").count() == 2
    target = page.locator(f"{VIEW} .jp-codex-TargetCard[data-target=cli]")
    assert "Account 1" in target.inner_text()
    screenshot(page, "accounts-light", VIEW)


def test_switching_the_cli_account_updates_the_status_bar(
    page: Any, lab: JupyterServerProcess, accounts: list[dict[str, Any]]
) -> None:
    open_accounts(page)
    second = page.locator(f"{VIEW} .jp-codex-AccountCard[data-account-id='{accounts[1]['id']}']")
    second.locator(".jp-codex-UseFor[data-target=cli]").click()

    page.wait_for_selector(f"{STATUS}:has-text('Account 2')")
    assert "20% left" in page.locator(STATUS).inner_text()
    page.wait_for_selector(f"{VIEW} .jp-codex-TargetCard[data-target=cli]:has-text('Account 2')")
    # The switch arrives as a JupyterLab notification and in the system log.
    page.wait_for_selector(".jp-Notification-Toast-info:has-text('now Account 2')")
    with lab.client() as rest:
        assert rest.get("/codex/api/targets/cli").json()["account_id"] == accounts[1]["id"]
    page.locator(f"{VIEW} button[aria-label='Reload the log']").click()
    page.wait_for_selector(f"{VIEW} .jp-codex-LogTable td:has-text('Account 1 → Account 2')")


def test_strategy_threshold_add_key_and_remove(page: Any, lab: JupyterServerProcess) -> None:
    open_accounts(page)
    target = page.locator(f"{VIEW} .jp-codex-TargetCard[data-target=cli]")
    target.locator("input[aria-label='cli threshold']").fill("30")
    target.get_by_role("button", name="Save").click()
    with lab.client() as rest:
        deadline = time.monotonic() + 30
        while rest.get("/codex/api/targets/cli").json()["threshold_percent"] != 30:
            assert time.monotonic() < deadline, "the threshold never reached the server"
            time.sleep(0.2)

    page.get_by_role("tab", name="API key").click()
    page.fill(f"{VIEW} input[aria-label='Account label']", "Team key")
    page.fill(f"{VIEW} input[aria-label='API key']", "sk-proj-uitest0123456789abcdef")
    page.locator(f"{VIEW} .jp-codex-AddAccount").get_by_role("button", name="Add key").click()
    card = page.locator(f"{VIEW} .jp-codex-AccountCard:has-text('Team key')")
    card.wait_for()
    assert page.locator(f"{VIEW} .jp-codex-AccountCard").count() == 3
    assert "sk-proj" not in page.locator(VIEW).inner_text()

    card.get_by_role("button", name="Remove").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Remove").click()
    card.wait_for(state="detached")
    assert page.locator(f"{VIEW} .jp-codex-AccountCard").count() == 2


def test_device_code_sign_in(page: Any, ui_fake: FakeUpstream) -> None:
    ui_fake.add_account("acct-ui-dev", "dev@example.com")
    open_accounts(page)
    page.get_by_role("tab", name="Sign in with a code").click()
    page.fill(f"{VIEW} input[aria-label='Account label']", "Signed in")
    page.locator(f"{VIEW} .jp-codex-AddAccount").get_by_role("button", name="Start sign-in").click()
    code = page.locator(f"{VIEW} .jp-codex-UserCode")
    code.wait_for()
    assert page.locator(f"{VIEW} .jp-codex-DeviceCode a").get_attribute("href")
    # What the user does on the verification page:
    ui_fake.approve_device_code(code.inner_text().strip(), "acct-ui-dev", email="dev@example.com")
    page.wait_for_selector(f"{VIEW} .jp-codex-AccountCard:has-text('dev@example.com')")
    page.wait_for_selector(".jp-Notification-Toast-info:has-text('Signed in as dev@example.com')")
    assert (
        "Signed in" in page.locator(f"{VIEW} .jp-codex-AccountCard:has-text('dev@')").inner_text()
    )
