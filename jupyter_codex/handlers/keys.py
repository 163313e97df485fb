"""REST routes for proxy client keys and the proxy request log (Jupyter auth only).

A client key never opens these routes: they are plain :class:`CodexAPIHandler`
routes, which know nothing about keys.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from pydantic import BaseModel, ConfigDict, Field
from tornado import web

from .base import CodexAPIHandler


class KeyCreate(BaseModel):
    """``POST codex/api/keys``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)

    name: str = Field(min_length=1, max_length=64)
    rate_limit_per_minute: int | None = Field(default=None, ge=1)


class KeysBase(CodexAPIHandler):
    """Base of the key handlers (the proxy service: ``CodexAPIHandler.proxy``)."""


class KeysHandler(KeysBase):
    """List keys (never the keys themselves) or create one (the key is in this answer only)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        keys = await self.proxy.keys.list()
        self.write_json({"keys": [k.to_json() for k in keys]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(KeyCreate)
        record, plaintext = await self.proxy.keys.create(
            body.name, rate_limit_per_minute=body.rate_limit_per_minute
        )
        self.set_header("Cache-Control", "no-store")
        self.write_json({**record.to_json(), "key": plaintext}, status=201)


class KeyHandler(KeysBase):
    """Revoke one key (it stays listed, marked revoked, with its counters)."""

    @web.authenticated
    @authorized
    async def delete(self, key_id: str) -> None:
        record = await self.proxy.keys.revoke(key_id)
        self.write_json(record.to_json())


class ProxyRequestsHandler(KeysBase):
    """The proxy request log, newest first (``?limit=``, ``?key_id=``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = max(1, min(self.int_argument("limit", 100), 1000))
        entries = await self.proxy.request_log.list(
            limit=limit, key_id=self.get_argument("key_id", None)
        )
        self.write_json({"requests": [e.to_json() for e in entries]})


def key_handlers() -> list[tuple[str, type]]:
    """URL patterns of the keys API and the request log."""
    return [
        (r"codex/api/keys", KeysHandler),
        (r"codex/api/keys/(?P<key_id>[A-Za-z0-9_-]{1,64})", KeyHandler),
        (r"codex/api/proxy/requests", ProxyRequestsHandler),
    ]


__all__ = ["key_handlers"]
