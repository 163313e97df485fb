"""The shared plumbing: one listener registry type and one HTTP-client factory."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from jupyter_codex.errors import UpstreamAuthError
from jupyter_codex.http import LazyClient, build_client, ssl_context
from jupyter_codex.listeners import Listeners


async def test_emit_runs_listeners_in_turn_and_awaits_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []
    listeners: Listeners[[str]] = Listeners("test")

    async def slow(reason: str) -> None:
        seen.append(f"slow:{reason}")

    def broken(reason: str) -> None:
        raise RuntimeError("boom")

    def plain(reason: str) -> None:
        seen.append(f"plain:{reason}")

    listeners.add(slow)
    remove_broken = listeners.add(broken)
    listeners.add(plain)
    with caplog.at_level(logging.ERROR):
        await listeners.emit("poll")
    assert seen == ["slow:poll", "plain:poll"]  # awaited, in order, past the broken one
    assert "A test listener failed on poll" in caplog.text
    remove_broken()
    remove_broken()  # idempotent
    assert len(listeners) == 2


def test_emit_nowait_never_leaves_a_coroutine_pending(caplog: pytest.LogCaptureFixture) -> None:
    listeners: Listeners[[str, dict[str, object]]] = Listeners("notification")
    calls: list[str] = []

    async def wrong(method: str, params: dict[str, object]) -> None:
        calls.append("ran")  # never: a coroutine nobody awaits must not start

    listeners.add(wrong)
    listeners.add(lambda method, params: calls.append(method))
    with caplog.at_level(logging.ERROR):
        listeners.emit_nowait("turn/started", {})
    assert calls == ["turn/started"]
    assert "returned an awaitable where none is awaited" in caplog.text


def test_a_bad_ca_bundle_is_one_readable_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    for make in (lambda: ssl_context(str(bad)), lambda: build_client(ca_certificate=str(bad))):
        with pytest.raises(UpstreamAuthError) as info:
            make()
        assert (
            str(bad) in info.value.message and "JUPYTER_CODEX_CA_CERTIFICATE" in info.value.message
        )
    assert isinstance(ssl_context(), ssl.SSLContext)


async def test_lazy_client_builds_once_and_closes() -> None:
    lazy = LazyClient(timeout=3.0, max_connections=4, headers={"User-Agent": "t"})
    client = lazy.get()
    assert lazy.get() is client
    assert client.timeout.connect == 3.0 and client.timeout.read == 3.0
    assert client.headers["User-Agent"] == "t"
    await lazy.aclose()
    assert client.is_closed
    assert lazy.get() is not client
    await lazy.aclose()
