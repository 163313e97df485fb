"""Usage: the ``/wham/usage`` collector, live-usage parsers, the poll scheduler and notify hooks."""

from .alerts import AlertNotifier
from .collector import (
    UsageCollector,
    parse_app_server_rate_limits,
    parse_rate_limit_headers,
    parse_usage_limit_error,
    parse_usage_payload,
)
from .scheduler import UsageScheduler

__all__ = [
    "AlertNotifier",
    "UsageCollector",
    "UsageScheduler",
    "parse_app_server_rate_limits",
    "parse_rate_limit_headers",
    "parse_usage_limit_error",
    "parse_usage_payload",
]
