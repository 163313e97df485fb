"""``jupyter codex system|sessions`` as subprocesses against a running server (real codex,
fake upstream), which they find through the user's Jupyter runtime directory."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fakes import failed, text
from ops_server import Ops


def test_system_health_and_capabilities_find_the_server_in_the_runtime_dir(ops: Ops) -> None:
    assert list(ops.runtime.glob("jpserver-*.json")), "the server wrote its runtime file"
    out = ops.cli("system", "health", "--json")
    assert out.returncode == 0, out.stderr
    health = json.loads(out.stdout)
    assert health["status"] == "ok" and health["ready"] is True
    assert health["server"] == ops.url
    assert health["checks"]["store"]["ok"] is True
    assert set(health["targets"]) == {"api", "cli"}

    out = ops.cli("system", "capabilities", "--json")
    assert out.returncode == 0, out.stderr
    caps = json.loads(out.stdout)
    methods = caps["methods"]
    for present in ("model/list", "thread/list", "review/start", "turn/steer", "account/read"):
        assert methods[present] is True, (present, caps)
    # codex 0.163+ replaced thread/rollback by thread/revert: the probe tells them apart.
    assert methods["thread/rollback"] is False and methods["thread/revert"] is True
    advertised = caps["advertised"]
    assert "review/start" in advertised and "thread/start" in advertised
    assert "thread/rollback" not in advertised
    assert caps["user_agent"]  # the probe started the app-server
    text_out = ops.cli("system", "capabilities")
    assert text_out.returncode == 0 and "review/start" in text_out.stdout


def test_sessions_create_send_wait_show_events_archive(ops: Ops) -> None:
    ops.fake.script("OPS-1 hello", text("Hello from the CLI test."))
    ops.fake.script("OPS-1 broken", failed("server_error", "the model fell over"))
    out = ops.cli("sessions", "create", "--cwd", str(ops.root / "proj"), "--title", "cli")
    assert out.returncode == 0, out.stderr
    session_id = out.stdout.strip()

    out = ops.cli("sessions", "send", session_id, "OPS-1 hello", "--wait", "--timeout", "90")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Hello from the CLI test."

    out = ops.cli("sessions", "send", session_id, "OPS-1 broken", "--wait", "--json")
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert json.loads(out.stdout)["status"] == "failed"

    shown = json.loads(ops.cli("sessions", "show", session_id, "--json").stdout)
    assert shown["id"] == session_id and shown["cwd"] == "proj" and shown["title"] == "cli"
    listed = json.loads(ops.cli("sessions", "list", "--json").stdout)
    assert session_id in [s["id"] for s in listed]

    events = json.loads(ops.cli("sessions", "events", session_id, "--json").stdout)
    types = [e["type"] for e in events]
    assert types.count("turn.completed") == 2 and "assistant.message" in types
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)

    assert ops.cli("sessions", "stop", session_id).returncode == 0
    assert ops.cli("sessions", "archive", session_id).returncode == 0
    listed = json.loads(ops.cli("sessions", "list", "--json").stdout)
    assert session_id not in [s["id"] for s in listed]
    archived = json.loads(ops.cli("sessions", "list", "--archived", "--json").stdout)
    assert session_id in [s["id"] for s in archived]


def test_explicit_url_and_token_and_readable_errors(ops: Ops, tmp_path: Path) -> None:
    explicit = ops.cli(
        "system",
        "health",
        "--json",
        "--url",
        ops.url,
        "--token",
        ops.server.token,
        env=ops.env(JUPYTER_RUNTIME_DIR=str(tmp_path)),
    )
    assert explicit.returncode == 0 and json.loads(explicit.stdout)["ready"] is True

    wrong = ops.cli("sessions", "list", "--url", ops.url, "--token", "not-the-token")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: ") and "refused the token" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr
    assert "not-the-token" not in wrong.stderr

    empty = tmp_path / "no-servers"
    empty.mkdir()
    none = ops.cli("system", "health", env=ops.env(JUPYTER_RUNTIME_DIR=str(empty)))
    assert none.returncode == 1 and none.stderr.startswith("error: No running Jupyter server")
    assert len(none.stderr.strip().splitlines()) == 1

    # A runtime file of a server that is gone is skipped like `jupyter server list` does.
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "jpserver-999999.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9/", "token": "x", "pid": 999999})
    )
    gone = ops.cli("sessions", "list", env=ops.env(JUPYTER_RUNTIME_DIR=str(stale)))
    assert gone.returncode == 1 and "No running Jupyter server" in gone.stderr

    missing = ops.cli("sessions", "show", "nosuchsession")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_health_is_the_only_anonymous_answer(ops: Ops) -> None:
    anonymous = httpx.get(ops.url + "codex/api/health", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    ready = httpx.get(ops.url + "codex/api/ready", timeout=10)
    assert ready.status_code in (401, 403)
    ready = httpx.get(ops.url + "codex/api/ready", headers=ops.server.headers, timeout=10)
    assert ready.status_code == 200 and ready.json()["ready"] is True
