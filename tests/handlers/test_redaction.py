"""Query values never reach our error lines (handlers/redaction.py)."""

from __future__ import annotations

from jupyter_codex.handlers.redaction import redacted_uri


def test_every_query_value_is_redacted() -> None:
    uri = "/codex/api/nowhere?token=jcx-secret&after=3&=odd&flag"
    assert redacted_uri(uri) == (
        "/codex/api/nowhere?token=[redacted]&after=[redacted]&=[redacted]&flag=[redacted]"
    )
    assert redacted_uri("/codex/v1/models") == "/codex/v1/models"
    assert "jcx-" not in redacted_uri("/x?a=1&api_key=jcx-abc#frag")
