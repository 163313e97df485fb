"""The administrator's defaults for models, effort, sandbox and approval policy, and the
proxy's model list and aliases, set as traitlets config on a real server, take effect:
in a new session, in what the real codex sends upstream, and in the proxy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, text
from helpers import Api, extension_config, turn_completed
from server_process import JupyterServerProcess, lab_settings
from traitlets.config import Config

#: Both served by the fake upstream (tests/fakes MODELS); neither is codex's own default.
DEFAULT_MODEL = "gpt-5.4-mini"
PROXY_MODELS = ["gpt-5.4-mini", "gpt-5.4"]
ALIASES = {"house-model": "gpt-5.4", "claude-sonnet-4-5": "gpt-5.4-mini"}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The suite's server (tests/conftest.py) with the administrator's defaults on top."""
    jp_server_config.WorkspaceManager.update(
        default_model=DEFAULT_MODEL,
        default_effort="low",
        default_sandbox="read-only",
        default_approval_policy="never",
    )
    jp_server_config.ProxyService.update(models=PROXY_MODELS, model_aliases=ALIASES)
    return jp_server_config


async def test_session_defaults_reach_the_session_and_upstream(
    api: Api, fake_upstream: FakeUpstream
) -> None:
    status = await api.call("GET", "status")
    defaults = status["defaults"]
    assert defaults["model"] == DEFAULT_MODEL and defaults["effort"] == "low"
    assert defaults["sandbox"] == "read-only" and defaults["approval_policy"] == "never"
    assert defaults["proxy_models"] == PROXY_MODELS

    session = await api.call("POST", "sessions", body={"cwd": ""})
    assert session["model"] == DEFAULT_MODEL, session
    assert session["effort"] == "low", session
    assert session["sandbox"] == "read-only", session
    assert session["approval_policy"] == "never", session
    # A client's explicit choice still wins over the administrator's default.
    mine = await api.call(
        "POST", "sessions", body={"cwd": "", "sandbox": "workspace-write", "model": "gpt-5.4"}
    )
    assert mine["sandbox"] == "workspace-write" and mine["model"] == "gpt-5.4", mine
    assert mine["approval_policy"] == "never"  # not given: the default

    fake_upstream.script("ADMIN-DEFAULTS", text("defaults applied"))
    await api.call("POST", "sessions", session["id"], "messages", body={"text": "ADMIN-DEFAULTS"})
    done = await api.wait_event(session["id"], turn_completed, timeout=60)
    assert done["data"]["status"] == "completed", done
    sent = [r for r in fake_upstream.responses_requests() if "ADMIN-DEFAULTS" in json.dumps(r.body)]
    assert sent, "the turn never reached the fake upstream"
    body = sent[-1].body
    # What the real codex binary asked upstream for: the default model and effort...
    assert body["model"] == DEFAULT_MODEL, body["model"]
    assert body["reasoning"]["effort"] == "low", body.get("reasoning")
    # ...under the default sandbox and approval policy, which codex states in its prompt.
    prompt = json.dumps(body)
    assert "`sandbox_mode` is `read-only`" in prompt, "codex was not told it runs read-only"
    assert "Approval policy is currently never" in prompt


async def import_api_account(api: Api, fake: FakeUpstream) -> None:
    rt = fake.add_account("admin-api", "admin-api@example.com", refresh_token="admin-api-rt")
    auth = chatgpt_auth_json(
        "admin-api@example.com", "admin-api", rt, access_exp=int(time.time() + 3600)
    )
    account = await api.call("POST", "accounts", "import", body={"auth_json": auth})
    await api.call("PATCH", "targets", "api", body={"account_id": account["id"]})


async def test_proxy_lists_the_configured_models_and_resolves_aliases(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await import_api_account(api, fake_upstream)
    base = f"http://localhost:{jp_http_port}{jp_base_url}codex/v1"
    token = str(jp_serverapp.identity_provider.token)
    client = openai.AsyncOpenAI(base_url=base, api_key=token, max_retries=0)

    ids = [m.id async for m in client.models.list()]
    plain = [i for i in ids if ":" not in i and not i.startswith("codex-agent")]
    assert plain == PROXY_MODELS, ids  # the list, not the upstream catalogue nor built-ins
    assert "gpt-5.4:high" in ids and "gpt-5.5" not in ids, ids

    for name, upstream in [("house-model", "gpt-5.4"), ("claude-sonnet-4-5", "gpt-5.4-mini")]:
        marker = f"ALIAS-{name}"
        fake_upstream.script(marker, text(f"answer for {name}"))
        reply = await client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": marker}]
        )
        assert reply.choices[0].message.content == f"answer for {name}"
        sent = [r for r in fake_upstream.responses_requests() if marker in json.dumps(r.body)]
        assert sent and sent[-1].body["model"] == upstream, (name, sent[-1].body["model"])
    # The alias carries an effort suffix like any model name.
    fake_upstream.script("ALIAS-EFFORT", text("high effort"))
    await client.chat.completions.create(
        model="house-model:high", messages=[{"role": "user", "content": "ALIAS-EFFORT"}]
    )
    sent = [r for r in fake_upstream.responses_requests() if "ALIAS-EFFORT" in json.dumps(r.body)]
    assert sent[-1].body["model"] == "gpt-5.4" and sent[-1].body["reasoning"]["effort"] == "high"

    # A model outside the administrator's list is refused before anything goes upstream.
    before = len(fake_upstream.responses_requests())
    with pytest.raises(openai.NotFoundError) as info:
        await client.chat.completions.create(
            model="gpt-5.5", messages=[{"role": "user", "content": "not served"}]
        )
    assert info.value.code == "model_not_found"
    assert len(fake_upstream.responses_requests()) == before


# -- JupyterLab settings overrides (docs/deployment.md) ----------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
SCHEMA = Path(__file__).resolve().parents[2] / "labextension" / "schema" / "plugin.json"
PLUGIN = "jupyter-codex:plugin"


def documented_overrides() -> dict[str, Any]:
    """The overrides.json the deployment guide tells administrators to write."""
    section = DOCS.read_text().split("### JupyterLab settings overrides", 1)[1]
    block = section.split("```json\n", 1)[1].split("```", 1)[0]
    overrides: dict[str, Any] = json.loads(block)
    return overrides


def test_lab_settings_overrides_set_the_panel_defaults(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    overrides = documented_overrides()
    mine = overrides[PLUGIN]
    schema = json.loads(SCHEMA.read_text())["properties"]
    assert mine and set(mine) <= set(schema), mine
    # The snippet must change something, or the test would pass without the override.
    assert any(schema[k]["default"] != v for k, v in mine.items()), mine
    app_settings = tmp_path / "app-settings"  # stands for {sys.prefix}/share/jupyter/lab/settings
    app_settings.mkdir()
    (app_settings / "overrides.json").write_text(json.dumps(overrides))

    root = tmp_path / "root"
    root.mkdir()
    lab = JupyterServerProcess(
        root,
        tmp_path / "config",
        extension_config(fake_upstream, tmp_path / "data"),
        app="jupyterlab",
        extra_config={
            "LabApp": lab_settings(tmp_path, app_settings_dir=str(app_settings)),
            "ServerApp": {"terminals_enabled": False},
        },
    )
    with lab.start(timeout=120), lab.client() as http:
        r = http.get(f"lab/api/settings/{PLUGIN}")
        assert r.status_code == 200, r.text
        plugin = r.json()
        for key, value in mine.items():
            assert plugin["schema"]["properties"][key]["default"] == value, (key, plugin["schema"])
        untouched = set(schema) - set(mine)
        for key in untouched:
            assert plugin["schema"]["properties"][key]["default"] == schema[key]["default"], key
        # The full listing (what JupyterLab loads at start) carries the same defaults.
        listing = http.get("lab/api/settings").json()["settings"]
        listed = next(p for p in listing if p["id"] == PLUGIN)
        assert all(listed["schema"]["properties"][k]["default"] == v for k, v in mine.items())

        # A user's own setting still wins over the administrator's default.
        raw = json.dumps({"defaultModel": "gpt-5.4-mini"})
        r = http.put(f"lab/api/settings/{PLUGIN}", json={"raw": raw})
        assert r.status_code == 204, r.text
        plugin = http.get(f"lab/api/settings/{PLUGIN}").json()
        assert plugin["settings"]["defaultModel"] == "gpt-5.4-mini"
        assert plugin["schema"]["properties"]["defaultModel"]["default"] == mine["defaultModel"]
