"""Credentials and config that point the real ``codex`` binary at a :class:`FakeUpstream`.

Kept free of server code so a conftest (or the probe) can build a CODEX_HOME without
starting anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .upstream import FakeUpstream

PROVIDER_ID = "fake"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(
    email: str,
    account_id: str,
    plan: str = "pro",
    exp: int | None = None,
    user_id: str | None = None,
    jti: str | None = None,
) -> str:
    """An unsigned JWT (alg none) with the claims Codex reads; Codex never checks signatures
    of ChatGPT tokens, but it does parse header.payload.signature (all three non-empty)."""
    user = user_id or f"user-{account_id}"
    claims = {
        "email": email,
        "https://api.openai.com/profile": {"email": email},
        "https://api.openai.com/auth": {
            "chatgpt_account_id": account_id,
            "chatgpt_plan_type": plan,
            "chatgpt_user_id": user,
            "user_id": user,
        },
        "exp": int(exp if exp is not None else time.time() + 3600),
        "iat": int(time.time()),
    }
    if jti is not None:  # tokens minted in the same second still differ
        claims["jti"] = jti
    header = {"alg": "none", "typ": "JWT"}
    return ".".join(
        (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(b"signature"))
    )


def chatgpt_auth_json(
    email: str,
    account_id: str,
    refresh_token: str,
    plan: str = "pro",
    access_exp: int | None = None,
) -> dict[str, Any]:
    """The content of a managed (``chatgpt`` mode) ``auth.json``, as ``codex login`` writes."""
    jwt = make_jwt(email, account_id, plan, exp=access_exp)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": jwt,
            "access_token": jwt,
            "refresh_token": refresh_token,
            "account_id": account_id,
        },
        "last_refresh": now,
    }


def write_chatgpt_auth_json(
    codex_home: str | os.PathLike[str],
    email: str,
    account_id: str,
    refresh_token: str,
    plan: str = "pro",
    access_exp: int | None = None,
) -> Path:
    """Write a managed (``chatgpt`` mode) ``auth.json`` that Codex loads and can refresh."""
    data = chatgpt_auth_json(email, account_id, refresh_token, plan, access_exp)
    home = Path(codex_home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "auth.json"
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return path


def codex_test_config(
    fake: FakeUpstream, provider: str = PROVIDER_ID, auth: str = "chatgpt"
) -> dict[str, object]:
    """``-c`` overrides (dotted key -> value) that send every Codex call to ``fake``, fast.

    ``provider="fake"`` (default) registers a custom provider: plain HTTPS SSE, no
    WebSocket attempt, no retries, uncompressed bodies. ``provider="openai"`` keeps the
    built-in provider, as the product runs it: Codex first tries a WebSocket (the fake
    answers 426, which makes it fall back at once) and sends zstd bodies. Either way
    ``openai_base_url`` must be ``<chatgpt_base_url>/codex`` in ChatGPT mode: it is the
    built-in provider's base URL for ChatGPT auth too, and the model catalog comes from
    ``{base}/models``. ``auth="apikey"`` points both at ``/v1`` instead (API-key login).
    Features that would call other OpenAI services are switched off.
    """
    base = fake.openai_base_url if auth == "apikey" else fake.chatgpt_base_url + "/codex"
    config: dict[str, object] = {}
    if provider != "openai":
        p = f"model_providers.{provider}"
        config |= {
            f"{p}.name": "Fake upstream",
            f"{p}.base_url": base,
            f"{p}.wire_api": "responses",
            f"{p}.requires_openai_auth": True,
            f"{p}.supports_websockets": False,
            f"{p}.request_max_retries": 0,
            f"{p}.stream_max_retries": 0,
            "model_provider": provider,
        }
    return config | {
        "chatgpt_base_url": fake.chatgpt_base_url,
        "openai_base_url": base,
        "analytics.enabled": False,
        "feedback.enabled": False,
        "check_for_update_on_startup": False,
        "features.apps": False,
        "features.plugins": False,
        "features.remote_plugin": False,
        "features.plugin_sharing": False,
        "features.tool_suggest": False,
        "features.image_generation": False,
        "features.browser_use": False,
        "features.computer_use": False,
        "features.daemon_auto_start": False,
        "features.in_app_updates": False,
    }


def codex_test_env(fake: FakeUpstream) -> dict[str, str]:
    """Environment for the codex process: trust the fake's CA, refresh tokens at the fake."""
    return {
        "CODEX_CA_CERTIFICATE": fake.ca_path,
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE": fake.url + "/oauth/token",
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE": fake.url + "/oauth/revoke",
    }


def toml_value(value: Any) -> str:
    """Render a Python value as TOML for ``-c key=value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def config_args(config: dict[str, object]) -> list[str]:
    """``["-c", "key=value", …]`` for a ``codex_test_config`` dict."""
    args: list[str] = []
    for key, value in config.items():
        args += ["-c", f"{key}={toml_value(value)}"]
    return args
