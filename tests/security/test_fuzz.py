"""Fuzz the REST and proxy bodies (hypothesis): never a 5xx, every error in the
endpoint's dialect. REST bodies come from the pydantic models' JSON schemas; proxy
bodies from the shapes of Chat Completions, Responses and Anthropic Messages.

One real Jupyter server (subprocess) for the module, against the fake upstream, with
a signed-in cli target, an api-target account, and a small session limit.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, codex_test_config
from helpers import sign_in_cli_target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategies import ANY_JSON, TRICKY_TEXT, body_for
from server_process import JupyterServerProcess, free_port

from jupyter_codex.handlers.keys import KeyCreate
from jupyter_codex.models import (
    AccountImport,
    AccountUpdate,
    ApiKeyCreate,
    ApprovalDecision,
    DeviceLoginStart,
    MessageCreate,
    SessionCreate,
    SessionUpdate,
    StopRequest,
    TargetUpdate,
)

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),  # nested strategies
]

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MISSING = "0" * 32


class Server:
    def __init__(self, process: JupyterServerProcess, session_id: str, account_id: str) -> None:
        self.process = process
        self.client = process.client()
        self.session_id = session_id
        self.account_id = account_id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("fuzz")
    root, data = base / "root", base / "data"
    (root / "proj").mkdir(parents=True)
    with FakeUpstream() as fake, pytest.MonkeyPatch.context() as env:
        # `accounts/import` without a body reads ~/.codex: give the server an empty home.
        env.setenv("HOME", str(base / "home"))
        env.setenv("CODEX_HOME", str(base / "home" / ".codex"))
        sign_in_cli_target(fake, data)
        codex = {
            "data_dir": str(data),
            "chatgpt_base_url": fake.chatgpt_base_url,
            "openai_base_url": fake.openai_base_url,
            "auth_base_url": fake.auth_base_url,
            "ca_certificate": fake.ca_path,
            "codex_config_overrides": codex_test_config(fake),
            # Browser sign-ins started by the fuzz listen here, not on Codex's 1455.
            "browser_login_port": free_port(),
        }
        extra = {"WorkspaceManager": {"max_sessions": 6, "default_approval_policy": "never"}}
        with JupyterServerProcess(root, base / "config", codex, extra_config=extra) as process:
            client = process.client()
            rt = fake.add_account("fuzz-acct", "fuzz@example.com", refresh_token="fuzz-rt")
            auth = chatgpt_auth_json("fuzz@example.com", "fuzz-acct", rt, int(time.time() + 3600))
            r = client.post("codex/api/accounts/import", json={"auth_json": auth})
            assert r.status_code == 201, r.text
            account_id = r.json()["id"]
            r = client.post("codex/api/sessions", json={"cwd": "proj"})
            assert r.status_code == 201, r.text
            yield Server(process, r.json()["id"], account_id)


@pytest.fixture
def api_target(server: Server) -> Server:
    """Re-activate the api target's account (REST fuzzing may have changed targets)."""
    r = server.client.patch(
        "codex/api/targets/api", json={"account_id": server.account_id, "strategy": "manual"}
    )
    assert r.status_code == 200, r.text
    r = server.client.patch(f"codex/api/accounts/{server.account_id}", json={"enabled": True})
    assert r.status_code == 200, r.text
    return server


def check_rest(response: httpx.Response, request: str) -> None:
    assert response.status_code < 500, (request, response.status_code, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], (request, error)
        assert isinstance(error["message"], str) and error["message"], (request, error)


#: (method, path, body model, whether some generated bodies must succeed; None: may)
REST_CASES = [
    ("POST", "codex/api/sessions", SessionCreate, True),
    ("PATCH", "codex/api/sessions/{sid}", SessionUpdate, True),
    ("POST", "codex/api/sessions/{sid}/messages", MessageCreate, True),
    ("POST", f"codex/api/sessions/{MISSING}/messages", MessageCreate, False),
    ("POST", "codex/api/sessions/{sid}/stop", StopRequest, True),
    ("POST", f"codex/api/approvals/{MISSING}", ApprovalDecision, False),
    # Without a body this imports $CODEX_HOME/auth.json: the server's terminal login.
    ("POST", "codex/api/accounts/import", AccountImport, None),
    ("POST", "codex/api/accounts/api-key", ApiKeyCreate, None),  # needs "sk-" + 17 chars
    ("PATCH", f"codex/api/accounts/{MISSING}", AccountUpdate, False),
    ("PATCH", "codex/api/targets/cli", TargetUpdate, True),
    ("POST", "codex/api/keys", KeyCreate, True),
]


@pytest.mark.parametrize(("method", "path", "model", "succeeds"), REST_CASES, ids=str)
def test_rest_bodies(
    server: Server, method: str, path: str, model: Any, succeeds: bool | None
) -> None:
    url = path.format(sid=server.session_id)
    statuses: list[int] = []

    @FUZZ
    @given(body=body_for(model))
    def run(body: bytes) -> None:
        response = server.client.request(method, url, content=body)
        statuses.append(response.status_code)
        check_rest(response, f"{method} {url} {body[:300]!r}")

    run()
    # The fuzz must get past validation too, or it tests only the parser.
    if succeeds is not None:
        assert any(s < 300 for s in statuses) == succeeds, sorted(statuses)
    assert any(400 <= s < 500 for s in statuses), sorted(statuses)


def test_sign_in_bodies(server: Server) -> None:
    """``accounts/login`` starts device-code or browser sign-ins (on the fake's OAuth
    endpoints); every flow a body started is cancelled again afterwards."""
    url = "codex/api/accounts/login"
    statuses: list[int] = []
    started: list[str] = []

    @FUZZ
    @given(body=body_for(DeviceLoginStart))
    def run(body: bytes) -> None:
        response = server.client.post(url, content=body)
        statuses.append(response.status_code)
        check_rest(response, f"POST {url} {body[:300]!r}")
        if response.status_code == 201:
            started.append(response.json()["id"])

    try:
        run()
    finally:
        for flow in started:
            r = server.client.delete(f"{url}/{flow}")
            assert r.status_code == 200 and r.json()["status"] != "pending", r.text
    assert started and any(400 <= s < 500 for s in statuses), sorted(statuses)


@given(body=ANY_JSON.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64))
@settings(FUZZ, max_examples=10)
def test_usage_refresh_bodies(server: Server, body: bytes) -> None:
    """``usage/refresh`` takes no body: whatever comes, it polls and answers the accounts."""
    response = server.client.post("codex/api/usage/refresh", content=body)
    check_rest(response, f"POST codex/api/usage/refresh {body[:300]!r}")
    assert response.status_code == 200, response.text
    ids = [a["id"] for a in response.json()["accounts"]]
    assert server.account_id in ids, ids


@given(
    after=st.one_of(st.integers(min_value=-10, max_value=2**70).map(str), TRICKY_TEXT),
    limit=st.one_of(st.integers(min_value=-10, max_value=10**9).map(str), TRICKY_TEXT),
)
@FUZZ
def test_query_arguments(server: Server, after: str, limit: str) -> None:
    for url, params in (
        (f"codex/api/sessions/{server.session_id}/events", {"after": after, "limit": limit}),
        ("codex/api/logs", {"limit": limit, "before": after, "kind": after}),
        (f"codex/api/usage/{server.account_id}/history", {"since": after, "limit": limit}),
        ("codex/api/sessions", {"archived": after}),
    ):
        check_rest(server.client.get(url, params=params), f"GET {url} {params}")


# -- proxy -------------------------------------------------------------------------------

MODELS = st.sampled_from(["gpt-5.2-codex", "gpt-5.2-codex:high", "gpt-5.2-codex:hihg", ""]) | (
    st.text(max_size=20)
)
ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", "function"]) | (
    st.text(max_size=8)
)
TEXT = st.text(max_size=30) | TRICKY_TEXT
CONTENT = st.one_of(
    TEXT,
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image_url", "input_text", "image", "tool_result"])},
            optional={"text": TEXT, "image_url": ANY_JSON, "source": ANY_JSON},
        ),
        max_size=3,
    ),
    ANY_JSON,
)
TOOLS = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["function", "custom", "web_search"]) | st.text(max_size=5)},
        optional={
            "function": st.fixed_dictionaries(
                {"name": TEXT}, optional={"parameters": ANY_JSON, "description": TEXT}
            ),
            "name": TEXT,
            "input_schema": ANY_JSON,
            "parameters": ANY_JSON,
        },
    ),
    max_size=2,
)
COMMON = {
    "stream": st.booleans() | ANY_JSON,
    "tools": TOOLS | ANY_JSON,
    "tool_choice": st.sampled_from(["auto", "none", "required"]) | ANY_JSON,
    "temperature": st.floats(allow_nan=False, allow_infinity=False) | ANY_JSON,
    "max_tokens": st.integers(min_value=-1, max_value=10**6) | ANY_JSON,
    "metadata": ANY_JSON,
}
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES, "content": CONTENT},
    optional={"tool_calls": ANY_JSON, "tool_call_id": TEXT, "name": TEXT},
)
CHAT = st.fixed_dictionaries(
    {"model": MODELS, "messages": st.lists(MESSAGE, max_size=3) | ANY_JSON},
    optional={**COMMON, "stream_options": ANY_JSON, "response_format": ANY_JSON, "n": ANY_JSON},
)
RESPONSES = st.fixed_dictionaries(
    {"model": MODELS, "input": TEXT | st.lists(MESSAGE, max_size=3) | ANY_JSON},
    optional={**COMMON, "instructions": TEXT | ANY_JSON, "previous_response_id": TEXT},
)
ANTHROPIC = st.fixed_dictionaries(
    {"model": MODELS, "max_tokens": st.integers(min_value=-1, max_value=4096) | ANY_JSON},
    optional={
        **{k: v for k, v in COMMON.items() if k != "max_tokens"},
        "messages": st.lists(MESSAGE, max_size=3) | ANY_JSON,
        "system": TEXT | ANY_JSON,
        "thinking": ANY_JSON,
    },
)


def as_body(strategy: Any, valid: Any) -> Any:
    """Mostly the dialect's shape with junk in places; some valid requests; some garbage."""
    return st.one_of(
        valid.map(lambda v: json.dumps(v).encode()),
        strategy.map(lambda v: json.dumps(v).encode()),
        strategy.map(lambda v: json.dumps(v).encode()),
        ANY_JSON.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
    )


def check_openai(response: httpx.Response, request: str) -> None:
    assert response.status_code < 500, (request, response.status_code, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"], (request, error)
        assert isinstance(error["type"], str), (request, error)


def check_anthropic(response: httpx.Response, request: str) -> None:
    assert response.status_code < 500, (request, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] == "error", (request, body)
        assert body["error"]["type"] and body["error"]["message"], (request, body)


USER_TURN = st.fixed_dictionaries({"role": st.just("user"), "content": TEXT.filter(str.strip)})
VALID_CHAT = st.fixed_dictionaries(
    {"model": st.just("gpt-5.2-codex"), "messages": st.lists(USER_TURN, min_size=1, max_size=2)},
    optional={"stream": st.booleans(), "temperature": st.floats(0, 2)},
)
VALID_RESPONSES = st.fixed_dictionaries(
    {"model": st.just("gpt-5.2-codex"), "input": TEXT.filter(str.strip)},
    optional={"stream": st.booleans(), "instructions": TEXT},
)
VALID_ANTHROPIC = st.fixed_dictionaries(
    {
        "model": st.just("gpt-5.2-codex"),
        "max_tokens": st.integers(1, 4096),
        "messages": st.lists(USER_TURN, min_size=1, max_size=1),
    },
    optional={"stream": st.booleans(), "system": TEXT},
)
PROXY_CASES = [
    ("codex/v1/chat/completions", CHAT, VALID_CHAT, check_openai),
    ("codex/v1/responses", RESPONSES, VALID_RESPONSES, check_openai),
    ("codex/claude/v1/messages", ANTHROPIC, VALID_ANTHROPIC, check_anthropic),
    ("codex/claude/v1/messages/count_tokens", ANTHROPIC, VALID_ANTHROPIC, check_anthropic),
]


@pytest.mark.parametrize(
    ("path", "strategy", "valid", "check"), PROXY_CASES, ids=lambda v: str(v)[:40]
)
def test_proxy_bodies(api_target: Server, path: str, strategy: Any, valid: Any, check: Any) -> None:
    client = api_target.client
    statuses: list[int] = []

    @FUZZ
    @given(body=as_body(strategy, valid))
    def run(body: bytes) -> None:
        response = client.post(path, content=body, headers={"anthropic-version": "2023-06-01"})
        statuses.append(response.status_code)
        check(response, f"POST {path} {body[:300]!r}")

    run()
    # Some bodies reach the (fake) upstream and come back 200, some are refused.
    assert 200 in statuses and any(400 <= s < 500 for s in statuses), sorted(statuses)


def test_oversized_bodies_get_413_in_each_dialect(api_target: Server) -> None:
    big = json.dumps({"model": "gpt-5.2-codex", "input": "x" * (33 * 1024 * 1024)})
    client = api_target.client
    r = client.post("codex/v1/responses", content=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text
    r = client.post("codex/claude/v1/messages", content=big)
    assert r.status_code == 413 and r.json()["type"] == "error", r.text
    r = client.post("codex/api/sessions", content=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text


# -- hostile bodies on every documented route -----------------------------------------

DOCS = [Path(__file__).resolve().parents[2] / "docs" / name for name in ("rest-api.md", "proxy.md")]
#: The proxy's routes (the public contract in the README).
PROXY_ROUTES = [
    ("GET", "codex/v1/models"),
    ("POST", "codex/v1/chat/completions"),
    ("POST", "codex/v1/responses"),
    ("POST", "codex/claude/v1/messages"),
    ("POST", "codex/claude/v1/messages/count_tokens"),
]


def documented_routes() -> list[tuple[str, str]]:
    """Every ``METHOD codex/...`` route docs/rest-api.md and docs/proxy.md document, plus
    the proxy's own."""
    text = "\n".join(doc.read_text() for doc in DOCS)
    found = re.findall(r"`(GET|POST|PATCH|PUT|DELETE) (codex/[^`\[?\s]+)", text)
    return sorted(set(found)) + PROXY_ROUTES


def concrete(method: str, path: str, session_id: str) -> str:
    """A documented path with its parameters filled in. Only harmless calls get the real
    session; deletes and other ids get one that does not exist."""
    path = path.replace("{api\\|cli}", "cli").replace("{name}", "cli")
    if method != "DELETE":
        path = re.sub(r"(sessions/)\{id\}", rf"\g<1>{session_id}", path)
    return re.sub(r"\{[^}]+\}", MISSING, path)


def _nested(depth: int, shape: str) -> str:
    if shape == "array":
        return "[" * depth + "]" * depth
    if shape == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"a":[' * (depth // 2) + "0" + "]}" * (depth // 2)


ODD_TEXT = st.sampled_from(
    [
        "\ud800",  # a lone surrogate
        "\udfff\ud800",
        "\u0000",
        "\u202e\u2066evil\u2069",  # bidi overrides
        "\ufeff\u200b\u200d",  # BOM, zero-width
        "e\u0301\u0301\u0301",  # combining marks
        "\U0001f9ea" * 300,
        "../" * 2000,
        "a" * 5000,  # the 5,000-character cwd
        "/" + "b" * 255 + "/" + "c" * 300,
        "\\\\?\\C:\\",
        "%2e%2e%2f",
    ]
)
FIELDS = [
    "cwd",
    "text",
    "title",
    "model",
    "decision",
    "label",
    "path",
    "api_key",
    "name",
    "messages",
    "input",
    "system",
    "tools",
    "account_id",
    "strategy",
    "auth_json",
]


def _with_every_field(value: Any) -> bytes:
    return json.dumps({field: value for field in FIELDS}).encode()


HOSTILE = st.one_of(
    # deep nesting, from just over the limit to far beyond any parser's recursion
    st.builds(
        lambda depth, shape, wrap: (
            f'{{"text": {_nested(depth, shape)}}}' if wrap else _nested(depth, shape)
        ).encode(),
        st.integers(129, 200_000),
        st.sampled_from(["array", "object", "mixed"]),
        st.booleans(),
    ),
    # huge strings in every field a route may read
    st.builds(
        lambda n, c: _with_every_field(c * n),
        st.integers(10_000, 1_500_000),
        st.sampled_from(["x", "\u00e9", "\U0001f600", "\x00", "/"]),
    ),
    # odd unicode (json.dumps writes lone surrogates as escapes, as any client could)
    ODD_TEXT.map(lambda t: json.dumps({"cwd": t, "text": t, "title": t, "path": t}).encode()),
    # wrong types everywhere
    ANY_JSON.map(_with_every_field),
    ANY_JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=256),
)


def checker(path: str) -> Any:
    if path.startswith("codex/claude/"):
        return check_anthropic
    return check_openai if path.startswith("codex/v1/") else check_rest


def test_every_documented_route_is_listed() -> None:
    routes = documented_routes()
    assert len(routes) >= 30, routes
    assert ("POST", "codex/api/sessions") in routes and ("POST", "codex/v1/responses") in routes


@pytest.mark.parametrize(("method", "path"), documented_routes(), ids=" ".join)
def test_hostile_bodies_on_every_documented_route(
    api_target: Server, method: str, path: str
) -> None:
    """Deep nesting, huge strings, odd unicode, wrong types: never a 5xx, always the
    route's error dialect, and each answered promptly."""
    url = concrete(method, path, api_target.session_id)
    check = checker(path)

    @settings(FUZZ, max_examples=8)
    @given(body=HOSTILE)
    def run(body: bytes) -> None:
        started = time.monotonic()
        response = api_target.client.request(
            method, url, content=body, headers={"anthropic-version": "2023-06-01"}
        )
        check(response, f"{method} {url} {body[:200]!r}… ({len(body)} bytes)")
        assert time.monotonic() - started < 15, (method, url, len(body))

    run()


@given(
    segment=st.text(min_size=1, max_size=40) | ODD_TEXT | st.just("x" * 5000),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    prefix=st.sampled_from(["codex/api/sessions/", "codex/api/", "codex/api/approvals/"]),
)
@settings(FUZZ, max_examples=40)
def test_odd_url_paths_never_give_a_5xx(
    server: Server, segment: str, method: str, prefix: str
) -> None:
    url = prefix + quote(segment.encode("utf-8", "surrogatepass"), safe="")
    response = server.client.request(method, url, content=b"{}")
    assert response.status_code < 500, (method, url[:200], response.status_code)
    if response.status_code >= 400 and response.status_code != 414:
        assert response.json()["error"]["message"], response.text


def test_deep_body_and_long_cwd_are_400_not_500(server: Server) -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, ('{"cwd": [' * 5000 + "]}" * 5000).encode()):
        r = server.client.post("codex/api/sessions", content=body)
        assert r.status_code == 400 and "levels deep" in r.json()["error"]["message"], r.text
    r = server.client.post("codex/api/sessions", json={"cwd": "a" * 5000})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", r.text
    r = server.client.post("codex/api/sessions", json={"cwd": "d/" * 100 + "e" * 300})
    assert r.status_code == 400, r.text


def test_the_server_survived(server: Server, tmp_path: Path) -> None:
    """After all of it: status answers and the seeded session still works."""
    status = server.client.get("codex/api/status").json()
    assert status["sessions"]["total"] >= 1
    r = server.client.get(f"codex/api/sessions/{server.session_id}")
    assert r.status_code == 200, r.text
