"""Proxy: pure translators between client dialects and the upstream Responses API.

Chat Completions (``openai_chat``) and Anthropic Messages (``anthropic``) become
Responses requests; every request then goes through
:func:`normalize_responses_request`; upstream events come back through a
stream translator (or the Responses aggregator/relay). These modules do no I/O.
"""

from .anthropic import (
    AnthropicRequestInfo,
    AnthropicStreamTranslator,
    anthropic_usage,
    count_tokens_estimate,
    messages_to_responses,
)
from .errors import (
    UpstreamFailure,
    anthropic_error,
    failure_from_event,
    openai_error,
    stream_error_chunk_openai,
    stream_error_event_anthropic,
    upstream_error_status,
)
from .models_catalog import (
    AGENT_PREFIX,
    DEFAULT_MODELS,
    EFFORTS,
    openai_model_list,
    parse_model,
)
from .openai_chat import ChatStreamTranslator, RequestInfo, chat_to_responses, chat_usage
from .responses import (
    ResponsesAggregator,
    ResponsesStreamRelay,
    Usage,
    normalize_responses_request,
    tool_name_map,
    usage_of,
)

__all__ = [
    "AGENT_PREFIX",
    "DEFAULT_MODELS",
    "EFFORTS",
    "AnthropicRequestInfo",
    "AnthropicStreamTranslator",
    "ChatStreamTranslator",
    "RequestInfo",
    "ResponsesAggregator",
    "ResponsesStreamRelay",
    "UpstreamFailure",
    "Usage",
    "anthropic_error",
    "anthropic_usage",
    "chat_to_responses",
    "chat_usage",
    "count_tokens_estimate",
    "failure_from_event",
    "messages_to_responses",
    "normalize_responses_request",
    "openai_error",
    "openai_model_list",
    "parse_model",
    "stream_error_chunk_openai",
    "stream_error_event_anthropic",
    "tool_name_map",
    "upstream_error_status",
    "usage_of",
]
