"""Session settings reach Codex on the next turn, within the administrator's limits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fakes import FakeUpstream, text
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.workspace.settings import SessionLimits


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config["SessionLimits"] = Config(
        {"max_sandbox": "workspace-write", "allowed_approval_policies": ["on-request", "never"]}
    )
    return jp_server_config


def last_profile(body: object) -> str:
    """The newest permission profile Codex told the model about in a request."""
    profiles = re.findall(r"<permission_profile.*?</permission_profile>", json.dumps(body))
    assert profiles, "no permission profile in the request"
    return str(profiles[-1])


async def test_patched_sandbox_and_network_apply_to_the_next_turn(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "proj").mkdir()
    fake_upstream.script("SET-1", text("one"))
    fake_upstream.script("SET-2", text("two"))
    session = await api.call("POST", "sessions", body={"cwd": "proj"})
    sid = session["id"]
    assert session["sandbox"] == "workspace-write" and session["network_access"] is False
    await api.call("POST", "sessions", sid, "messages", body={"text": "SET-1"})
    await api.wait_event(sid, turn_completed)
    first = fake_upstream.responses_requests("SET-1")[-1].body
    assert 'access=\\"write\\"><path>' in last_profile(first)  # the folder is writable

    patched = await api.call(
        "PATCH",
        "sessions",
        sid,
        body={"sandbox": "read-only", "network_access": True, "approval_policy": "never"},
    )
    assert patched["sandbox"] == "read-only" and patched["network_access"] is True
    await api.call("POST", "sessions", sid, "messages", body={"text": "SET-2"})
    await api.wait_event(
        sid, lambda e: e["type"] == "assistant.message" and e["data"].get("text") == "two"
    )
    second = fake_upstream.responses_requests("SET-2")[-1].body
    profile = last_profile(second)
    assert 'access=\\"write\\"><path>' not in profile  # read-only now: nothing writable
    assert "sandbox_mode` is `read-only`" in json.dumps(second)
    assert "Network access is enabled" in json.dumps(second)
    assert "Approval policy is currently never" in json.dumps(second)


async def test_settings_beyond_the_limits_are_refused(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "proj").mkdir()
    assert await api.call("GET", "limits") == {
        "sandboxes": ["read-only", "workspace-write"],
        "approval_policies": ["on-request", "never"],
        "network_access": True,
    }
    for body, needle in (
        ({"cwd": "proj", "sandbox": "danger-full-access"}, "max_sandbox"),
        ({"cwd": "proj", "approval_policy": "untrusted"}, "allowed_approval_policies"),
    ):
        with pytest.raises(HTTPClientError) as err:
            await api.call("POST", "sessions", body=body)
        assert err.value.code == 400
        assert needle in json.loads(err.value.response.body)["error"]["message"]  # type: ignore[union-attr]
    session = await api.call("POST", "sessions", body={"cwd": "proj"})
    with pytest.raises(HTTPClientError) as err:
        await api.call("PATCH", "sessions", session["id"], body={"sandbox": "danger-full-access"})
    assert err.value.code == 400
    assert (await api.call("GET", "sessions", session["id"]))["sandbox"] == "workspace-write"


def test_network_limit() -> None:
    limits = SessionLimits(allow_network_access=False)
    limits.check(network_access=False)
    with pytest.raises(InvalidRequestError, match="allow_network_access"):
        limits.check(network_access=True)
