"""usage/alerts.py: the notify command gets the event in its environment, in the background."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

import pytest
from fakes import FakeUpstream
from usage.doubles import open_stack

from jupyter_codex.usage import AlertNotifier

SCRIPT = """
import json, os, sys
keys = [k for k in os.environ if k.startswith("JUPYTER_CODEX_")]
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({k: os.environ[k] for k in sorted(keys)}) + "\\n")
"""


def _events(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_notify_command_receives_switches_and_alerts(
    tmp_path: Path, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server started earlier in this process exported its own JUPYTER_CODEX_* variables
    # (server URL, CODEX_HOME bookkeeping): the command must see only the event's.
    for key in [k for k in os.environ if k.startswith("JUPYTER_CODEX_")]:
        monkeypatch.delenv(key)
    out = tmp_path / "events.jsonl"
    script = tmp_path / "notify.py"
    script.write_text(SCRIPT)
    s = await open_stack(tmp_path, fake_upstream)
    notifier = AlertNotifier(
        notify_command=[sys.executable, str(script), str(out)],
        email_of=lambda i: a.email if (a := s.router.account_cached(i)) else None,
    )
    s.router.add_switch_listener(notifier.on_switch)
    s.router.add_alert_listener(notifier.on_alert)
    try:
        await s.accounts.add("a", email="alice@example.com")
        await s.accounts.add("b", email="bob@example.com")
        await s.set_usage(fake_upstream, "a", primary_used=10)
        await s.set_usage(fake_upstream, "b", primary_used=30)
        await s.router.set_active("cli", "a")
        await notifier.drain()
        out.unlink(missing_ok=True)
        await s.set_usage(fake_upstream, "a", primary_used=90)  # alert + switch on both targets
        await notifier.drain()
        events = _events(out)
        cli = [e for e in events if e["JUPYTER_CODEX_TARGET"] == "cli"]
        assert {
            "JUPYTER_CODEX_EVENT": "switch",
            "JUPYTER_CODEX_TARGET": "cli",
            "JUPYTER_CODEX_FROM": "a",
            "JUPYTER_CODEX_TO": "b",
            "JUPYTER_CODEX_REASON": "threshold",
            "JUPYTER_CODEX_EMAIL": "bob@example.com",
        } in cli
        assert {
            "JUPYTER_CODEX_EVENT": "alert",
            "JUPYTER_CODEX_TARGET": "cli",
            "JUPYTER_CODEX_FROM": "a",
            "JUPYTER_CODEX_TO": "",
            "JUPYTER_CODEX_REASON": "threshold",
            "JUPYTER_CODEX_EMAIL": "alice@example.com",
        } in cli
        assert len(events) == 4  # alert + switch, for api and cli
    finally:
        await notifier.close()
        await s.close()


async def test_slow_or_broken_commands_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    slow = AlertNotifier(
        notify_command=[sys.executable, "-c", "import time; time.sleep(30)"], notify_timeout=0.3
    )
    started = time.monotonic()
    slow.on_switch("api", "a", "b", "manual")  # returns at once
    assert time.monotonic() - started < 0.1
    await slow.drain()
    assert time.monotonic() - started < 5
    assert "timed out" in caplog.text
    failing = AlertNotifier(notify_command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    assert await failing.notify("alert", target="cli", reason="threshold") == 3
    missing = AlertNotifier(notify_command=[str(tmp_path / "no-such-command")])
    assert await missing.notify("alert", target="cli") is None
    assert "Cannot run the notify command" in caplog.text
    assert await AlertNotifier().notify("switch", target="api") is None  # not configured
    await asyncio.sleep(0)
