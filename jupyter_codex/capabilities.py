"""Which app-server methods the running codex exposes, found with low-impact calls.

Each method is called once: reads with harmless parameters, anything that would change
state with parameters it must refuse (an empty object where an id is required). Codex
answers a method it does not know with ``-32600 "Invalid request: unknown variant `x`,
expected one of `initialize`, …"`` (JSON-RPC's -32601 counts too); any other answer,
even a missing-field error, shows that the method is there. The "expected one of" list
of a deliberately unknown method is the runtime's whole method inventory
(``advertised``). Nothing here is cached: the binary may change between two starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, Protocol

from .errors import RpcError, RpcTimeoutError

METHOD_NOT_FOUND = -32601
#: A method no codex has: its error lists every method the runtime accepts.
UNKNOWN_METHOD = "jupyterCodex/capabilityProbe"
_UNKNOWN = re.compile(r"unknown variant `[^`]*`")
_EXPECTED = re.compile(r"expected one of (.*)", re.DOTALL)

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
        return "absent" if _is_unknown(e) else "present"
    return "present"


def _is_unknown(error: RpcError) -> bool:
    return error.rpc_code == METHOD_NOT_FOUND or bool(_UNKNOWN.search(error.message))


async def advertised_methods(server: Requester, timeout: float = 10.0) -> list[str]:
    """Every method the runtime accepts, from its answer to an unknown one (empty when
    it does not list them)."""
    try:
        await server.request(UNKNOWN_METHOD, {}, timeout=timeout)
    except RpcError as e:
        found = _EXPECTED.search(e.message)
        return sorted(set(re.findall(r"`([^`]+)`", found.group(1)))) if found else []
    return []


async def probe_capabilities(server: Requester, timeout: float = 10.0) -> dict[str, Any]:
    """``{"methods": {method: true|false}, "unknown": [...], "advertised": [...]}``.

    ``methods`` covers :data:`PROBES`; ``unknown`` lists the probes that did not answer
    within ``timeout``; ``advertised`` is the runtime's own method list. Raises
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
        "advertised": await advertised_methods(server, timeout),
    }


__all__ = ["PROBES", "Requester", "probe_capabilities"]
