"""Inline completion in real Chromium: Codex's provider of JupyterLab's inline
completer shows ghost text from the (fake) upstream, asked through the router, and
typing on cancels a request in flight (the upstream request is closed).

Its own module (own lab): with another page's notebooks restored into the layout,
the completer was seen not to ask at all; see the report of issue 21."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, hang, text
from playwright import sync_api as playwright_api
from server_process import JupyterServerProcess
from test_notebook_live import CURRENT, open_notebook
from ui_helpers import open_lab, screenshot, wait_until, write_notebook

pytestmark = pytest.mark.browser


def test_inline_completion_shows_ghost_text_and_typing_cancels_it(
    browser: Any,
    lab: JupyterServerProcess,
    rest: httpx.Client,
    lab_root: Path,
    ui_fake: FakeUpstream,
) -> None:
    # An api-target account (completions go through the router), and the provider on:
    # it is off by default.
    rt = ui_fake.add_account("acct-inline", "inline@example.com", refresh_token="rt-inline")
    auth = chatgpt_auth_json(
        "inline@example.com", "acct-inline", rt, access_exp=int(time.time() + 1800)
    )
    account = rest.post("/codex/api/accounts/import", json={"auth_json": auth}).json()
    rest.patch("/codex/api/targets/api", json={"account_id": account["id"]}).raise_for_status()
    for plugin, raw in (
        (
            "jupyter-codex:inline-completion",
            {"enabled": True, "languages": ["python"], "debounceMs": 50},
        ),
        (
            "@jupyterlab/completer-extension:inline-completer",
            {
                "providers": {
                    "jupyter-codex": {"enabled": True, "debouncerDelay": 0, "timeout": 30000}
                }
            },
        ),
    ):
        rest.put(f"/lab/api/settings/{plugin}", json={"raw": json.dumps(raw)}).raise_for_status()
    ui_fake.script("INLINE-GHOST", text("6 * 7"))
    ui_fake.script("INLINE-SLOW", hang() + text("never shown"))

    path = "live/ghost.ipynb"
    write_notebook(lab_root / path, ("g1", ""))
    page = open_lab(browser, lab)
    try:
        open_notebook(page, path, 1)
        page.locator(f"{CURRENT} .jp-Cell .cm-content").first.click()
        page.keyboard.type("# INLINE-GHOST\nanswer = ")
        ghost = page.locator(".jp-GhostText")
        try:
            ghost.wait_for(timeout=60_000)
        except playwright_api.Error:
            screenshot(page, "inline-completion-failed")
            sent = [r.body for r in ui_fake.responses_requests(containing="INLINE-GHOST")]
            raise AssertionError(f"no ghost text; upstream requests: {sent}") from None
        assert "6 * 7" in ghost.text_content()
        screenshot(page, "inline-completion-ghost", CURRENT)

        # A slow completion is cancelled (the upstream request closed) by typing on.
        page.keyboard.press("Enter")
        page.keyboard.type("# INLINE-SLOW\nx = ")
        wait_until(
            lambda: ui_fake.responses_requests(containing="INLINE-SLOW"), what="the slow request"
        )
        page.keyboard.type("1")
        wait_until(
            lambda: ui_fake.responses_requests(containing="INLINE-SLOW")[0].client_disconnected,
            what="the cancelled upstream request",
        )
        ui_fake.release()
    finally:
        page.context.close()
