"""Accounts: stored sign-ins and API keys, token refresh, sign-in flows, auth.json I/O."""

from .authjson import (
    AuthJson,
    TokenClaims,
    TokenSet,
    decode_jwt_claims,
    default_auth_json_path,
    load_auth_json,
    parse_auth_json,
    read_auth_json_tokens,
    token_claims,
    write_auth_json,
)
from .credentials import AccountSource, Credentials
from .manager import AccountListener, AccountManager
from .oauth import DeviceCodeLogin, DeviceCodePrompt, OAuthClient, new_state, pkce_pair
from .tokens import CLIENT_ID, TokenRefresher, needs_refresh

__all__ = [
    "CLIENT_ID",
    "AccountListener",
    "AccountManager",
    "AccountSource",
    "AuthJson",
    "Credentials",
    "DeviceCodeLogin",
    "DeviceCodePrompt",
    "OAuthClient",
    "TokenClaims",
    "TokenRefresher",
    "TokenSet",
    "decode_jwt_claims",
    "default_auth_json_path",
    "load_auth_json",
    "needs_refresh",
    "new_state",
    "parse_auth_json",
    "pkce_pair",
    "read_auth_json_tokens",
    "token_claims",
    "write_auth_json",
]
