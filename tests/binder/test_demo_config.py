"""The Binder DEMO MODE config starts a server that answers from the bundled fake."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest
from demo_helpers import BINDER, start_env
from server_process import JupyterServerProcess

pytestmark = pytest.mark.timeout(240)


def test_binder_files_are_complete() -> None:
    for name in ("environment.yml", "postBuild", "start", "jupyter_server_config.py", "demo.py"):
        assert (BINDER / name).is_file(), name
    assert "pip install" in (BINDER / "postBuild").read_text()
    env = start_env()
    assert env["JUPYTER_CONFIG_PATH"].split(":")[0] == str(BINDER)
    assert env["JUPYTER_CODEX_DEMO_MODE"] == "1"


def test_demo_mode_server_replies_from_the_fake(tmp_path: Path) -> None:
    from demo_helpers import DEMO_REPLY  # binder/demo.py, loaded the way the config loads it

    root = tmp_path / "root"
    root.mkdir()
    with pytest.MonkeyPatch.context() as env:
        for key, value in start_env().items():
            env.setenv(key, value)
        env.setenv("JUPYTER_CODEX_DATA_DIR", str(tmp_path / "data"))
        env.setenv("HOME", str(tmp_path / "home"))
        server = JupyterServerProcess(root, tmp_path / "config", {})
        with server, server.client() as client:
            status = client.get("codex/api/status").json()
            assert status["demo_mode"] is True and "DEMO MODE" in status["banner"]
            assert status["data_dir"] == str(tmp_path / "data")
            for target in ("api", "cli"):
                active = status["targets"][target]["active_account"]
                assert active and active["email"] == "demo@example.com", status["targets"]

            r = client.post("codex/api/sessions", json={"cwd": ""})
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            r = client.post(f"codex/api/sessions/{sid}/messages", json={"text": "Hello demo"})
            assert r.status_code == 202, r.text
            deadline = time.monotonic() + 90
            events: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                events = client.get(f"codex/api/sessions/{sid}/events").json()["events"]
                if any(e["type"] == "turn.completed" for e in events):
                    break
                time.sleep(0.3)
            done = [e for e in events if e["type"] == "turn.completed"]
            assert done and done[-1]["data"]["status"] == "completed", [e["type"] for e in events]
            assert DEMO_REPLY in str(events)

            sdk = openai.OpenAI(
                base_url=server.url + "/codex/v1", api_key=server.token, max_retries=0
            )
            reply = sdk.chat.completions.create(
                model="gpt-5.2-codex", messages=[{"role": "user", "content": "hi"}]
            )
            assert reply.choices[0].message.content == DEMO_REPLY
    log = server.log_path.read_text()
    assert "DEMO MODE" in log
