"""A client request once translated: what the service prepares and an exchange runs.

Its own module so that :mod:`.exchange` (which runs one) and :mod:`.service`
(which makes one) do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .agent import AgentRequest

__all__ = ["Dialect", "Prepared"]

Dialect = Literal["chat", "anthropic", "responses"]


@dataclass
class Prepared:
    """A translated request: the upstream body and what the reply needs."""

    dialect: Dialect
    body: dict[str, Any]
    session_key: str
    model: str  # as the client named it (echoed back)
    upstream_model: str
    stream: bool
    info: Any  # the translator's request info (chat / anthropic); None for responses
    name_map: dict[str, str]
    agent: AgentRequest | None = None  # set: run as a Codex agent turn (agent mode)
    client_id: str = ""
    #: the client's body in Responses shape (previous_response_id expanded)
    client_body: dict[str, Any] = field(default_factory=dict)
    #: whose account serves it: the api target's pool, or (terminal codex) the cli target's
    target: Literal["api", "cli"] = "api"
