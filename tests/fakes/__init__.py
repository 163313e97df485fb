"""The fake OpenAI upstream used by the test-suite (see README.md in this folder).

Import from a conftest::

    from fakes import fake_upstream  # noqa: F401  (re-exported fixture)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .codex_env import (
    chatgpt_auth_json,
    codex_test_config,
    codex_test_env,
    config_args,
    make_jwt,
    write_chatgpt_auth_json,
)
from .records import RecordedRequest, Usage
from .steps import (
    HttpError,
    Reply,
    apply_patch,
    exec_command,
    failed,
    hang,
    http_error,
    reasoning,
    text,
    tool_call,
    usage_limit_error,
)
from .upstream import FakeUpstream

__all__ = [
    "FakeUpstream",
    "HttpError",
    "RecordedRequest",
    "Reply",
    "Usage",
    "apply_patch",
    "chatgpt_auth_json",
    "codex_test_config",
    "codex_test_env",
    "config_args",
    "exec_command",
    "failed",
    "fake_upstream",
    "hang",
    "http_error",
    "make_jwt",
    "reasoning",
    "text",
    "tool_call",
    "usage_limit_error",
    "write_chatgpt_auth_json",
]


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A started :class:`FakeUpstream`, stopped (hanging streams cut) after the test."""
    with FakeUpstream() as fake:
        yield fake
