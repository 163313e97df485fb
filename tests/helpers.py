"""Helpers shared by the tests: server config for the fake upstream and a small REST client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fakes import FakeUpstream, codex_test_config, write_chatgpt_auth_json

ACCOUNT_ID = "acct-test-1"
EMAIL = "tester@example.com"


def extension_config(fake: FakeUpstream, data_dir: Path) -> dict[str, Any]:
    """``CodexExtensionApp`` config that points everything at the fake upstream."""
    return {
        "data_dir": str(data_dir),
        "chatgpt_base_url": fake.chatgpt_base_url,
        "openai_base_url": fake.openai_base_url,
        "auth_base_url": fake.auth_base_url,
        "ca_certificate": fake.ca_path,
        "codex_config_overrides": codex_test_config(fake),
    }


def sign_in_cli_target(fake: FakeUpstream, data_dir: Path) -> None:
    """Give the cli target's CODEX_HOME a ChatGPT login, as `codex login` would."""
    fake.add_account(ACCOUNT_ID, EMAIL, refresh_token="rt-test-1")
    write_chatgpt_auth_json(
        data_dir / "targets" / "cli" / "codex_home", EMAIL, ACCOUNT_ID, "rt-test-1"
    )


Fetch = Callable[..., Awaitable[Any]]


class Api:
    """Small JSON helper over pytest-jupyter's ``jp_fetch``."""

    def __init__(self, jp_fetch: Fetch) -> None:
        self._fetch = jp_fetch

    async def call(self, method: str, *path: str, body: Any = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {"method": method, "params": params}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PATCH"):
            kwargs["body"] = "{}"
        response = await self._fetch("codex", "api", *path, **kwargs)
        return json.loads(response.body) if response.body else None

    async def events(self, session_id: str, after: int = 0) -> list[dict[str, Any]]:
        return (await self.call("GET", "sessions", session_id, "events", after=after))["events"]

    async def wait_event(
        self,
        session_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Poll the event log until an event matches; fail with what was seen."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = await self.events(session_id)
            for event in seen:
                if predicate(event):
                    return event
            await asyncio.sleep(0.1)
        types = [e["type"] for e in seen]
        raise AssertionError(f"no matching event within {timeout}s; saw {types}")

    async def wait_approval(self, session_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = (await self.call("GET", "approvals"))["approvals"]
            mine = [a for a in pending if a["session_id"] == session_id]
            if mine:
                return mine[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)
        raise AssertionError("no approval request arrived")


def turn_completed(event: dict[str, Any]) -> bool:
    return event["type"] == "turn.completed"


def outputs_text(cell: Any) -> str:
    """Everything an executed notebook cell showed (text, data, tracebacks), with
    whitespace normalized: answers may wrap."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for v in output.get("data", {}).values())
        parts.extend(output.get("traceback", []))
    return " ".join(" ".join(parts).split())


def cell_with(notebook: Any, source: str) -> Any:
    """The first code cell of ``notebook`` whose source contains ``source``."""
    return next(c for c in notebook.cells if c.cell_type == "code" and source in c.source)
