"""Account switcher: the active account of each target, and every account's quota.

Two targets choose accounts independently (``cli``: workspace, magics and
terminals; ``api``: the proxy endpoints). Each gets a dropdown; picking an
account switches the target on the server. Below, every account shows two
bars, the remaining 5-hour and weekly quota (100 − used). The widget reloads
when the server announces a switch, an alert or new usage.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets

from ...client import AsyncCodexClient
from ...errors import CodexError
from ...models import Account, TargetState
from ..connection import get_connection
from .live import Follower, spawn

TARGETS = (("cli", "Workspace, %codex, terminals"), ("api", "OpenAI/Claude endpoints"))


def remaining(used: float | None) -> float | None:
    return None if used is None else max(0.0, min(100.0, 100.0 - float(used)))


def _bar_style(left: float | None) -> str:
    if left is None:
        return ""
    return "danger" if left < 15 else ("warning" if left < 40 else "success")


def _resets(at: float | None) -> str:
    if not at:
        return ""
    seconds = at - time.time()
    if seconds <= 0:
        return ""
    if seconds < 3600:
        return f" · resets in {seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f" · resets in {seconds / 3600:.1f} h"
    return f" · resets in {seconds / 86400:.1f} d"


def usage_bar(label: str, used: float | None, resets_at: float | None) -> widgets.Widget:
    """One window as a bar of what is left, with the number beside it."""
    left = remaining(used)
    bar = widgets.FloatProgress(
        value=left or 0.0,
        min=0.0,
        max=100.0,
        description=label,
        bar_style=_bar_style(left),
        layout=widgets.Layout(width="260px"),
    )
    text = "unknown" if left is None else f"{left:.0f}% left{_resets(resets_at)}"
    return widgets.HBox([bar, widgets.Label(text)])


def account_title(account: Account) -> str:
    name = account.label or account.email or account.id
    extra = " · ".join(p for p in (account.email if account.label else None, account.plan) if p)
    return f"{name} ({extra})" if extra else name


def account_row(account: Account) -> widgets.Widget:
    """An account: name, status, its targets and both usage bars."""
    usage = account.usage
    badges = "".join(
        f" <span style='background:#2a6;color:#fff;border-radius:3px;padding:0 4px'>{t}</span>"
        for t in account.active_targets
    )
    status = "" if account.status == "active" else f" <i>({html.escape(account.status)})</i>"
    limited = " <b style='color:#c00'>limit reached</b>" if usage and usage.limit_reached else ""
    head = widgets.HTML(
        f"<b>{html.escape(account_title(account))}</b>{status}{badges}{limited}"
        f" <span style='opacity:.6'>{html.escape(account.id)}</span>"
    )
    return widgets.VBox(
        [
            head,
            usage_bar(
                "5 hours",
                usage.primary_used_percent if usage else None,
                usage.primary_resets_at if usage else None,
            ),
            usage_bar(
                "weekly",
                usage.secondary_used_percent if usage else None,
                usage.secondary_resets_at if usage else None,
            ),
        ],
        layout=widgets.Layout(margin="2px 0 6px 0"),
    )


class AccountSwitcher(widgets.VBox):  # type: ignore[misc]
    """``AccountSwitcher()``: pick each target's account, watch every account's quota."""

    def __init__(
        self, client: AsyncCodexClient | None = None, *, interval: float = 60.0, **kwargs: Any
    ) -> None:
        self.client = client or get_connection().async_client()
        self.accounts: list[Account] = []
        self.targets: dict[str, TargetState] = {}
        self._updating = False
        self.dropdowns: dict[str, widgets.Dropdown] = {}
        for target, help_text in TARGETS:
            dropdown = widgets.Dropdown(
                options=[], description=target, layout=widgets.Layout(width="420px")
            )
            dropdown.observe(self._picked(target), names="value")
            dropdown.description_tooltip = help_text
            self.dropdowns[target] = dropdown
        self.refresh_button = widgets.Button(description="Refresh usage", icon="refresh")
        self.refresh_button.on_click(lambda _b: spawn(self.reload(refresh=True), self._error))
        self.status = widgets.HTML("")
        self.rows = widgets.VBox([])
        super().__init__(
            [
                widgets.HTML("<b>Codex accounts</b>"),
                *self.dropdowns.values(),
                widgets.HBox([self.refresh_button, self.status]),
                self.rows,
            ],
            **kwargs,
        )
        self.add_class("jp-codex-accounts")
        loaded = client is None and self._load_blocking()
        self.follower = Follower(
            self.client, self.reload, interval=interval, on_error=self._error, load_now=not loaded
        )

    def _load_blocking(self) -> bool:
        """Fill the widget before it is shown (later reloads run in the background)."""
        try:
            sync = get_connection().sync_client()
            self.accounts = sync.accounts()
            self.targets = {t.name: t for t in sync.targets()}
        except CodexError as e:
            self._error(e)
            return False
        self.render()
        return True

    def _error(self, error: BaseException) -> None:
        message = error.message if isinstance(error, CodexError) else repr(error)
        self.status.value = f"<span style='color:#c00'>{html.escape(message)}</span>"

    def _picked(self, target: str) -> Any:
        def changed(change: dict[str, Any]) -> None:
            if self._updating or not change.get("new"):
                return
            current = self.targets.get(target)
            if current is not None and current.account_id == change["new"]:
                return
            spawn(self.use(change["new"], target), self._error)

        return changed

    async def use(self, account_id: str, target: str) -> None:
        """Switch ``target`` to ``account_id`` (what picking in the dropdown does)."""
        self.status.value = f"switching {html.escape(target)} …"
        await self.client.use_account(account_id, target)
        await self.reload()
        self.status.value = f"{html.escape(target)} now uses {html.escape(account_id)}"

    async def reload(self, refresh: bool = False) -> None:
        """Fetch accounts and targets (``refresh`` polls every account's usage first)."""
        if refresh:
            self.status.value = "refreshing usage …"
            await self.client.usage(refresh=True)
            self.status.value = ""
        self.accounts = await self.client.accounts()
        self.targets = {t.name: t for t in await self.client.targets()}
        self.render()

    def render(self) -> None:
        options = [(account_title(a), a.id) for a in self.accounts if a.status == "active"]
        self._updating = True
        try:
            for target, dropdown in self.dropdowns.items():
                state = self.targets.get(target)
                dropdown.options = options
                active = state.account_id if state else None
                dropdown.value = active if active in {v for _, v in options} else None
                if state is not None:
                    dropdown.description_tooltip = f"strategy: {state.strategy}"
        finally:
            self._updating = False
        if not self.accounts:
            self.rows.children = (
                widgets.HTML(
                    "No accounts yet: <code>jupyter codex accounts import</code> or "
                    "<code>jupyter codex accounts login</code> in a terminal."
                ),
            )
            return
        self.rows.children = tuple(account_row(a) for a in self.accounts)

    def close(self) -> None:
        self.follower.close()
        super().close()


__all__ = ["AccountSwitcher", "account_row", "remaining", "usage_bar"]
