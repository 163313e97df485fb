"""Defaults that come from the environment.

Every setting here is also a trait somewhere (see ``app.py`` and the managers);
these functions compute the *default* of that trait, so the documented
precedence holds: config files > environment variable > built-in default.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV_DATA_DIR = "JUPYTER_CODEX_DATA_DIR"
ENV_CHATGPT_BASE_URL = "JUPYTER_CODEX_CHATGPT_BASE_URL"
ENV_OPENAI_BASE_URL = "JUPYTER_CODEX_OPENAI_BASE_URL"
ENV_AUTH_BASE_URL = "JUPYTER_CODEX_AUTH_BASE_URL"
ENV_CA_CERTIFICATE = "JUPYTER_CODEX_CA_CERTIFICATE"
ENV_CODEX_BIN = "JUPYTER_CODEX_CODEX_BIN"

DEFAULT_CHATGPT_BASE_URL = "https://chatgpt.com/backend-api"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AUTH_BASE_URL = "https://auth.openai.com"


def default_data_dir() -> str:
    """``$JUPYTER_CODEX_DATA_DIR`` or ``<jupyter_data_dir>/codex``."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return str(Path(env).expanduser())
    from jupyter_core.paths import jupyter_data_dir

    return str(Path(jupyter_data_dir()) / "codex")


def default_chatgpt_base_url() -> str:
    """ChatGPT backend (usage, ``codex/responses``, models)."""
    return os.environ.get(ENV_CHATGPT_BASE_URL) or DEFAULT_CHATGPT_BASE_URL


def default_openai_base_url() -> str:
    """OpenAI platform API, for API-key accounts."""
    return os.environ.get(ENV_OPENAI_BASE_URL) or DEFAULT_OPENAI_BASE_URL


def default_auth_base_url() -> str:
    """OAuth issuer (token refresh, device code)."""
    return os.environ.get(ENV_AUTH_BASE_URL) or DEFAULT_AUTH_BASE_URL


def default_ca_certificate() -> str:
    """Extra CA bundle for upstream TLS, or ``""`` for the system store."""
    return os.environ.get(ENV_CA_CERTIFICATE, "")


def default_codex_bin() -> str:
    """The codex executable: env override, else the one from ``openai-codex-cli-bin``."""
    env = os.environ.get(ENV_CODEX_BIN)
    if env:
        return env
    try:
        from codex_cli_bin import bundled_codex_path

        return str(bundled_codex_path())
    except ImportError:  # pragma: no cover - the wheel is a hard dependency
        return shutil.which("codex") or "codex"
