"""``jupyter codex chat`` with scripted stdin: a reply, an approval answered ``y``,
``/reset``, ``/exit``; the next ``chat`` in the folder continues the last session."""

from __future__ import annotations

import json

from fakes import exec_command, text
from ops_server import Ops


def test_chat_streams_asks_approvals_resets_and_resumes(ops: Ops) -> None:
    ops.fake.script("CHAT-1 hello", text("Hello, human."))
    ops.fake.script(
        "CHAT-1 make a file", exec_command("touch chat_made.txt"), text("The file is made.")
    )
    (ops.root / "chatdir").mkdir()
    stdin = "CHAT-1 hello\nCHAT-1 make a file\ny\n/reset\n/exit\n"
    out = ops.cli("chat", "--cwd", str(ops.root / "chatdir"), stdin=stdin)
    assert out.returncode == 0, out.stderr
    transcript = out.stdout
    assert "New session" in transcript and "Hello, human." in transcript
    asked = next(line for line in transcript.splitlines() if line.startswith("! Codex asks to run"))
    assert "touch chat_made.txt" in asked
    assert "Allow? [y]es / [a]lways this session / [N]o: y" in transcript
    ran = next(line for line in transcript.splitlines() if line.startswith("$ "))
    assert "touch chat_made.txt" in ran and "The file is made." in transcript
    assert (ops.root / "chatdir" / "chat_made.txt").exists(), "the approved command ran"
    first_id = transcript.split("New session ", 1)[1].split()[0]
    reset_id = transcript.rsplit("New session ", 1)[1].split()[0]
    assert reset_id != first_id, "/reset started a new session"

    first = json.loads(ops.cli("sessions", "events", first_id, "--json").stdout)
    decided = [e for e in first if e["type"] == "approval.resolved"]
    assert decided and decided[0]["data"]["decision"] == "accept"

    ops.fake.script("CHAT-1 again", text("Still here."))
    out = ops.cli("chat", "--cwd", str(ops.root / "chatdir"), stdin="CHAT-1 again\n")
    assert out.returncode == 0, out.stderr
    assert f"Continuing session {reset_id}" in out.stdout and "Still here." in out.stdout

    out = ops.cli("chat", "--session", first_id, stdin="/exit\n")
    assert out.returncode == 0 and f"Session {first_id}" in out.stdout
    bad = ops.cli("chat", "--session", "nosuchsession", stdin="")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
