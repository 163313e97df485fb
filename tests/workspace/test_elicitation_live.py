"""An MCP server's form (``elicitation/create``), answered through REST: the real
app-server runs the test's stdio MCP server, the human fills the form, the server gets it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakes import FakeUpstream, text, tool_call
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

SERVER = Path(__file__).with_name("mcp_form_server.py")


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    overrides = jp_server_config["CodexExtensionApp"]["codex_config_overrides"]
    overrides["mcp_servers.formy.command"] = sys.executable
    overrides["mcp_servers.formy.args"] = [str(SERVER)]
    return jp_server_config


async def test_an_mcp_form_is_filled_by_the_human(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(
        "FORM-1", tool_call("ask_form", {}, namespace="mcp__formy"), text("Nice to meet you.")
    )
    (jp_root_dir / "proj").mkdir()
    sid = (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]
    await api.call("POST", "sessions", sid, "messages", body={"text": "FORM-1 ask me"})

    # Codex first asks whether the MCP tool may run: a form without fields.
    may_run = await api.wait_approval(sid)
    assert may_run["kind"] == "elicitation" and may_run["form"]["server"] == "formy"
    assert "ask_form" in may_run["form"]["message"]
    await api.call("POST", "approvals", may_run["id"], body={"decision": "accept"})

    form = await api.wait_approval(sid)
    assert form["id"] != may_run["id"]
    assert form["form"]["message"] == "Who are you?"
    assert form["form"]["schema"]["required"] == ["name"]
    with pytest.raises(HTTPClientError) as err:  # a required field is missing
        await api.call(
            "POST", "approvals", form["id"], body={"decision": "accept", "content": {"age": 3}}
        )
    assert (
        err.value.code == 400 and "name" in json.loads(err.value.response.body)["error"]["message"]
    )  # type: ignore[union-attr]
    await api.call(
        "POST",
        "approvals",
        form["id"],
        body={"decision": "accept", "content": {"name": "Ada", "age": 36}},
    )
    await api.wait_event(sid, turn_completed)
    output = json.dumps(fake_upstream.responses_requests("FORM-1")[-1].function_call_outputs)
    assert (
        'ELICITED {\\"action\\": \\"accept\\", \\"content\\": {\\"age\\": 36, \\"name\\": \\"Ada\\"}'
        in output
    )
