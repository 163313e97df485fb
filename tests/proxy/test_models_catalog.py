"""proxy/models_catalog.py: model-name suffixes, agent names and the /v1/models body."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from fakes import FakeUpstream, text
from helpers import Api
from proxy_helpers import openai_client, setup_accounts, token_of

from jupyter_codex.errors import InvalidRequestError
from jupyter_codex.proxy import AGENT_PREFIX, DEFAULT_MODELS, openai_model_list, parse_model
from jupyter_codex.proxy.upstream import parse_model_list


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-5.2-codex", ("gpt-5.2-codex", None, False)),
        ("gpt-5.2-codex:high", ("gpt-5.2-codex", "high", False)),
        ("gpt-5.2-codex:XHIGH", ("gpt-5.2-codex", "xhigh", False)),
        (" gpt-5.2:none ", ("gpt-5.2", "none", False)),
        ("gpt-5.2:minimal", ("gpt-5.2", "minimal", False)),
        ("codex-agent", ("", None, True)),
        ("codex-agent:low", ("", "low", True)),
        ("codex-agent/gpt-5.4:medium", ("gpt-5.4", "medium", True)),
        ("codex-agentic", ("codex-agentic", None, False)),
        ("ft:gpt-4o-mini:org:custom:abc", ("ft:gpt-4o-mini:org:custom:abc", None, False)),
    ],
)
def test_parse_model(name: str, expected: tuple[str, str | None, bool]) -> None:
    assert parse_model(name) == expected


def test_aliases_apply_to_the_name_without_suffix() -> None:
    aliases = {"claude-sonnet-4-5": "gpt-5.2-codex", "fast": "gpt-5.4-mini"}
    assert parse_model("claude-sonnet-4-5", aliases=aliases) == ("gpt-5.2-codex", None, False)
    assert parse_model("fast:low", aliases=aliases) == ("gpt-5.4-mini", "low", False)
    assert parse_model("codex-agent/fast", aliases=aliases) == ("gpt-5.4-mini", None, True)


@pytest.mark.parametrize("name", ["gpt-5.2:hihg", "gpt-5.2:", ":high", "gpt-5.2:max"])
def test_unknown_effort_suffix_is_an_error_that_lists_the_choices(name: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_model(name)
    assert ":high" in info.value.message and ":xhigh" in info.value.message


@pytest.mark.parametrize("name", ["", "   ", None, 5])
def test_missing_model(name: object) -> None:
    with pytest.raises(InvalidRequestError, match="'model' is required"):
        parse_model(name)  # type: ignore[arg-type]


def test_model_list_has_effort_variants_and_agent_models() -> None:
    body = openai_model_list(["gpt-5.2", "gpt-5.2", "gpt-5.4"], efforts=("low", "high"), created=7)
    ids = [m["id"] for m in body["data"]]
    assert ids == [
        "gpt-5.2",
        "gpt-5.2:low",
        "gpt-5.2:high",
        "gpt-5.4",
        "gpt-5.4:low",
        "gpt-5.4:high",
        AGENT_PREFIX,
        f"{AGENT_PREFIX}:low",
        f"{AGENT_PREFIX}:high",
    ]
    assert body["object"] == "list"
    assert body["data"][0] == {
        "id": "gpt-5.2",
        "object": "model",
        "created": 7,
        "owned_by": "jupyter-codex",
    }
    for model_id in ids:  # every listed id is accepted back
        parse_model(model_id)


def test_model_list_falls_back_to_the_default_catalog() -> None:
    ids = [m["id"] for m in openai_model_list([], created=0)["data"]]
    assert ids[0] == DEFAULT_MODELS[0]
    assert f"{DEFAULT_MODELS[-1]}:medium" in ids
    assert len(ids) == (len(DEFAULT_MODELS) + 1) * 4


def test_upstream_model_lists_are_parsed() -> None:
    codex = {
        "models": [
            {"slug": "gpt-9", "visibility": "list"},
            {"slug": "gpt-9-internal", "visibility": "hide"},
            {"slug": "gpt-9"},
        ]
    }
    assert parse_model_list(codex) == ["gpt-9"]
    assert parse_model_list({"models": [], "data": [{"id": "a"}, {"id": "b"}]}) == ["a", "b"]
    assert parse_model_list({"error": "nope"}) == [] and parse_model_list([]) == []


async def test_live_catalog_comes_from_the_upstream_and_is_cached(
    api: Api, fake_upstream: FakeUpstream, jp_serverapp: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await setup_accounts(api, fake_upstream, 1)
    fake_upstream.models = ["gpt-9-live", "gpt-9-live-mini"]
    client = openai_client(jp_http_port, jp_base_url, token_of(jp_serverapp))
    ids = [m.id async for m in client.models.list()]
    assert ids[:2] == ["gpt-9-live", "gpt-9-live:low"] and "gpt-9-live-mini:high" in ids
    assert "codex-agent" in ids and "gpt-5.2" not in ids
    catalog = [r for r in fake_upstream.requests if r.path.endswith("/codex/models")]
    assert catalog and catalog[-1].account_id == "acct-1"
    assert "client_version" in catalog[-1].query

    fake_upstream.script("live model", text("served by the live model"))
    reply = await client.chat.completions.create(
        model="gpt-9-live:high", messages=[{"role": "user", "content": "live model"}]
    )
    assert reply.choices[0].message.content == "served by the live model"
    body = fake_upstream.responses_requests()[-1].body
    assert body["model"] == "gpt-9-live" and body["reasoning"]["effort"] == "high"

    fake_upstream.models = ["changed"]  # cached: the next listing does not ask again
    again = [m.id async for m in client.models.list()]
    assert again == ids
    assert len([r for r in fake_upstream.requests if r.path.endswith("/codex/models")]) == len(
        catalog
    )
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
