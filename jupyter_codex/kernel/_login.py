"""Sign-in helpers of the client: device code (with a callback for the code), API key,
and importing a Codex ``auth.json`` — all through the server's accounts API, so the
server stays the only holder of refresh tokens."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import AccountError, AuthFileError
from ..models import Account
from ._http import HttpTransport

#: ``on_code(prompt)``, sync or async: show ``prompt["verification_url"]`` and
#: ``prompt["user_code"]`` to the person who signs in.
CodeCallback = Callable[[dict[str, Any]], Any]


async def device_code_login(
    http: HttpTransport,
    on_code: CodeCallback | None,
    *,
    label: str | None = None,
    timeout: float = 900.0,
    poll_interval: float = 1.0,
) -> Account:
    """Start a device-code sign-in on the server, hand the code to ``on_code``, and wait
    until the person approves it (or ``timeout``, or cancellation: then the server's
    flow is cancelled too). Returns the new account; raises :class:`AccountError`."""
    body: dict[str, Any] = {"flow": "device"}
    if label:
        body["label"] = label
    flow = await http.request("POST", "accounts/login", body=body)
    flow_id = str(flow["id"])
    try:
        if on_code is not None:
            shown = on_code(dict(flow))
            if inspect.isawaitable(shown):
                await shown
        else:
            print(f"Open {flow.get('verification_url')} and enter {flow.get('user_code')}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while flow.get("status") == "pending":
            if loop.time() > deadline:
                raise AccountError(f"The sign-in was not approved within {timeout:g} seconds.")
            await asyncio.sleep(poll_interval)
            flow = await http.request("GET", f"accounts/login/{flow_id}")
    except BaseException:
        await asyncio.shield(_cancel_quietly(http, flow_id))
        raise
    if flow.get("status") != "completed" or not flow.get("account"):
        raise AccountError(flow.get("error") or f"The sign-in ended: {flow.get('status')}.")
    return Account.model_validate(flow["account"])


async def _cancel_quietly(http: HttpTransport, flow_id: str) -> None:
    with contextlib.suppress(Exception):  # the original error matters more
        await http.request("DELETE", f"accounts/login/{flow_id}")


def _read(path: Path) -> str:
    return path.expanduser().read_text()


async def cancel_login(http: HttpTransport, flow_id: str) -> dict[str, Any]:
    """Cancel a sign-in in progress; its final view."""
    return dict(await http.request("DELETE", f"accounts/login/{flow_id}") or {})


async def add_api_key(http: HttpTransport, api_key: str, label: str | None = None) -> Account:
    """Store an OpenAI API key as an account (never echoed back)."""
    body: dict[str, Any] = {"api_key": api_key}
    if label:
        body["label"] = label
    return Account.model_validate(await http.request("POST", "accounts/api-key", body=body))


async def import_auth_json(
    http: HttpTransport,
    source: str | Path | dict[str, Any],
    label: str | None = None,
) -> Account:
    """Import a Codex ``auth.json``: a local file (read here and uploaded) or its content."""
    if isinstance(source, dict):
        content: Any = source
    else:
        path = Path(source)
        try:
            content = json.loads(await asyncio.to_thread(_read, path))
        except FileNotFoundError:
            raise AuthFileError(f"No Codex auth.json at {path}.") from None
        except (OSError, ValueError) as e:
            raise AuthFileError(f"Cannot read {path} as a Codex auth.json: {e}") from None
    body: dict[str, Any] = {"auth_json": content}
    if label:
        body["label"] = label
    return Account.model_validate(await http.request("POST", "accounts/import", body=body))


__all__ = ["CodeCallback", "add_api_key", "cancel_login", "device_code_login", "import_auth_json"]
