"""Codex ``auth.json`` files and the JWT claims inside them.

We read auth.json to import an account someone signed in with ``codex login``,
write one into the cli target's ``CODEX_HOME`` so a terminal ``codex`` works,
and read that file back to adopt tokens the terminal ``codex`` rotated.

JWTs are decoded **without** verifying signatures, as Codex does: the claims
only label the account (email, plan, workspace id, expiry); the backend is the
one that checks the token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import AuthFileError

AUTH_CLAIMS = "https://api.openai.com/auth"
PROFILE_CLAIMS = "https://api.openai.com/profile"


@dataclass(frozen=True)
class TokenClaims:
    """What we read from a ChatGPT JWT."""

    email: str | None = None
    plan: str | None = None
    chatgpt_account_id: str | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class TokenSet:
    """A ChatGPT OAuth token triple, as sign-in or an auth.json yields it."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    id_token: str = field(default="", repr=False)
    #: ``tokens.account_id`` of an auth.json (wins over the JWT claim after a workspace switch).
    account_id: str | None = None
    last_refresh: float | None = None


@dataclass(frozen=True)
class AuthJson:
    """A parsed auth.json: ChatGPT tokens plus their claims, or an API key."""

    path: str
    mode: Literal["chatgpt", "apikey"]
    tokens: TokenSet | None = None
    api_key: str | None = field(default=None, repr=False)
    claims: TokenClaims = field(default_factory=TokenClaims)


class JwtError(ValueError):
    """A string is not a JWT with a base64url JSON payload (message holds no token)."""


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The payload of ``header.payload.signature`` (all three non-empty), unverified."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts):
        raise JwtError("expected three non-empty dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        raise JwtError("the payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise JwtError("the payload is not a JSON object")
    return claims


def token_claims(*tokens: str) -> TokenClaims:
    """Merge the claims of several JWTs (earlier ones win); undecodable ones are skipped.

    ``exp`` is taken from the first token only: pass the access token first.
    """
    email = plan = account = None
    exp: float | None = None
    for index, token in enumerate(tokens):
        if not token:
            continue
        try:
            claims = decode_jwt_claims(token)
        except JwtError:
            continue
        auth = claims.get(AUTH_CLAIMS)
        auth = auth if isinstance(auth, dict) else {}
        profile = claims.get(PROFILE_CLAIMS)
        profile = profile if isinstance(profile, dict) else {}
        email = email or _str(claims.get("email")) or _str(profile.get("email"))
        plan = plan or _str(auth.get("chatgpt_plan_type"))
        account = account or _str(auth.get("chatgpt_account_id"))
        if index == 0 and isinstance(claims.get("exp"), (int, float)):
            exp = float(claims["exp"])
    return TokenClaims(email, plan, account, exp)


#: The user's own CODEX_HOME as it was before the server pointed ``CODEX_HOME`` at its
#: managed terminal home (set by ``targets.TerminalHome.export``; terminals inherit it).
USER_CODEX_HOME_ENV = "JUPYTER_CODEX_USER_CODEX_HOME"
#: The managed home the server exported as ``CODEX_HOME`` (to tell it from the user's).
MANAGED_CODEX_HOME_ENV = "JUPYTER_CODEX_MANAGED_CODEX_HOME"


def user_codex_home() -> Path:
    """The user's real Codex home: ``$CODEX_HOME``, else ``~/.codex``; where
    ``CODEX_HOME`` is the server's managed terminal home (in the server and its
    terminals), the one the server found at start instead."""
    home = os.environ.get("CODEX_HOME")
    if home and home == os.environ.get(MANAGED_CODEX_HOME_ENV):  # the server's, not theirs
        home = os.environ.get(USER_CODEX_HOME_ENV)
    return Path(home).expanduser() if home else Path.home() / ".codex"


def default_auth_json_path() -> Path:
    """The user's ``codex login``: ``auth.json`` in :func:`user_codex_home`."""
    return user_codex_home() / "auth.json"


def load_auth_json(path: str | os.PathLike[str] | None = None) -> AuthJson:
    """Read and validate an auth.json; every problem is an :class:`AuthFileError`."""
    file = Path(path).expanduser() if path else default_auth_json_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthFileError(
            f"No Codex auth.json at {file}. Sign in with `codex login` first, "
            "or give the path of an existing auth.json."
        ) from None
    except IsADirectoryError:
        raise AuthFileError(
            f"{file} is a directory; give the path of the auth.json file."
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise AuthFileError(f"Cannot read {file}: {reason}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise AuthFileError(
            f"{file} is not valid JSON ({e.msg} at line {e.lineno}); is it really a Codex auth.json?"
        ) from None
    return parse_auth_json(data, str(file))


def parse_auth_json(data: Any, source: str = "auth.json") -> AuthJson:
    """Validate the parsed JSON of an auth.json (``source`` names it in messages)."""
    if not isinstance(data, dict):
        raise AuthFileError(
            f"{source} does not hold a JSON object, so it is not a Codex auth.json."
        )
    mode = data.get("auth_mode")
    if mode == "chatgptAuthTokens":
        raise AuthFileError(
            f'{source} uses auth_mode "chatgptAuthTokens": its tokens are owned by another '
            "application and it has no refresh token to import. Sign in with `codex login` "
            "and import that auth.json instead."
        )
    api_key = data.get("OPENAI_API_KEY")
    tokens = data.get("tokens")
    if mode is None:
        mode = "apikey" if isinstance(api_key, str) and api_key else "chatgpt"
    if mode == "apikey":
        if not isinstance(api_key, str) or not api_key.strip():
            raise AuthFileError(f'{source} has auth_mode "apikey" but no OPENAI_API_KEY.')
        return AuthJson(source, "apikey", api_key=api_key.strip())
    if mode != "chatgpt":
        raise AuthFileError(
            f'{source} uses auth_mode "{mode}"; only "chatgpt" (a `codex login` sign-in) and '
            '"apikey" logins can be imported.'
        )
    if not isinstance(tokens, dict) or not tokens:
        raise AuthFileError(
            f"{source} has no ChatGPT tokens (and no OPENAI_API_KEY). Sign in with `codex login` "
            "first, then import the file it writes."
        )
    access, refresh, id_token = (
        _str(tokens.get(k)) for k in ("access_token", "refresh_token", "id_token")
    )
    if not access or not refresh:
        missing = "access_token" if not access else "refresh_token"
        raise AuthFileError(
            f"{source} has no {missing} in its tokens. Sign in again with `codex login`."
        )
    for name, token in (("access_token", access), ("id_token", id_token)):
        if token is None:
            continue
        try:
            decode_jwt_claims(token)
        except JwtError as e:
            raise AuthFileError(
                f"The {name} in {source} is not a valid JWT ({e}). The file may be damaged; "
                "sign in again with `codex login`."
            ) from None
    claims = token_claims(access, id_token or "")
    # The id token is the one Codex reads the email and plan from; prefer its claims.
    if id_token:
        from_id = token_claims(id_token)
        claims = TokenClaims(
            from_id.email or claims.email,
            from_id.plan or claims.plan,
            claims.chatgpt_account_id or from_id.chatgpt_account_id,
            claims.expires_at,
        )
    account_id = _str(tokens.get("account_id")) or claims.chatgpt_account_id
    if not account_id:
        raise AuthFileError(
            f"{source} does not say which ChatGPT account it belongs to (no tokens.account_id "
            "and no chatgpt_account_id claim). Sign in again with `codex login`."
        )
    claims = TokenClaims(claims.email, claims.plan, account_id, claims.expires_at)
    token_set = TokenSet(
        access, refresh, id_token or "", account_id, parse_timestamp(data.get("last_refresh"))
    )
    return AuthJson(source, "chatgpt", tokens=token_set, claims=claims)


def read_auth_json_tokens(path: str | os.PathLike[str]) -> TokenSet:
    """The ChatGPT tokens of an auth.json (e.g. after a terminal ``codex`` refreshed them)."""
    parsed = load_auth_json(path)
    if parsed.tokens is None:
        raise AuthFileError(f"{parsed.path} holds an API key, not ChatGPT tokens.")
    return parsed.tokens


def write_auth_json(
    codex_home: str | os.PathLike[str],
    tokens: TokenSet | None = None,
    *,
    api_key: str | None = None,
) -> Path:
    """Write ``<codex_home>/auth.json`` the way ``codex login`` does, atomically and 0600.

    Exactly one of ``tokens`` (ChatGPT mode) and ``api_key`` must be given. The file
    is written to a private temporary file first and renamed over the old one, so a
    ``codex`` reading it concurrently never sees half a file.
    """
    if (tokens is None) == (api_key is None):
        raise ValueError("give exactly one of tokens and api_key")
    data: dict[str, Any]
    if tokens is not None:
        account_id = tokens.account_id or token_claims(tokens.access_token).chatgpt_account_id
        data = {
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": None,
            "tokens": {
                "id_token": tokens.id_token or tokens.access_token,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "account_id": account_id,
            },
            "last_refresh": format_timestamp(tokens.last_refresh),
        }
    else:
        data = {"auth_mode": "apikey", "OPENAI_API_KEY": api_key}
    home = Path(codex_home)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = home / "auth.json"
    fd, tmp = tempfile.mkstemp(prefix=".auth.json.", dir=home)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# -- timestamps (RFC 3339, as Codex writes them: nanoseconds and a trailing Z) ------------

_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(value: Any) -> float | None:
    """Seconds since the epoch from an RFC 3339 string; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def format_timestamp(value: float | None) -> str:
    """``2026-01-02T03:04:05.123456Z`` for ``value`` (now when None)."""
    moment = (
        dt.datetime.now(dt.timezone.utc)
        if value is None
        else dt.datetime.fromtimestamp(value, dt.timezone.utc)
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = [
    "AuthJson",
    "JwtError",
    "TokenClaims",
    "TokenSet",
    "decode_jwt_claims",
    "default_auth_json_path",
    "format_timestamp",
    "load_auth_json",
    "parse_auth_json",
    "parse_timestamp",
    "read_auth_json_tokens",
    "token_claims",
    "write_auth_json",
]
