"""Accessibility in real Chromium: axe-core (from npm, injected into the page) finds no
serious or critical violation in the Codex panel (an open session with a reply, a
command and its approval) and in the accounts view (usage bars and charts), in the
light, dark and dark high-contrast themes.

axe-core comes from npm: ``.ci/run`` installs it with
``npm install --prefix tests/ui/.node axe-core@4``; ``$AXE_CORE_JS`` may point at
another ``axe.min.js``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, exec_command, text
from server_process import JupyterServerProcess
from ui_helpers import dismiss_toasts, open_lab, screenshot

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
VIEW = "#jupyter-codex-accounts-view"
THEMES = ["JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"]


def axe_path() -> Path:
    found = Path(
        os.environ.get("AXE_CORE_JS")
        or Path(__file__).parent / ".node" / "node_modules" / "axe-core" / "axe.min.js"
    )
    if not found.exists():
        pytest.fail("axe-core is missing: npm install --prefix tests/ui/.node axe-core@4")
    return found


def serious_violations(page: Any, selector: str) -> list[dict[str, Any]]:
    """axe's serious and critical violations inside ``selector``, with their nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_path()))
    found = page.evaluate(
        """async (sel) => {
          const r = await axe.run(document.querySelector(sel), {resultTypes: ['violations']});
          return r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => [n.target.join(' '), n.failureSummary])}));
        }""",
        selector,
    )
    return found  # type: ignore[no-any-return]


def set_theme(page: Any, theme: str) -> None:
    page.evaluate(
        "([theme]) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
        [theme],
    )
    page.wait_for_function(
        "(theme) => document.body.dataset.jpThemeName === theme", arg=theme, timeout=30_000
    )
    page.wait_for_timeout(500)


@pytest.fixture(scope="module")
def page(
    browser: Any, lab: JupyterServerProcess, rest: httpx.Client, ui_fake: FakeUpstream
) -> Iterator[Any]:
    for n in (1, 2):
        account_id, email = f"acct-a11y-{n}", f"a11y{n}@example.com"
        refresh = ui_fake.add_account(account_id, email, refresh_token=f"rt-a11y-{n}")
        auth = chatgpt_auth_json(email, account_id, refresh, access_exp=int(time.time() + 1800))
        rest.post(
            "/codex/api/accounts/import", json={"auth_json": auth, "label": f"Account {n}"}
        ).raise_for_status()
    for used in (20, 35):
        ui_fake.set_usage("acct-a11y-1", primary_used=used, secondary_used=10)
        ui_fake.set_usage("acct-a11y-2", primary_used=used + 30, secondary_used=40)
        rest.post("/codex/api/usage/refresh").raise_for_status()
        time.sleep(1.1)
    page = open_lab(browser, lab)
    yield page
    page.context.close()


def test_panel_and_accounts_view_have_no_serious_violations(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    ui_fake.script(
        "accessible please",
        text("Here is **a reply** with code:\n\n```python\nprint('hi')\n```\n"),
    )
    ui_fake.script("needs approval", exec_command("touch a11y.txt", escalated=True), text("Ok."))
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")
    page.fill(f"{PANEL} input[aria-label=Folder]", "proj")
    page.fill(f"{PANEL} input[aria-label=Title]", "Accessible")
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{PANEL} .jp-codex-Timeline[data-ready=true]")
    box = page.locator(f"{PANEL} .jp-codex-Input")
    box.fill("accessible please")
    box.press("Enter")
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-turn")
    box.fill("needs approval")
    box.press("Enter")
    page.wait_for_selector(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting")
    assert page.locator(f"{PANEL} [role=log]").count() == 1
    dismiss_toasts(page)
    page.locator(".jp-codex-StatusItem").click()
    page.wait_for_selector(f"{VIEW} svg.jp-codex-UsageChart")

    report: dict[str, Any] = {}
    for theme in THEMES:
        set_theme(page, theme)
        slug = theme.lower().replace("jupyterlab ", "").replace(" ", "-")
        for name, selector in (("panel", PANEL), ("accounts", VIEW)):
            found = serious_violations(page, selector)
            if found:
                report[f"{theme} / {name}"] = found
            screenshot(page, f"a11y-{name}-{slug}", selector)
    assert not report, report

    # The check can fail: an icon button that loses its name is reported.
    page.evaluate(
        """(sel) => { const b = document.querySelector(sel + ' .jp-codex-AccountsButton');
                    b.removeAttribute('aria-label'); b.removeAttribute('title'); }""",
        PANEL,
    )
    assert "button-name" in [v["id"] for v in serious_violations(page, PANEL)]
    page.locator(f"{PANEL} .jp-codex-ApprovalCard.jp-mod-waiting").get_by_role(
        "button", name="Decline"
    ).click()
    set_theme(page, "JupyterLab Light")
