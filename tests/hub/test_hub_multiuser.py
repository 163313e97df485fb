"""Two users on a real JupyterHub: each gets a private Codex workspace, accounts and proxy.

One hub for the whole module (docs/examples/jupyterhub_config.py, the documented local
config): DummyAuthenticator, SimpleLocalProcessSpawner, configurable-http-proxy, every
user's server running the extension against the fake upstream. Authentication is the
hub's own: hub API tokens scoped ``access:servers!user=<name>``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, hang, text
from hub_process import HubProcess
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

pytestmark = pytest.mark.timeout(300)

USERS = ("alice", "bob")


class User:
    """One hub user: server URL and a hub token scoped to their own server."""

    def __init__(self, hub: HubProcess, name: str) -> None:
        self.name = name
        self.url = hub.spawn(name)
        self.token = hub.token(name, [f"access:servers!user={name}"])

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"token {token or self.token}"},
            timeout=60,
        )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"), fake).start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def users(hub: HubProcess) -> dict[str, User]:
    return {name: User(hub, name) for name in USERS}


def import_account(client: httpx.Client, fake: FakeUpstream, n: int) -> dict[str, Any]:
    """Import a ChatGPT account and make it active on both targets."""
    account_id, email = f"hub-acct-{n}", f"hub{n}@example.com"
    rt = fake.add_account(account_id, email, refresh_token=f"hub-rt-{n}")
    body = {
        "auth_json": chatgpt_auth_json(email, account_id, rt, access_exp=int(time.time() + 3600)),
        "label": f"Hub account {n}",
    }
    r = client.post("codex/api/accounts/import", json=body)
    assert r.status_code == 201, r.text
    account: dict[str, Any] = r.json()
    for target in ("cli", "api"):
        r = client.patch(f"codex/api/targets/{target}", json={"account_id": account["id"]})
        assert r.status_code == 200, r.text
    return account


def events_socket(user: User, token: str, *, query: bool = False, session: str = "") -> Any:
    """Open ``user``'s events WebSocket with ``token`` (header or ``?token=``) through the
    hub's proxy: the HTTP status that refused the handshake, or the hello message and,
    given ``session``, the replay of that session's events."""
    url = "ws" + user.url.removeprefix("http") + "codex/api/events"
    headers = {} if query else {"Authorization": f"token {token}"}

    async def attempt() -> Any:
        request = HTTPRequest(url + (f"?token={token}" if query else ""), headers=headers)
        request.request_timeout = 30
        try:
            conn = await websocket_connect(request)
        except HTTPClientError as e:
            return e.code
        try:
            messages = [json.loads(await asyncio.wait_for(conn.read_message(), 30) or "null")]
            if session:
                await conn.write_message(json.dumps({"type": "subscribe", "session_id": session}))
                while messages[-1] and messages[-1]["type"] != "subscribed":
                    messages.append(json.loads(await asyncio.wait_for(conn.read_message(), 30)))
            return messages
        finally:
            conn.close()

    return asyncio.run(attempt())


def wait_for_reply(
    client: httpx.Client, session_id: str, timeout: float = 60, turns: int = 1
) -> list[Any]:
    deadline = time.monotonic() + timeout
    events: list[Any] = []
    while time.monotonic() < deadline:
        events = client.get(f"codex/api/sessions/{session_id}/events").json()["events"]
        if sum(e["type"] == "turn.completed" for e in events) >= turns:
            return events
        time.sleep(0.3)
    raise AssertionError(f"no turn.completed in {timeout}s: {[e['type'] for e in events]}")


def test_each_user_has_a_private_workspace_accounts_and_proxy(
    hub: HubProcess, users: dict[str, User], fake: FakeUpstream, tmp_path: Path
) -> None:
    alice, bob = users["alice"], users["bob"]
    assert alice.url.endswith("/user/alice/") and bob.url.endswith("/user/bob/")

    with alice.client() as a:
        status = a.get("codex/api/status").json()
        # Under a hub: device-code sign-in by default, the data dir in the user's home.
        assert status["hub"] is True and status["user"] == "alice"
        assert status["default_sign_in"] == "device" and status["sign_in_flows"] == ["device"]
        assert Path(status["data_dir"]).is_relative_to(hub.home("alice")), status["data_dir"]
        # The documented config's admin defaults reached the server (Spawner.args).
        assert status["limits"]["max_concurrent_turns"] == 4
        browser = a.post("codex/api/accounts/login", json={"flow": "browser"})
        assert browser.status_code == 400 and "device" in browser.json()["error"]["message"]

        account = import_account(a, fake, 1)
        fake.script("HUB-HELLO", text("Hello Alice, from the hub."))
        r = a.post("codex/api/sessions", json={"cwd": "", "title": "alice's"})
        assert r.status_code == 201, r.text
        session = r.json()
        r = a.post(f"codex/api/sessions/{session['id']}/messages", json={"text": "HUB-HELLO"})
        assert r.status_code == 202, r.text
        events = wait_for_reply(a, session["id"])
        completed = [e for e in events if e["type"] == "turn.completed"][-1]
        assert completed["data"]["status"] == "completed", completed
        assert "Hello Alice, from the hub." in str(events)
        assert [s["id"] for s in a.get("codex/api/sessions").json()["sessions"]] == [session["id"]]

    # The proxy with Alice's hub API token: as Bearer (OpenAI SDK) and as x-api-key.
    fake.script("HUB-PROXY", text("proxied for alice"))
    client = openai.OpenAI(base_url=alice.url + "codex/v1", api_key=alice.token, max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-5.2-codex", messages=[{"role": "user", "content": "HUB-PROXY"}]
    )
    assert reply.choices[0].message.content == "proxied for alice"
    assert fake.responses_requests()[-1].account_id == "hub-acct-1"
    fake.script("HUB-CLAUDE", text("claude-style for alice"))
    claude = anthropic.Anthropic(
        base_url=alice.url + "codex/claude", api_key=alice.token, max_retries=0
    )  # the Anthropic SDK sends its key as x-api-key
    message = claude.messages.create(
        model="gpt-5.2-codex", max_tokens=50, messages=[{"role": "user", "content": "HUB-CLAUDE"}]
    )
    assert message.content[0].text == "claude-style for alice"  # type: ignore[union-attr]

    # A long turn with nobody calling the server: the hub still sees it active (the
    # extension's keep-alive), so an idle culler would spare it; idle again, it stops.
    with alice.client() as a:
        fake.script("HUB-LONG", text("working ") + hang())
        r = a.post(f"codex/api/sessions/{session['id']}/messages", json={"text": "HUB-LONG"})
        assert r.status_code == 202, r.text
        fake.wait_for(lambda f: f.hanging >= 1, timeout=60)
        time.sleep(2)  # the POST's own activity reaches the hub first
        first = hub.last_activity("alice")
        time.sleep(4)  # no request to alice's server meanwhile
        during = hub.last_activity("alice")
        assert first and during and during > first, (first, during)
        fake.release()
        wait_for_reply(a, session["id"], turns=2)
        time.sleep(2)  # the last API request's activity reaches the hub
        idle = hub.last_activity("alice")
        time.sleep(3)
        assert hub.last_activity("alice") == idle

    # Bob, with his own valid hub token, can neither read nor drive Alice's server.
    sid = session["id"]
    with alice.client(token=bob.token) as intruder:
        attempts = [
            ("GET", "codex/api/status", None),
            ("GET", "codex/api/sessions", None),
            ("GET", f"codex/api/sessions/{sid}", None),
            ("GET", f"codex/api/sessions/{sid}/events", None),
            ("POST", f"codex/api/sessions/{sid}/messages", {"text": "HUB-HELLO"}),
            ("POST", f"codex/api/sessions/{sid}/stop", {"force": True}),
            ("DELETE", f"codex/api/sessions/{sid}", None),
            ("POST", "codex/api/sessions", {"cwd": ""}),
            ("GET", "codex/api/accounts", None),
            ("GET", f"codex/api/accounts/{account['id']}", None),
            ("PATCH", "codex/api/targets/api", {"account_id": None}),
            ("GET", "codex/api/approvals", None),
            ("GET", "codex/api/keys", None),
            ("POST", "codex/api/keys", {"name": "stolen"}),
            ("GET", "codex/v1/models", None),
            ("POST", "codex/v1/chat/completions", {"model": "gpt-5.2-codex", "messages": []}),
            ("POST", "codex/claude/v1/messages", {"model": "x", "max_tokens": 1, "messages": []}),
        ]
        for method, path, body in attempts:
            r = intruder.request(method, path, json=body, follow_redirects=False)
            assert r.status_code in (401, 403, 404), (method, path, r.status_code, r.text)
            assert sid not in r.text and "hub-acct" not in r.text, (method, path, r.text)
        # The live event stream: her own token opens it and replays her session (so the
        # route is right), Bob's is refused at the handshake, as header or as ?token=.
        mine = events_socket(alice, alice.token, session=sid)
        assert isinstance(mine, list) and mine[0]["type"] == "hello", mine
        assert "Hello Alice, from the hub." in json.dumps(mine), mine
        for query in (False, True):
            refused = events_socket(alice, bob.token, query=query, session=sid)
            assert refused in (401, 403), (query, refused)
        r = httpx.post(
            alice.url + "codex/claude/v1/messages",
            headers={"x-api-key": bob.token, "anthropic-version": "2023-06-01"},
            json={"model": "x", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]},
            timeout=30,
        )
        assert r.status_code in (401, 403), r.text
    with pytest.raises(openai.APIStatusError) as info:
        openai.OpenAI(
            base_url=alice.url + "codex/v1", api_key=bob.token, max_retries=0
        ).chat.completions.create(
            model="gpt-5.2-codex", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code in (401, 403)

    # Bob's own server is his: empty, and Alice's session is nowhere in it.
    with bob.client() as b:
        assert b.get("codex/api/sessions").json()["sessions"] == []
        assert b.get("codex/api/accounts").json()["accounts"] == []
        bob_status = b.get("codex/api/status").json()
        assert bob_status["user"] == "bob"
        assert Path(bob_status["data_dir"]).is_relative_to(hub.home("bob"))

    # Alice's session survived all of that untouched.
    with alice.client() as a:
        assert a.get(f"codex/api/sessions/{sid}").status_code == 200
        assert a.get("codex/api/targets/api").json()["account_id"] == account["id"]
