"""Reading, validating and writing Codex auth.json files (no network)."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path

import pytest
from account_helpers import write_json
from fakes import make_jwt, write_chatgpt_auth_json

from jupyter_codex.accounts import (
    TokenSet,
    default_auth_json_path,
    load_auth_json,
    read_auth_json_tokens,
    write_auth_json,
)
from jupyter_codex.accounts.authjson import parse_timestamp, token_claims
from jupyter_codex.errors import AuthFileError


def b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwt(claims: dict[str, object]) -> str:
    return f"{b64({'alg': 'none'})}.{b64(claims)}.sig"


def test_a_codex_login_file_is_parsed_with_its_claims(tmp_path: Path) -> None:
    exp = int(time.time()) + 1234
    path = write_chatgpt_auth_json(tmp_path, "ada@example.com", "ws-1", "rt-1", "plus", exp)
    parsed = load_auth_json(path)
    assert parsed.mode == "chatgpt" and parsed.path == str(path)
    assert parsed.claims.email == "ada@example.com"
    assert parsed.claims.plan == "plus"
    assert parsed.claims.chatgpt_account_id == "ws-1"
    assert parsed.claims.expires_at == exp
    assert parsed.tokens is not None and parsed.tokens.refresh_token == "rt-1"
    assert parsed.tokens.last_refresh == pytest.approx(time.time(), abs=5)
    assert "rt-1" not in repr(parsed)  # tokens never show in a repr (or a log line)


def test_fallback_claims_profile_email_and_account_id_claim(tmp_path: Path) -> None:
    token = jwt(
        {
            "https://api.openai.com/profile": {"email": "p@example.com"},
            "https://api.openai.com/auth": {"chatgpt_account_id": "ws-claim"},
        }
    )
    path = write_json(
        tmp_path / "auth.json",
        {"tokens": {"access_token": token, "refresh_token": "r", "id_token": token}},
    )
    parsed = load_auth_json(path)
    assert parsed.mode == "chatgpt"  # inferred without auth_mode
    assert parsed.claims.email == "p@example.com"
    assert parsed.claims.chatgpt_account_id == "ws-claim"
    assert parsed.claims.expires_at is None and parsed.claims.plan is None


def test_tokens_account_id_wins_over_the_claim(tmp_path: Path) -> None:
    token = make_jwt("a@example.com", "ws-claim")
    tokens = {"access_token": token, "refresh_token": "r", "id_token": token, "account_id": "ws-x"}
    path = write_json(tmp_path / "auth.json", {"auth_mode": "chatgpt", "tokens": tokens})
    assert load_auth_json(path).claims.chatgpt_account_id == "ws-x"


def test_api_key_mode(tmp_path: Path) -> None:
    path = write_json(tmp_path / "auth.json", {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-abc"})
    parsed = load_auth_json(path)
    assert parsed.mode == "apikey" and parsed.api_key == "sk-abc" and parsed.tokens is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "is not valid JSON (Expecting property name enclosed in double quotes at line 1)",
        ),
        ("[1, 2]", "does not hold a JSON object, so it is not a Codex auth.json."),
        (
            {"auth_mode": "chatgpt", "OPENAI_API_KEY": None},
            "has no ChatGPT tokens (and no OPENAI_API_KEY)",
        ),
        ({}, "has no ChatGPT tokens (and no OPENAI_API_KEY)"),
        (
            {"auth_mode": "chatgptAuthTokens", "tokens": {"access_token": "x"}},
            'uses auth_mode "chatgptAuthTokens": its tokens are owned by another application',
        ),
        (
            {"auth_mode": "chatgpt", "tokens": {"access_token": "a.b", "refresh_token": "r"}},
            (
                "The access_token in {path} is not a valid JWT (expected three non-empty "
                "dot-separated parts)."
            ),
        ),
        (
            {"tokens": {"access_token": "a.%%%.c", "refresh_token": "r"}},
            "is not a valid JWT (the payload is not base64url-encoded JSON)",
        ),
        ({"tokens": {"access_token": jwt({}), "id_token": jwt({})}}, "has no refresh_token"),
        (
            {"tokens": {"access_token": jwt({}), "refresh_token": "r"}},
            "does not say which ChatGPT account it belongs to",
        ),
        ({"auth_mode": "apikey"}, 'has auth_mode "apikey" but no OPENAI_API_KEY.'),
        ({"auth_mode": "agentIdentity"}, 'uses auth_mode "agentIdentity"; only "chatgpt"'),
    ],
)
def test_unusable_files_say_what_is_wrong(tmp_path: Path, content: object, message: str) -> None:
    path = write_json(tmp_path / "auth.json", content)
    with pytest.raises(AuthFileError) as info:
        load_auth_json(path)
    assert message.format(path=path) in info.value.message
    assert str(path) in info.value.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "auth.json"
    with pytest.raises(AuthFileError) as info:
        load_auth_json(missing)
    assert info.value.message == (
        f"No Codex auth.json at {missing}. Sign in with `codex login` first, "
        "or give the path of an existing auth.json."
    )
    with pytest.raises(AuthFileError, match="is a directory"):
        load_auth_json(tmp_path)


def test_default_path_follows_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "ch"))
    assert default_auth_json_path() == tmp_path / "ch" / "auth.json"
    monkeypatch.delenv("CODEX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_auth_json_path() == tmp_path / "home" / ".codex" / "auth.json"


def test_write_is_private_atomic_and_reads_back(tmp_path: Path) -> None:
    access = make_jwt("w@example.com", "ws-w", exp=int(time.time()) + 600)
    home = tmp_path / "codex_home"
    path = write_auth_json(home, TokenSet(access, "rt-w", access, None, 1_700_000_000.25))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir()] == ["auth.json"]  # no temporary file left behind
    data = json.loads(path.read_text())
    assert data["auth_mode"] == "chatgpt" and data["OPENAI_API_KEY"] is None
    assert data["tokens"]["account_id"] == "ws-w"  # from the claim
    assert data["last_refresh"] == "2023-11-14T22:13:20.250000Z"
    back = read_auth_json_tokens(path)
    assert (back.access_token, back.refresh_token, back.account_id) == (access, "rt-w", "ws-w")
    assert back.last_refresh == 1_700_000_000.25
    # Overwriting replaces the file in one step; API-key mode as `codex login --api-key`.
    write_auth_json(home, api_key="sk-new")
    assert json.loads(path.read_text()) == {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-new"}
    with pytest.raises(AuthFileError, match="holds an API key, not ChatGPT tokens"):
        read_auth_json_tokens(path)
    with pytest.raises(ValueError, match="exactly one"):
        write_auth_json(home)


def test_timestamps_as_codex_writes_them() -> None:
    assert parse_timestamp("2026-01-02T03:04:05.123456789Z") == pytest.approx(1767323045.123456)
    assert parse_timestamp("2026-01-02T03:04:05Z") == 1767323045.0
    assert parse_timestamp("2026-01-02T03:04:05.5+01:00") == 1767319445.5
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None


def test_claims_skip_undecodable_tokens() -> None:
    good = make_jwt("c@example.com", "ws-c", "team", exp=123)
    claims = token_claims("garbage", good)
    assert claims.email == "c@example.com" and claims.plan == "team"
    assert claims.expires_at is None  # exp only from the first (access) token
