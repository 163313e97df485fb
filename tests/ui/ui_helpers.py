"""Helpers of the browser tests (imported by name: ``from ui_helpers import ...``; a
module named ``conftest`` would collide with ``tests/kernel/conftest.py`` when both
directories are collected in one run): start and open JupyterLab, screenshots, waits,
notebooks on disk, the panel's composer and accounts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from fakes import FakeUpstream, chatgpt_auth_json
from helpers import extension_config, sign_in_cli_target
from playwright import sync_api as playwright_api
from server_process import JupyterServerProcess, lab_settings

ARTIFACTS = Path(__file__).parent / "artifacts"


def chromium_path() -> str:
    """Debian's chromium (CI installs it with apt); override with $CHROMIUM."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see .ci/run)")
    return found


def start_lab(
    fake: FakeUpstream,
    root: Path,
    home: Path,
    *,
    signed_in: bool = True,
    codex_config: dict[str, Any] | None = None,
) -> JupyterServerProcess:
    """A started ``jupyter lab`` with isolated settings and workspaces; ``signed_in``:
    the cli target's codex has a ChatGPT login of its own (no managed account);
    ``codex_config``: more ``codex_config_overrides`` (e.g. an MCP server)."""
    data_dir = home / "codex-data"
    # No "get notified about Jupyter news?" toast over the panel.
    news = home / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    if signed_in:
        sign_in_cli_target(fake, data_dir)
    config = extension_config(fake, data_dir)
    config["codex_config_overrides"].update(codex_config or {})
    server = JupyterServerProcess(
        root,
        home / "config",
        config,
        app="jupyterlab",
        extra_config={
            "LabApp": lab_settings(home, expose_app_in_browser=True),
            "WorkspaceManager": {"approval_timeout": 120.0},
            "ServerApp": {"terminals_enabled": False},
        },
        log_path=home / "lab.log",
    )
    server.start(timeout=120)
    return server


def open_lab(
    browser: Any,
    lab: JupyterServerProcess,
    theme: str | None = None,
    route_events: Callable[[Any], None] | None = None,
) -> Any:
    """A new page (own context) with JupyterLab loaded, logged in with the token.

    ``route_events`` handles the events WebSocket (Playwright ``route_web_socket``).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    if route_events:
        context.route_web_socket("**/codex/api/events**", route_events)
    page = context.new_page()
    page.on("pageerror", lambda exc: print(f"[page error] {exc}"))
    page.on(
        "console",
        lambda msg: (
            print(f"[console.{msg.type}] {msg.text}") if msg.type in ("error", "warning") else None
        ),
    )
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=120_000)
    page.wait_for_selector(".jp-LabShell", timeout=60_000)
    # Let JupyterLab finish restoring its layout: it moves the focus when done.
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_timeout(1000)
    if theme:
        page.evaluate(
            "([theme]) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
            [theme],
        )
    return page


def screenshot(page: Any, name: str, selector: str | None = None) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))
    return path


def dismiss_toasts(page: Any) -> list[str]:
    """Close every notification toast (they sit over the status bar); returns their texts."""
    texts: list[str] = []
    toasts = page.locator(".Toastify__toast")
    for i in range(toasts.count()):
        texts.append(toasts.nth(i).inner_text())
    closes = page.locator(".jp-Notification-Toast-Close")
    deadline = time.monotonic() + 20
    while closes.count() and time.monotonic() < deadline:
        # A toast may close on its own meanwhile (auto-close): just try again.
        with contextlib.suppress(playwright_api.Error):
            closes.first.click(timeout=2000)
        page.wait_for_timeout(200)
    return texts


# -- shared by the UI modules --------------------------------------------------------

#: The Codex panel (its DOM id).


PANEL = "#jupyter-codex-panel"


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def write_notebook(path: Path, *cells: tuple[str, str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell_id, source in cells:
        cell = nbformat.v4.new_code_cell(source=source)
        cell["id"] = cell_id
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def send(page: Any, message: str) -> None:
    box = page.locator(f"{PANEL} .jp-codex-Input")
    box.fill(message)
    box.press("Enter")


def add_account(rest: httpx.Client, fake: FakeUpstream, n: int, kind: str = "ui") -> dict[str, Any]:
    """Sign in account ``n`` of the fake (ids ``acct-<kind>-<n>``) over REST."""
    account_id, email = f"acct-{kind}-{n}", f"{kind}{n}@example.com"
    refresh = fake.add_account(account_id, email, refresh_token=f"rt-{kind}-{n}")
    body = {
        "auth_json": chatgpt_auth_json(
            email, account_id, refresh, access_exp=int(time.time() + 1800)
        ),
        "label": f"Account {n}",
    }
    return rest.post("/codex/api/accounts/import", json=body).raise_for_status().json()  # type: ignore[no-any-return]


def bring_into_view(locator: Any) -> None:
    """Scroll ``locator`` into view and let the browser render it. Off-screen timeline
    bubbles skip rendering (``content-visibility: auto``) and their ``innerText`` is ""
    until a frame after they come into view."""
    locator.scroll_into_view_if_needed()
    locator.page.wait_for_function(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
    )
