"""Which app-server methods the running codex exposes, found with low-impact calls.

Each method is called once: reads with harmless parameters, anything that would change
state with parameters it must refuse (an empty object where an id is required). Only
JSON-RPC's "method not found" (-32601) counts as absent; any other answer, even an
invalid-params error, shows that the method is there. Nothing here is cached: the
binary may change between two starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from .errors import RpcError, RpcTimeoutError

METHOD_NOT_FOUND = -32601

#: method -> probe parameters. Reads run for real; the others get parameters they refuse.
PROBES: dict[str, dict[str, Any]] = {
    "model/list": {},
    "account/read": {},
    "account/rateLimits/read": {},
    "thread/list": {"limit": 1},
    "thread/loaded/list": {},
    "config/read": {},
    "skills/list": {},
    "experimentalFeature/list": {},
    "collaborationMode/list": {},
    "review/start": {},
    "turn/steer": {},
    "thread/fork": {},
    "thread/revert": {},
    "thread/rollback": {},
    "thread/compact/start": {},
    "account/login/cancel": {},
    "command/exec": {},
}


class Requester(Protocol):
    """What the probe needs of an app-server (``AppServerManager``)."""

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]: ...


async def _probe(server: Requester, method: str, params: dict[str, Any], timeout: float) -> str:
    try:
        await server.request(method, params, timeout=timeout)
    except RpcTimeoutError:
        return "timeout"
    except RpcError as e:
        return "absent" if e.rpc_code == METHOD_NOT_FOUND else "present"
    return "present"


async def probe_capabilities(server: Requester, timeout: float = 10.0) -> dict[str, Any]:
    """``{"methods": {method: true|false}, "unknown": [...]}`` for :data:`PROBES`.

    ``unknown`` lists the methods that did not answer within ``timeout``. Raises
    :class:`AppServerError` when the app-server cannot start at all.
    """
    with contextlib.suppress(RpcError):  # start it once, up front; a start failure raises
        await server.request("thread/loaded/list", {}, timeout=timeout)
    names = list(PROBES)
    results = await asyncio.gather(*(_probe(server, m, PROBES[m], timeout) for m in names))
    outcome = dict(zip(names, results, strict=True))
    return {
        "methods": {m: r == "present" for m, r in outcome.items() if r != "timeout"},
        "unknown": [m for m, r in outcome.items() if r == "timeout"],
    }


__all__ = ["PROBES", "Requester", "probe_capabilities"]
