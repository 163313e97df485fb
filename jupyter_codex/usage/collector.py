"""Read an account's usage: the ``/wham/usage`` poll and the live sources.

Three shapes describe the same two windows (5-hour primary, weekly secondary):
the polled JSON (``used_percent``, ``limit_window_seconds``, ``reset_at``), the
``x-codex-*`` headers on every model response, and the app-server's
``account/rateLimits/updated`` snapshot (``usedPercent``, ``windowDurationMins``,
``resetsAt``). Upstream sends integers today but the parsers accept floats too.
Live parsers return *sparse* snapshots: only fields actually present are set, so
merging them never erases what a poll knew.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..accounts.credentials import Credentials
from ..errors import UpstreamAuthError
from ..http import LazyClient
from ..models import UsageSnapshot

if TYPE_CHECKING:  # httpx costs ~50 ms to import: only when first used
    import httpx


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _window(prefix: str, window: Any, now: float) -> dict[str, Any]:
    """Fields of one ``/wham/usage`` window (``primary``/``secondary`` prefix)."""
    if not isinstance(window, dict):
        return {}
    fields: dict[str, Any] = {}
    used = _number(window.get("used_percent"))
    if used is not None:
        fields[f"{prefix}_used_percent"] = used
    seconds = _number(window.get("limit_window_seconds"))
    if seconds is not None:
        fields[f"{prefix}_window_minutes"] = math.ceil(seconds / 60)
    reset_at = _number(window.get("reset_at"))
    if reset_at is None:
        after = _number(window.get("reset_after_seconds"))
        reset_at = now + after if after is not None else None
    if reset_at is not None:
        fields[f"{prefix}_resets_at"] = reset_at
    return fields


def parse_usage_payload(body: Any, *, now: float | None = None) -> UsageSnapshot:
    """A complete snapshot from a ``/wham/usage`` answer (missing windows stay None)."""
    now = time.time() if now is None else now
    if not isinstance(body, dict):
        raise UpstreamAuthError("The usage endpoint answered something that is not JSON.")
    rate = body.get("rate_limit")
    rate = rate if isinstance(rate, dict) else {}
    fields: dict[str, Any] = {
        "plan_type": body.get("plan_type") if isinstance(body.get("plan_type"), str) else None,
        "allowed": _flag(rate.get("allowed")) is not False,
        "limit_reached": _flag(rate.get("limit_reached")) is True,
        "fetched_at": now,
        "source": "poll",
    }
    fields.update(_window("primary", rate.get("primary_window"), now))
    fields.update(_window("secondary", rate.get("secondary_window"), now))
    return UsageSnapshot(**fields)


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> UsageSnapshot | None:
    """A sparse snapshot from ``x-codex-*`` response headers, or None if they carry none.

    As in codex, a window counts only with a used percent, and is ignored when it
    is 0 with neither minutes nor a reset time.
    """
    lower = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-codex-")}
    fields: dict[str, Any] = {}
    for prefix in ("primary", "secondary"):
        used = _number(lower.get(f"x-codex-{prefix}-used-percent"))
        minutes = _number(lower.get(f"x-codex-{prefix}-window-minutes"))
        reset_at = _number(lower.get(f"x-codex-{prefix}-reset-at"))
        if used is None or (used == 0 and minutes is None and reset_at is None):
            continue
        fields[f"{prefix}_used_percent"] = used
        if minutes is not None:
            fields[f"{prefix}_window_minutes"] = int(minutes)
        if reset_at is not None:
            fields[f"{prefix}_resets_at"] = reset_at
    if not fields:
        return None
    plan = lower.get("x-codex-plan-type")
    if plan:
        fields["plan_type"] = plan
    return UsageSnapshot(**fields, fetched_at=time.time() if now is None else now, source="headers")


def parse_app_server_rate_limits(payload: Any, *, now: float | None = None) -> UsageSnapshot | None:
    """A sparse snapshot from ``account/rateLimits/updated`` params or ``…/read`` result.

    Only the ``codex`` limit family maps onto our two windows; other families
    (``limitId`` such as ``codex_other``) are ignored.
    """
    if not isinstance(payload, dict):
        return None
    snap = payload.get("rateLimits", payload)
    if not isinstance(snap, dict):
        return None
    limit_id = snap.get("limitId")
    if limit_id not in (None, "codex"):
        return None
    fields: dict[str, Any] = {}
    for prefix in ("primary", "secondary"):
        window = snap.get(prefix)
        if not isinstance(window, dict):
            continue
        used = _number(window.get("usedPercent"))
        if used is None:
            continue
        fields[f"{prefix}_used_percent"] = used
        minutes = _number(window.get("windowDurationMins"))
        if minutes is not None:
            fields[f"{prefix}_window_minutes"] = int(minutes)
        resets_at = _number(window.get("resetsAt"))
        if resets_at is not None:
            fields[f"{prefix}_resets_at"] = resets_at
    if isinstance(snap.get("planType"), str):
        fields["plan_type"] = snap["planType"]
    if "rateLimitReachedType" in snap:
        fields["limit_reached"] = snap["rateLimitReachedType"] is not None
    if not fields:
        return None
    return UsageSnapshot(
        **fields, fetched_at=time.time() if now is None else now, source="app_server"
    )


def parse_usage_limit_error(body: Any, *, now: float | None = None) -> float | None:
    """Reset time (unix seconds) of a 429 ``usage_limit_reached`` body, else None.

    For the proxy: cool the account down until then. Implausible values (past,
    or more than 8 days ahead) fall back to ``resets_in_seconds`` or None.
    """
    now = time.time() if now is None else now
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("type") != "usage_limit_reached":
        return None
    horizon = now + 8 * 86_400
    resets_at = _number(error.get("resets_at"))
    if resets_at is not None and now < resets_at <= horizon:
        return resets_at
    resets_in = _number(error.get("resets_in_seconds"))
    if resets_in is not None and 0 < resets_in <= horizon - now:
        return now + resets_in
    return None


class UsageCollector:
    """Polls ``GET {chatgpt_base_url}/wham/usage`` with one shared, pooled HTTP client."""

    def __init__(
        self,
        chatgpt_base_url: str,
        *,
        ca_certificate: str = "",
        timeout: float = 10.0,
        max_connections: int = 16,
        user_agent: str = "jupyter-codex",
    ) -> None:
        self.url = chatgpt_base_url.rstrip("/") + "/wham/usage"
        self._client = LazyClient(
            ca_certificate=ca_certificate,
            timeout=timeout,
            max_connections=max_connections,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )

    def _http(self) -> httpx.AsyncClient:
        """The pooled client, built on first use (``http.LazyClient``)."""
        return self._client.get()

    def warm_up(self) -> None:
        """Build the client (httpx import, TLS context: ~100 ms) off the event loop;
        call through ``asyncio.to_thread`` at start-up."""
        self._client.warm_up()

    async def fetch(self, credentials: Credentials) -> UsageSnapshot | None:
        """The account's usage now; None for API keys (they have no usage endpoint).

        Raises :class:`UpstreamAuthError` on network errors, non-200 answers or
        bad JSON; the message names the status, never a token.
        """
        import httpx

        if credentials.kind != "chatgpt":
            return None
        try:
            response = await self._http().get(self.url, headers=credentials.auth_headers())
        except httpx.HTTPError as e:
            raise UpstreamAuthError(
                f"Usage request failed: {type(e).__name__}", account_id=credentials.account_id
            ) from e
        if response.status_code != 200:
            raise UpstreamAuthError(
                f"The usage endpoint answered HTTP {response.status_code}.",
                account_id=credentials.account_id,
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError as e:
            raise UpstreamAuthError("The usage endpoint answered invalid JSON.") from e
        return parse_usage_payload(body)

    async def accepts(self, credentials: Credentials) -> bool:
        """Whether the backend still takes this access token: False only on a 401/403
        from the usage endpoint (a network error or another status says nothing)."""
        try:
            await self.fetch(credentials)
        except UpstreamAuthError as e:
            return e.details.get("status") not in (401, 403)
        return True

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()
