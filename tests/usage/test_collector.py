"""usage/collector.py: the /wham/usage poll over verified TLS, and the live-usage parsers."""

from __future__ import annotations

import time

import pytest
from fakes import FakeUpstream, Usage

from jupyter_codex.accounts.credentials import Credentials
from jupyter_codex.errors import UpstreamAuthError
from jupyter_codex.usage import (
    UsageCollector,
    parse_app_server_rate_limits,
    parse_rate_limit_headers,
    parse_usage_limit_error,
    parse_usage_payload,
)

CREDS = Credentials("acct-1", "chatgpt", access_token="secret-at", chatgpt_account_id="acct-1")


async def test_fetch_parses_the_fake_usage_and_sends_the_account_headers(
    fake_upstream: FakeUpstream,
) -> None:
    fake_upstream.set_usage("acct-1", primary_used=42, secondary_used=7, plan_type="plus")
    collector = UsageCollector(fake_upstream.chatgpt_base_url, ca_certificate=fake_upstream.ca_path)
    try:
        before = time.time()
        snap = await collector.fetch(CREDS)
    finally:
        await collector.aclose()
    assert snap is not None
    assert (snap.primary_used_percent, snap.secondary_used_percent) == (42.0, 7.0)
    assert (snap.primary_window_minutes, snap.secondary_window_minutes) == (300, 10080)
    assert snap.primary_resets_at is not None and snap.primary_resets_at >= int(before) + 3600
    assert (snap.allowed, snap.limit_reached, snap.plan_type, snap.source) == (
        True,
        False,
        "plus",
        "poll",
    )
    (request,) = fake_upstream.requests_to("/backend-api/wham/usage")
    assert request.bearer == "secret-at" and request.account_id == "acct-1"


async def test_fetch_errors_name_the_status_never_the_token(fake_upstream: FakeUpstream) -> None:
    fake_upstream.fail_usage("acct-1", 503)
    collector = UsageCollector(fake_upstream.chatgpt_base_url, ca_certificate=fake_upstream.ca_path)
    try:
        with pytest.raises(UpstreamAuthError, match="HTTP 503") as info:
            await collector.fetch(CREDS)
        assert "secret-at" not in str(info.value.to_json())
        # API keys have no usage endpoint: no request at all.
        assert await collector.fetch(Credentials("k", "api_key", api_key="sk-x")) is None
        assert len(fake_upstream.requests_to("/backend-api/wham/usage")) == 1
    finally:
        await collector.aclose()


async def test_tls_is_verified(fake_upstream: FakeUpstream) -> None:
    collector = UsageCollector(fake_upstream.chatgpt_base_url)  # system CAs only
    try:
        with pytest.raises(UpstreamAuthError, match="ConnectError"):
            await collector.fetch(CREDS)
    finally:
        await collector.aclose()


def test_payload_accepts_floats_and_missing_windows() -> None:
    body = {
        "plan_type": "pro",
        "rate_limit": {
            "allowed": False,
            "limit_reached": True,
            "primary_window": {
                "used_percent": 99.5,
                "limit_window_seconds": 18001.0,
                "reset_after_seconds": 60,
            },
            "secondary_window": None,
        },
    }
    snap = parse_usage_payload(body, now=1000.0)
    assert snap.primary_used_percent == 99.5 and snap.primary_window_minutes == 301
    assert snap.primary_resets_at == 1060.0
    assert snap.secondary_used_percent is None and snap.secondary_window_minutes is None
    assert (snap.allowed, snap.limit_reached) == (False, True)
    empty = parse_usage_payload({"plan_type": "free", "rate_limit": None}, now=1.0)
    assert empty.primary_used_percent is None and empty.allowed
    with pytest.raises(UpstreamAuthError):
        parse_usage_payload(["not", "an", "object"])


def test_headers_parse_sparsely_like_codex() -> None:
    headers = Usage(primary_used=12, secondary_used=3).headers()
    snap = parse_rate_limit_headers(headers, now=5.0)
    assert snap is not None and snap.source == "headers" and snap.fetched_at == 5.0
    assert (snap.primary_used_percent, snap.primary_window_minutes) == (12.0, 300)
    assert (snap.secondary_used_percent, snap.secondary_window_minutes) == (3.0, 10080)
    assert snap.plan_type == "pro"
    only_primary = parse_rate_limit_headers({"X-Codex-Primary-Used-Percent": "12.5"})
    assert only_primary is not None
    assert only_primary.model_fields_set >= {"primary_used_percent"}
    assert "secondary_used_percent" not in only_primary.model_fields_set
    # A zero window without minutes or reset counts as absent (codex does the same).
    assert parse_rate_limit_headers({"x-codex-primary-used-percent": "0"}) is None
    assert parse_rate_limit_headers({"content-type": "text/event-stream"}) is None
    assert parse_rate_limit_headers({"x-codex-primary-used-percent": "nan"}) is None


def test_app_server_snapshot_maps_the_codex_bucket_only() -> None:
    params = {
        "rateLimits": {
            "limitId": "codex",
            "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 1735689720},
            "secondary": None,
            "planType": "pro",
            "rateLimitReachedType": None,
        }
    }
    snap = parse_app_server_rate_limits(params, now=9.0)
    assert snap is not None and snap.source == "app_server"
    assert (snap.primary_used_percent, snap.primary_window_minutes) == (42.0, 300)
    assert snap.primary_resets_at == 1735689720 and snap.limit_reached is False
    assert "secondary_used_percent" not in snap.model_fields_set
    reached = parse_app_server_rate_limits(
        {"secondary": {"usedPercent": 100.0}, "rateLimitReachedType": "rate_limit_reached"}
    )
    assert reached is not None and reached.limit_reached and reached.secondary_used_percent == 100
    assert parse_app_server_rate_limits({"rateLimits": {"limitId": "codex_other"}}) is None
    assert parse_app_server_rate_limits({"rateLimits": {}}) is None
    assert parse_app_server_rate_limits("junk") is None


def test_usage_limit_error_reset_time() -> None:
    body = {"error": {"type": "usage_limit_reached", "resets_at": 5000, "resets_in_seconds": 9}}
    assert parse_usage_limit_error(body, now=1000.0) == 5000.0
    body["error"]["resets_at"] = 10**12  # implausible: use resets_in_seconds
    assert parse_usage_limit_error(body, now=1000.0) == 1009.0
    assert parse_usage_limit_error({"error": {"type": "rate_limit_exceeded"}}) is None
    assert parse_usage_limit_error("nope") is None
