"""Usage chart: an account's used percent of both windows over time, as SVG.

Plain SVG in an ``HTML`` widget needs no plotting library and renders the same
in JupyterLab, Notebook 7, VS Code and an exported notebook. The chart follows
the server like the account switcher does (switches, alerts, live usage).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ...client import AsyncCodexClient
from ...errors import CodexError
from ...models import Account
from ..connection import get_connection
from .live import Follower, spawn

SERIES = (("primary", "5-hour window", "#1f77b4"), ("secondary", "weekly window", "#d62728"))


def usage_svg(
    points: Sequence[dict[str, Any]],
    *,
    width: int = 560,
    height: int = 200,
    title: str = "",
) -> str:
    """A line chart of ``[{"time", "primary", "secondary"}]`` (used %, 0–100)."""
    left, right, top, bottom = 40, 10, 24, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='11'>"
        ),
        f"<text x='{left}' y='14' font-weight='bold'>{html.escape(title)}</text>",
    ]
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' "
            "stroke='#ddd'/>"
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end'>{pct}%</text>"
        )
    times = [float(p["time"]) for p in points if p.get("time") is not None]
    if not times:
        parts.append(
            f"<text x='{left + plot_w / 2}' y='{top + plot_h / 2}' text-anchor='middle' "
            "fill='#888'>no usage recorded yet</text></svg>"
        )
        return "".join(parts)
    start, end = min(times), max(times)
    span = max(end - start, 1.0)

    def x_of(t: float) -> float:
        return left + plot_w * (t - start) / span if end > start else left + plot_w / 2

    def y_of(used: Any) -> float:
        return top + plot_h * (1 - min(100.0, max(0.0, float(used))) / 100)

    for key, _label, colour in SERIES:
        coords = [
            f"{x_of(float(p['time'])):.1f},{y_of(p[key]):.1f}"
            for p in points
            if p.get(key) is not None and p.get("time") is not None
        ]
        if len(coords) == 1:
            cx, cy = coords[0].split(",")
            parts.append(f"<circle cx='{cx}' cy='{cy}' r='3' fill='{colour}'/>")
        elif coords:
            parts.append(
                f"<polyline fill='none' stroke='{colour}' stroke-width='2' "
                f"points='{' '.join(coords)}'/>"
            )
    legend_x = left + 8
    for _key, label, colour in SERIES:
        parts.append(
            f"<rect x='{legend_x}' y='{top + 4}' width='10' height='3' fill='{colour}'/>"
            f"<text x='{legend_x + 14}' y='{top + 9}'>{label}</text>"
        )
        legend_x += 110
    for t, anchor, tx in ((start, "start", left), (end, "end", left + plot_w)):
        stamp = time.strftime("%d %b %H:%M", time.localtime(t))
        parts.append(f"<text x='{tx}' y='{height - 8}' text-anchor='{anchor}'>{stamp}</text>")
    parts.append("</svg>")
    return "".join(parts)


class UsageChart(widgets.VBox):  # type: ignore[misc]
    """``UsageChart()``: the cli target's account; ``UsageChart(account_id=...)`` another."""

    def __init__(
        self,
        account_id: str | None = None,
        *,
        hours: float = 24 * 7,
        client: AsyncCodexClient | None = None,
        interval: float = 60.0,
        **kwargs: Any,
    ) -> None:
        self.client = client or get_connection().async_client()
        self.account_id = account_id
        self.hours = hours
        self.points: list[dict[str, Any]] = []
        self.picker = widgets.Dropdown(options=[], description="account")
        self.picker.observe(self._picked, names="value")
        self.chart = widgets.HTML(usage_svg([]))
        self.status = widgets.HTML("")
        self._updating = False
        super().__init__([self.picker, self.chart, self.status], **kwargs)
        self.add_class("jp-codex-usage")
        loaded = client is None and self._load_blocking()
        self.follower = Follower(
            self.client, self.reload, interval=interval, on_error=self._error, load_now=not loaded
        )

    def _load_blocking(self) -> bool:
        """Draw the chart before it is shown (later reloads run in the background)."""
        try:
            sync = get_connection().sync_client()
            accounts = sync.accounts()
            self._pick(accounts)
            if self.account_id is not None:
                since = time.time() - self.hours * 3600
                self.points = sync.usage_history(self.account_id, since=since)
        except CodexError as e:
            self._error(e)
            return False
        self._draw(accounts)
        return True

    def _pick(self, accounts: list[Account]) -> None:
        if self.account_id is None:
            candidates = [a for a in accounts if "cli" in a.active_targets] or accounts
            self.account_id = candidates[0].id if candidates else None
        self._updating = True
        try:
            self.picker.options = [(a.label or a.email or a.id, a.id) for a in accounts]
            if self.account_id in [a.id for a in accounts]:
                self.picker.value = self.account_id
        finally:
            self._updating = False

    def _draw(self, accounts: list[Account]) -> None:
        if self.account_id is None:
            self.chart.value = usage_svg([], title="no accounts")
            return
        name = next((a.label or a.email or a.id for a in accounts if a.id == self.account_id), "")
        self.chart.value = usage_svg(self.points, title=f"Used quota — {name}")
        self.status.value = ""

    def _error(self, error: BaseException) -> None:
        message = error.message if isinstance(error, CodexError) else repr(error)
        self.status.value = f"<span style='color:#c00'>{html.escape(message)}</span>"

    def _picked(self, change: dict[str, Any]) -> None:
        if not self._updating and change.get("new") and change["new"] != self.account_id:
            self.account_id = change["new"]
            spawn(self.reload(), self._error)

    async def reload(self) -> None:
        accounts = await self.client.accounts()
        self._pick(accounts)
        if self.account_id is not None:
            since = time.time() - self.hours * 3600
            self.points = await self.client.usage_history(self.account_id, since=since)
        self._draw(accounts)

    def close(self) -> None:
        self.follower.close()
        super().close()


__all__ = ["UsageChart", "usage_svg"]
