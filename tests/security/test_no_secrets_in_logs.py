"""No secret in any log line: a full flow at DEBUG level, then grep everything logged.

The flow touches every secret the product holds: a cli-target login (auth.json), an
imported ChatGPT account whose access token is about to expire (so the router refreshes
it and the fake rotates both tokens), an API key, a proxy client key, proxy requests
with each, and a workspace turn. Then the server log, the system log (REST) and the
proxy request log are searched for every token, key and key file.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import openai
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, codex_test_config, text, write_chatgpt_auth_json
from server_process import JupyterServerProcess

pytestmark = pytest.mark.timeout(300)


def jwt_parts(token: str) -> list[str]:
    """A JWT's payload and signature (its header is the same for every token)."""
    parts = token.split(".")
    return [p for p in parts[1:] if len(p) >= 16] if len(parts) == 3 else []


def test_a_full_flow_logs_no_secret(tmp_path: Path) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    (root / "proj").mkdir(parents=True)
    secrets_seen: dict[str, str] = {}
    with FakeUpstream() as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(tmp_path / "home"))
        cli_rt = "rt-cli-" + secrets.token_hex(16)
        fake.add_account("acct-cli", "cli@example.com", refresh_token=cli_rt)
        write_chatgpt_auth_json(
            data / "targets" / "cli" / "codex_home", "cli@example.com", "acct-cli", cli_rt
        )
        secrets_seen["cli refresh token"] = cli_rt
        codex = {
            "data_dir": str(data),
            "chatgpt_base_url": fake.chatgpt_base_url,
            "openai_base_url": fake.openai_base_url,
            "auth_base_url": fake.auth_base_url,
            "ca_certificate": fake.ca_path,
            "codex_config_overrides": codex_test_config(fake),
        }
        debug = {"ServerApp": {"log_level": "DEBUG"}, "Application": {"log_level": "DEBUG"}}
        server = JupyterServerProcess(root, tmp_path / "config", codex, extra_config=debug)
        with server, server.client() as client:
            # An imported account whose access token expires within the refresh margin.
            rt = "rt-imported-" + secrets.token_hex(16)
            fake.add_account("acct-imp", "imp@example.com", refresh_token=rt)
            auth = chatgpt_auth_json(
                "imp@example.com", "acct-imp", rt, access_exp=int(time.time() + 60)
            )
            secrets_seen["imported refresh token"] = rt
            secrets_seen["imported access token"] = auth["tokens"]["access_token"]
            r = client.post("codex/api/accounts/import", json={"auth_json": auth, "label": "imp"})
            assert r.status_code == 201, r.text
            imported = r.json()["id"]
            api_key = "sk-proj-" + secrets.token_hex(24)
            secrets_seen["API key"] = api_key
            r = client.post("codex/api/accounts/api-key", json={"api_key": api_key})
            assert r.status_code == 201 and api_key not in r.text, r.text
            key_account = r.json()["id"]
            r = client.post("codex/api/keys", json={"name": "ci"})
            assert r.status_code == 201, r.text
            client_key = r.json()["key"]
            secrets_seen["proxy client key"] = client_key

            # Proxy requests: a client key, then the API-key account, then a bad key.
            assert client.patch("codex/api/targets/api", json={"account_id": imported}).is_success
            fake.script("SECRET-FLOW", text("fine"))
            sdk = openai.OpenAI(
                base_url=server.url + "/codex/v1", api_key=client_key, max_retries=0
            )
            reply = sdk.chat.completions.create(
                model="gpt-5.2-codex", messages=[{"role": "user", "content": "SECRET-FLOW"}]
            )
            assert reply.choices[0].message.content == "fine"
            assert fake.token_calls >= 1  # the expiring token was refreshed (rotated)
            assert client.patch(
                "codex/api/targets/api", json={"account_id": key_account}
            ).is_success
            sdk.responses.create(model="gpt-5.2-codex", input="SECRET-FLOW again")
            with pytest.raises(openai.AuthenticationError):
                openai.OpenAI(
                    base_url=server.url + "/codex/v1", api_key=client_key + "x", max_retries=0
                ).models.list()

            # The same key in every place a client might put it: the query string
            # (as ?token=, as Jupyter accepts its own), x-api-key, a bad variant of each.
            headers_only = {"Authorization": "", "x-api-key": ""}
            with httpx.Client(base_url=server.url, timeout=30) as anonymous:
                for key in (client_key, client_key + "x"):
                    for query in ("token", "api_key", "key", "access_token"):
                        anonymous.get(f"codex/v1/models?{query}={key}")
                        anonymous.post(
                            f"codex/v1/chat/completions?{query}={key}",
                            json={"model": "gpt-5.2-codex", "messages": "bad"},
                        )
                        anonymous.get(f"codex/api/status?{query}={key}")
                        anonymous.get(f"codex/api/nowhere?{query}={key}")
                        anonymous.get(f"codex/api/sessions/{'x' * 65}?{query}={key}")
                    # Signed in (the Jupyter token in the header) with the key in the
                    # query too: errors that Tornado logs with the request line.
                    client.get(f"codex/api/nowhere?token={key}")
                    client.post(f"codex/api/sessions?token={key}", content=b"[" * 300)
                    client.get(f"codex/api/sessions/{'0' * 32}?token={key}")
                    client.get(f"codex/api/approvals/{'0' * 32}?token={key}")
                    client.get(f"codex/api/sessions/{'0' * 32}/events?after=x&token={key}")
                    client.get(f"codex/v1/nowhere?token={key}")
                    client.get(f"codex/api/events?token={key}")
                    anonymous.get("codex/v1/models", headers={"x-api-key": key})
                    anonymous.post(
                        "codex/claude/v1/messages",
                        headers={"x-api-key": key, **{k: v for k, v in headers_only.items() if v}},
                        content=b"{" * 10,
                    )

            # A workspace turn on the cli target.
            r = client.post("codex/api/sessions", json={"cwd": "proj"})
            sid = r.json()["id"]
            client.post(f"codex/api/sessions/{sid}/messages", json={"text": "SECRET-FLOW turn"})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                events = client.get(f"codex/api/sessions/{sid}/events").json()["events"]
                if any(e["type"] == "turn.completed" for e in events):
                    break
                time.sleep(0.3)
            else:
                raise AssertionError("the turn did not complete")
            client.post("codex/api/usage/refresh")
            answers = [
                client.get("codex/api/logs", params={"limit": 1000}).text,
                client.get("codex/api/proxy/requests").text,
                client.get("codex/api/accounts").text,
                client.get("codex/api/status").text,
                client.get("codex/api/settings").text,
            ]

        for n, request in enumerate(fake.requests):
            if request.bearer:
                secrets_seen[f"bearer sent upstream #{n}"] = request.bearer
        for account in ("acct-cli", "acct-imp"):
            live = fake.live_refresh_token(account)
            if live:
                secrets_seen[f"rotated refresh token of {account}"] = live
        secrets_seen["encryption key"] = (data / "secret.key").read_text().strip()
        secrets_seen["proxy key secret"] = (data / "proxy_keys.secret").read_text().strip()

    log = server.log_path.read_text(errors="replace")
    assert "[D " in log and "jupyter-codex" in log, "the server did not log at DEBUG"
    assert len(log.splitlines()) > 100
    haystacks = {"server log": log, **{f"REST answer {i}": a for i, a in enumerate(answers)}}
    needles: dict[str, str] = {}
    for name, value in secrets_seen.items():
        needles[name] = value
        for i, part in enumerate(jwt_parts(value)):
            needles[f"{name} (JWT part {i + 1})"] = part
    assert len(needles) >= 10, needles.keys()
    for where, haystack in haystacks.items():
        for name, needle in needles.items():
            assert len(needle) >= 16, name
            if needle in haystack:
                line = next(ln for ln in haystack.splitlines() if needle in ln)
                raise AssertionError(f"{name} appears in the {where}: {line[:300]}")
