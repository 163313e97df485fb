"""First run in real Chromium against a real ``jupyter lab`` with **no** account
and no Codex login: the panel opens on the first-run card and sending is off;
importing an auth.json there makes it the active account within the same
request (no "Active: none" / "no account" moment once it is listed); an account
added from the CLI shows in an open accounts view without a click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, text
from server_process import JupyterServerProcess
from test_a11y import serious_violations, set_theme
from ui_helpers import dismiss_toasts, screenshot, start_lab

pytestmark = pytest.mark.browser

PANEL = "#jupyter-codex-panel"
VIEW = "#jupyter-codex-accounts-view"
CARD = f"{PANEL} .jp-codex-FirstRun"
STATUS = ".jp-codex-StatusItem"

# Every change of what the page shows about the cli account, from a MutationObserver.
RECORD_SNAPSHOTS = """() => {
  window.__codexSnaps = [];
  const snap = () => {
    const active = document.querySelector(
      '#jupyter-codex-accounts-view .jp-codex-TargetCard[data-target=cli] .jp-codex-TargetActive');
    window.__codexSnaps.push({
      cards: document.querySelectorAll('#jupyter-codex-accounts-view .jp-codex-AccountCard').length,
      target: active ? active.textContent : null,
      status: (document.querySelector('.jp-codex-StatusItem') || {}).textContent || null,
      firstRun: !!document.querySelector('#jupyter-codex-panel .jp-codex-FirstRun'),
    });
  };
  new MutationObserver(snap).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def lab(
    ui_fake: FakeUpstream, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServerProcess]:
    server = start_lab(ui_fake, lab_root, tmp_path_factory.mktemp("lab-home"), signed_in=False)
    yield server
    server.stop()


def open_panel(page: Any) -> None:
    page.locator(".jp-LabShell").click(position={"x": 700, "y": 400})
    page.keyboard.press("Control+Alt+c")
    page.wait_for_selector(f"{PANEL}:visible")


def auth_json(fake: FakeUpstream, account_id: str, email: str) -> dict[str, Any]:
    refresh = fake.add_account(account_id, email, refresh_token=f"rt-{account_id}")
    return chatgpt_auth_json(email, account_id, refresh, access_exp=int(time.time() + 1800))


def test_first_run_card_with_no_account_and_sending_disabled(page: Any, rest: httpx.Client) -> None:
    open_panel(page)
    card = page.locator(CARD)
    card.wait_for()
    assert "Connect Codex to an account" in card.inner_text()
    tabs = card.get_by_role("tab").all_inner_texts()
    assert tabs == ["Codex login", "auth.json file", "API key", "Sign in with a code"]
    page.wait_for_selector(f"{STATUS}:has-text('no account')")
    screenshot(page, "first-run-card", PANEL)
    # Readable and operable in light and dark (axe-core, as in test_a11y).
    for theme, slug in (("JupyterLab Dark", "dark"), ("JupyterLab Light", "light")):
        set_theme(page, theme)
        assert serious_violations(page, PANEL) == [], theme
        screenshot(page, f"first-run-card-{slug}", PANEL)

    # A session can be prepared, but nothing is sent without an account.
    page.fill(f"{PANEL} input[aria-label=Folder]", "proj")
    page.fill(f"{PANEL} input[aria-label=Title]", "Before sign-in")
    page.click(f"{PANEL} .jp-codex-Create")
    page.wait_for_selector(f"{PANEL} .jp-codex-Timeline[data-ready=true]")
    box = page.locator(f"{PANEL} .jp-codex-Input")
    box.fill("hello before sign-in")
    send = page.locator(f"{PANEL} .jp-codex-Send")
    assert send.is_disabled()
    assert send.get_attribute("aria-describedby") == "jp-codex-send-blocked"
    assert "Add an account" in page.locator("#jp-codex-send-blocked").inner_text()
    box.press("Enter")
    page.wait_for_timeout(1000)
    sid = next(
        s["id"]
        for s in rest.get("/codex/api/sessions").json()["sessions"]
        if s["title"] == "Before sign-in"
    )
    events = rest.get(f"/codex/api/sessions/{sid}/events").json()["events"]
    assert not [e for e in events if e["type"] in ("user.message", "turn.started")]
    assert box.input_value() == "hello before sign-in"  # kept for later
    screenshot(page, "first-run-send-disabled", PANEL)


def test_import_makes_the_first_account_active_with_no_none_flash(
    page: Any, rest: httpx.Client, ui_fake: FakeUpstream
) -> None:
    content = auth_json(ui_fake, "acct-first", "first@example.com")
    # The accounts view is open beside the panel: both must go straight to active.
    dismiss_toasts(page)
    page.locator(STATUS).click()
    page.wait_for_selector(f"{VIEW} .jp-codex-TargetCard[data-target=cli]:has-text('none')")
    page.evaluate(RECORD_SNAPSHOTS)

    card = page.locator(CARD)
    card.get_by_role("tab", name="auth.json file").click()
    card.locator("input[aria-label='Account label']").fill("First account")
    card.locator("input[type=file]").set_input_files(
        files=[
            {
                "name": "auth.json",
                "mimeType": "application/json",
                "buffer": json.dumps(content).encode(),
            }
        ]
    )
    page.wait_for_selector(f"{STATUS}:has-text('First account')")
    page.wait_for_selector(CARD, state="detached")
    page.wait_for_selector(
        f"{VIEW} .jp-codex-TargetCard[data-target=cli]:has-text('First account')"
    )
    snaps = page.evaluate("() => window.__codexSnaps")
    listed = [s for s in snaps if s["cards"] >= 1]
    assert listed, snaps
    assert not [s for s in listed if "none" in (s["target"] or "")], listed
    shown = [s for s in snaps if "First account" in (s["status"] or "")]
    first_shown = snaps.index(shown[0])
    assert not [s for s in snaps[first_shown:] if "no account" in (s["status"] or "")]
    # One notice, naming the label, in the panel (not a toast over the composer).
    notice = page.locator(f"{PANEL} .jp-codex-AccountNotice")
    notice.wait_for()
    assert notice.count() == 1
    assert "now First account" in notice.inner_text()
    account = rest.get("/codex/api/accounts").json()["accounts"][0]
    assert account["id"] not in notice.inner_text()
    assert rest.get("/codex/api/targets/cli").json()["account_id"] == account["id"]
    screenshot(page, "first-run-imported", PANEL)

    # Sending works now, through the account just imported.
    ui_fake.script("hello after sign-in", text("Hi, signed in."))
    page.locator(f"{PANEL} .jp-codex-Input").fill("hello after sign-in")
    page.locator(f"{PANEL} .jp-codex-Send").click()
    page.wait_for_selector(f"{PANEL} .jp-codex-Bubble-assistant:has-text('Hi, signed in.')")


def test_cli_added_account_appears_in_the_open_accounts_view(
    page: Any, lab: JupyterServerProcess, ui_fake: FakeUpstream, tmp_path: Path
) -> None:
    page.locator(STATUS).click()
    page.wait_for_selector(f"{VIEW} .jp-codex-AccountCard")
    before = page.locator(f"{VIEW} .jp-codex-AccountCard").count()
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(auth_json(ui_fake, "acct-cli", "cli@example.com")))
    config = json.loads((lab.config_dir / "jupyter_server_config.json").read_text())
    data_dir = config["CodexExtensionApp"]["data_dir"]
    subprocess.run(
        [sys.executable, "-m", "jupyter_codex.cli", "--data-dir", str(data_dir)]
        + ["accounts", "import", "--auth-json", str(path), "--label", "From the CLI"],
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(lab.config_dir)},
        check=True,
        capture_output=True,
        timeout=60,
    )
    # No click: the server notices the change and the view follows the event stream.
    page.wait_for_selector(f"{VIEW} .jp-codex-AccountCard:has-text('From the CLI')", timeout=20_000)
    assert page.locator(f"{VIEW} .jp-codex-AccountCard").count() == before + 1
    page.wait_for_selector(f"{VIEW} .jp-codex-SystemLog")
    screenshot(page, "accounts-cli-added", VIEW)
