"""Model names the proxy accepts and lists.

Many clients can only pick a model *name*, so the reasoning effort rides on it
as a suffix: ``gpt-5.2-codex:high``. Names starting with ``codex-agent`` select
agent mode (the request runs as a full Codex agent turn instead of a bare model
call)::

    codex-agent                 agent, codex's configured model and effort
    codex-agent:high            agent, configured model, effort high
    codex-agent/gpt-5.2:low     agent on gpt-5.2, effort low
    gpt-5.2-codex:xhigh         plain model call, effort xhigh

For a bare ``codex-agent`` the upstream model is ``""``: the agent's own default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import InvalidRequestError

AGENT_PREFIX = "codex-agent"

#: Reasoning efforts the Responses API knows, lowest first.
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

#: Fallback catalog when the upstream model list is unavailable or empty.
DEFAULT_MODELS: list[str] = [
    "gpt-5.5",
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.3-codex",
    "gpt-5.2-codex",
    "gpt-5.2",
    "gpt-5.1-codex-max",
]


def parse_model(
    name: str, *, aliases: dict[str, str] | None = None
) -> tuple[str, str | None, bool]:
    """``name`` -> (upstream model, effort from the ``:effort`` suffix or None, is_agent).

    Aliases apply to the name without its suffix. Fine-tuned ids (``ft:...``)
    keep their colons. An unknown suffix is an error rather than a silent
    fallback, so a typo like ``:hihg`` does not quietly run at the default effort.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("'model' is required: a model id such as 'gpt-5.2-codex'.")
    name = name.strip()
    base, effort = name, None
    if ":" in name and not name.startswith("ft:"):
        base, _, suffix = name.rpartition(":")
        effort = suffix.lower()
        if effort not in EFFORTS or not base:
            raise InvalidRequestError(
                f"Unknown effort suffix ':{suffix}' in model '{name}'; "
                f"use one of: {', '.join(':' + e for e in EFFORTS)}."
            )
    is_agent = base == AGENT_PREFIX or base.startswith(AGENT_PREFIX + "/")
    if is_agent:
        base = base[len(AGENT_PREFIX) + 1 :]
    if aliases and base in aliases:
        base = aliases[base]
    return base, effort, is_agent


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        if isinstance(name, str) and name and name not in seen:
            seen[name] = None
    return list(seen)


def openai_model_list(
    upstream_models: list[str],
    *,
    efforts: tuple[str, ...] | list[str] = ("low", "medium", "high"),
    created: int,
) -> dict[str, Any]:
    """``GET /v1/models`` body: each model, its ``:effort`` variants, then the agent models."""
    models = _unique(upstream_models) or list(DEFAULT_MODELS)
    ids: list[str] = []
    for model in [*models, AGENT_PREFIX]:
        ids.append(model)
        ids.extend(f"{model}:{effort}" for effort in efforts)
    return {
        "object": "list",
        "data": [
            {"id": i, "object": "model", "created": created, "owned_by": "jupyter-codex"}
            for i in ids
        ],
        # codex (a custom provider on this proxy) reads ``models`` (its own ModelInfo
        # list): empty keeps its bundled presets instead of a "failed to decode" per refresh.
        "models": [],
    }
