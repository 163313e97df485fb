"""REST handlers for accounts, targets, usage and the system log."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..accounts.authjson import default_auth_json_path
from ..errors import InvalidRequestError
from ..models import (
    TARGETS,
    AccountImport,
    AccountUpdate,
    ApiKeyCreate,
    DeviceLoginStart,
    TargetUpdate,
)
from ..paths import resolve_file
from .base import CodexAPIHandler

_ID = r"(?P<{name}>[A-Za-z0-9_-]{{1,64}})"


class AccountsBase(CodexAPIHandler):
    """Helpers shared by the account handlers (services: ``CodexAPIHandler``)."""

    async def account_view(self, account_id: str) -> dict[str, Any]:
        """One account as listed (with usage and active targets)."""
        for account in await self.core.list_accounts():
            if account.id == account_id:
                return account.model_dump()
        return (await self.core.accounts.get(account_id)).model_dump()


class AccountsHandler(AccountsBase):
    """List accounts (no secrets), with usage and active targets."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        accounts = await self.core.list_accounts()
        self.write_json({"accounts": [a.model_dump() for a in accounts]})


class AccountImportHandler(AccountsBase):
    """Import a Codex auth.json: uploaded, a path under the root, or the server user's own."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(AccountImport)
        source: str | None = None
        if body.auth_json is not None:
            account = await self.signins.import_content(body.auth_json, body.label)
        else:
            # No path: the user's own codex login as it was before this server started
            # (CODEX_HOME now points terminals at the managed home).
            path = (
                resolve_file(self.workspace.root_dir, body.path)
                if body.path
                else default_auth_json_path()
            )
            source = str(path)
            account = await self.core.accounts.import_auth_json(source, body.label)
        # The first account becomes active before the answer (no "Active: none" moment).
        await self.core.router.on_usage("account added")
        view = await self.account_view(account.id)
        self.write_json({**view, "imported_from": source}, status=201)


class ApiKeyHandler(AccountsBase):
    """Add an OpenAI API key (never echoed back)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(ApiKeyCreate)
        account = await self.core.accounts.add_api_key(body.api_key, body.label)
        await self.core.router.on_usage("account added")
        self.write_json(await self.account_view(account.id), status=201)


class DeviceLoginHandler(AccountsBase):
    """Start a device-code (default) or browser sign-in."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(DeviceLoginStart)
        if body.flow == "browser":
            if not self.settings.get("codex_allow_browser_sign_in", True):
                raise InvalidRequestError(
                    "Browser sign-in is off on this server (its callback only reaches a "
                    "browser on the server's own machine, e.g. not under JupyterHub); use "
                    'the device code flow: {"flow": "device"}.'
                )
            port = int(self.settings.get("codex_browser_login_port", 1455))
            self.write_json(await self.signins.start_browser(body.label, port), status=201)
        else:
            self.write_json(await self.signins.start_device_code(body.label), status=201)


class DeviceLoginStatusHandler(AccountsBase):
    """Poll or cancel a device-code sign-in."""

    @web.authenticated
    @authorized
    async def get(self, flow_id: str) -> None:
        self.write_json(self.signins.status(flow_id))

    @web.authenticated
    @authorized
    async def delete(self, flow_id: str) -> None:
        self.write_json(await self.signins.cancel(flow_id))


class AccountHandler(AccountsBase):
    """Read, rename/disable, or remove one account."""

    @web.authenticated
    @authorized
    async def get(self, account_id: str) -> None:
        self.write_json(await self.account_view(account_id))

    @web.authenticated
    @authorized
    async def patch(self, account_id: str) -> None:
        body = self.parse_body(AccountUpdate)
        await self.core.accounts.update(account_id, label=body.label, enabled=body.enabled)
        await self.core.router.on_usage("account changed")
        self.write_json(await self.account_view(account_id))

    @web.authenticated
    @authorized
    async def delete(self, account_id: str) -> None:
        await self.core.accounts.remove(account_id)
        await self.core.router.on_usage("account removed")
        self.set_status(204)
        self.finish()


class TargetsHandler(AccountsBase):
    """Both targets: active account, strategy, threshold."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        states = [await self.core.router.state(t) for t in TARGETS]
        self.write_json({"targets": [s.model_dump() for s in states]})


class TargetHandler(AccountsBase):
    """Switch a target's account and/or change its strategy."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json((await self.core.router.state(_target(name))).model_dump())

    @web.authenticated
    @authorized
    async def patch(self, name: str) -> None:
        target = _target(name)
        body = self.parse_body(TargetUpdate)
        router = self.core.router
        if body.strategy is not None or body.threshold_percent or body.rotation_seconds:
            current = await router.state(target)
            await router.set_strategy(
                target,
                body.strategy or current.strategy,
                body.threshold_percent,
                body.rotation_seconds,
            )
        if "account_id" in body.model_fields_set:
            await router.set_active(target, body.account_id, reason="manual", actor="user")
        self.write_json((await router.state(target)).model_dump())


class UsageHandler(AccountsBase):
    """Usage snapshot of every account."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        accounts = await self.core.list_accounts()
        self.write_json(
            {
                "accounts": [
                    {"id": a.id, "label": a.label, "usage": _dump(a.usage)} for a in accounts
                ]
            }
        )


class UsageRefreshHandler(AccountsBase):
    """Poll every account now and apply each target's strategy."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.core.scheduler.poll_all()  # its listeners re-evaluate both targets
        accounts = await self.core.list_accounts()
        self.write_json({"accounts": [a.model_dump() for a in accounts]})


class UsageHistoryHandler(AccountsBase):
    """Usage over time of one account (for charts)."""

    @web.authenticated
    @authorized
    async def get(self, account_id: str) -> None:
        await self.core.accounts.get(account_id)
        since = self.get_argument("since", None)
        limit = self.int_argument("limit", 1000)
        try:
            since_value = float(since) if since else None
        except ValueError as e:
            raise InvalidRequestError("'since' must be a Unix time in seconds.") from e
        points = await self.core.usage.history(account_id, since=since_value, limit=limit)
        self.write_json(
            {
                "account_id": account_id,
                "points": [{"time": t, "primary": p, "secondary": s} for t, p, s in points],
            }
        )


class LogsHandler(AccountsBase):
    """The system log: switches, alerts, refresh errors (newest first)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = max(1, min(self.int_argument("limit", 100), 1000))
        before = self.get_argument("before", None)
        before_id = self.int_argument("before", 0) if before else None
        entries = await self.core.system_log.list(
            limit, before_id, kind=self.get_argument("kind", None)
        )
        self.write_json({"entries": [e.model_dump() for e in entries]})


class SettingsHandler(AccountsBase):
    """The account and usage settings in effect: per-target strategies (change them with
    ``PATCH codex/api/targets/{name}``) and the polling traits (set in Jupyter config)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        scheduler = self.core.scheduler
        states = [await self.core.router.state(t) for t in TARGETS]
        self.write_json(
            {
                "targets": {s.name: s.model_dump() for s in states},
                "usage": {
                    "active_interval": scheduler.active_interval,
                    "idle_interval": scheduler.idle_interval,
                    "jitter": scheduler.jitter,
                    "concurrency": scheduler.concurrency,
                    "history_max_rows": scheduler.history_max_rows,
                },
                "notify_command_configured": bool(self.core.notifier.notify_command),
                "terminal_codex_home": str(self.terminal_home.path),
            }
        )


def _target(name: str) -> Any:
    if name not in TARGETS:
        raise InvalidRequestError(f"Unknown target {name!r}; use 'api' or 'cli'.")
    return name


def _dump(value: Any) -> Any:
    return value.model_dump() if value is not None else None


def account_handlers() -> list[tuple[str, type]]:
    """URL patterns of the accounts, targets, usage and logs API."""
    aid = _ID.format(name="account_id")
    fid = _ID.format(name="flow_id")
    return [
        (r"codex/api/accounts", AccountsHandler),
        (r"codex/api/accounts/import", AccountImportHandler),
        (r"codex/api/accounts/api-key", ApiKeyHandler),
        (r"codex/api/accounts/login", DeviceLoginHandler),
        (rf"codex/api/accounts/login/{fid}", DeviceLoginStatusHandler),
        (rf"codex/api/accounts/{aid}", AccountHandler),
        (r"codex/api/targets", TargetsHandler),
        (r"codex/api/targets/(?P<name>[a-z]{1,10})", TargetHandler),
        (r"codex/api/usage", UsageHandler),
        (r"codex/api/usage/refresh", UsageRefreshHandler),
        (rf"codex/api/usage/{aid}/history", UsageHistoryHandler),
        (r"codex/api/logs", LogsHandler),
        (r"codex/api/settings", SettingsHandler),
    ]
