"""Every Python example in docs/python-client.md runs against a live server."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from fakes import exec_command, text, tool_call
from live_server import Live

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-client.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)


def _approve_device_codes(live: Live, done: threading.Event) -> None:
    while not done.wait(0.1):
        for user_code in live.fake.pending_device_codes():
            live.fake.approve_device_code(user_code, "acct-docs", email="docs@example.com")


def test_the_document_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(
    index: int, live: Live, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTER_CODEX_SERVER_URL", live.url)
    monkeypatch.setenv("JUPYTER_CODEX_SERVER_TOKEN", live.token)
    live.fake.script(
        "Create a file named approved.txt",
        exec_command("touch approved.txt", escalated=True),
        text("Created approved.txt."),
    )
    live.fake.script(
        "What is the weather in Paris?",
        tool_call("get_weather", {"place": {"city": "Paris"}, "unit": "celsius"}),
        text("It is 21 degrees in Paris."),
    )
    code = BLOCKS[index]
    done = threading.Event()
    approver = threading.Thread(target=_approve_device_codes, args=(live, done), daemon=True)
    approver.start()  # the person who enters the code of a device-code example
    try:
        exec(compile(code, f"{DOC.name}[{index}]", "exec"), {"__name__": "__main__"})  # noqa: S102
    finally:
        done.set()
        approver.join(10)
    out = capsys.readouterr().out
    if "send_and_wait" in code and "tools=" in code:
        assert "It is 21 degrees in Paris." in out
    if "on_approval=decide" in code:
        assert (
            "Codex asks to run:" in out
            and "touch approved.txt" in out
            and "Created approved.txt." in out
        )
        assert (live.root / "approved.txt").exists()
    if "AssistantDelta" in code:
        assert "turn completed" in out
