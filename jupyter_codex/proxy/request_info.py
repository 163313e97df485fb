"""What a reply needs to know about its request, per client dialect.

The request translators (``openai_chat.py``, ``anthropic.py``) produce these and
the stream translators (``openai_chat_stream.py``, ``anthropic_stream.py``) read
them, so neither side imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AnthropicRequestInfo", "RequestInfo"]


@dataclass
class RequestInfo:
    """What the reply needs to know about the request (echoed model, stream options...)."""

    model: str
    effort: str | None = None
    stream: bool = False
    include_usage: bool = False
    response_format: dict[str, Any] | None = None
    n: int = 1
    tool_names: dict[str, str] = field(default_factory=dict)
    #: the request used the deprecated ``functions``/``function_call``: answer in kind
    legacy_functions: bool = False


@dataclass
class AnthropicRequestInfo:
    """What the reply needs: echoed model, whether thinking blocks were asked for, names."""

    model: str
    effort: str | None = None
    stream: bool = False
    thinking: bool = False
    tool_names: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
