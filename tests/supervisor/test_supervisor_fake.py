"""Supervision against ``fake_app_server.py``: misbehaviour the real binary will not show on demand."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from supervisor_helpers import Events, ManagerPool
from traitlets.config import Config

from jupyter_codex.errors import AppServerError, AppServerStartError, RpcTimeoutError


def fake_env(
    tmp_path: Path, mode: str = "normal", after_init: list[Any] | None = None
) -> dict[str, str]:
    return {
        "FAKE_MODE": mode,
        "FAKE_RECORD": str(tmp_path / "record.jsonl"),
        "FAKE_AFTER_INIT": json.dumps(after_init or []),
    }


def server_request(request_id: int | str, method: str) -> dict[str, Any]:
    return {"send": {"id": request_id, "method": method, "params": {"threadId": "t1"}}}


async def replies(tmp_path: Path, count: int, timeout: float = 5.0) -> dict[Any, dict[str, Any]]:
    """Our answers to server requests, as recorded by the fake, keyed by id."""

    async def poll() -> dict[Any, dict[str, Any]]:
        record = tmp_path / "record.jsonl"
        while True:
            found = {}
            if record.exists():
                for line in record.read_text().splitlines():
                    msg = json.loads(line)
                    if "method" not in msg and "id" in msg:
                        found[msg["id"]] = msg
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


async def test_server_requests_are_always_answered(
    managers: ManagerPool, fake_bin: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with managers:
        manager = managers.make(
            codex_bin=fake_bin,
            server_request_timeout=0.3,
            env=fake_env(
                tmp_path,
                after_init=[
                    server_request(100, "item/commandExecution/requestApproval"),
                    server_request(101, "item/permissions/requestApproval"),
                    server_request(102, "item/tool/requestUserInput"),
                    server_request(103, "mcpServer/elicitation/request"),
                    server_request(104, "account/chatgptAuthTokens/refresh"),
                    server_request("s-105", "item/fileChange/requestApproval"),
                    server_request(106, "item/tool/call"),
                    server_request(107, "attestation/generate"),
                ],
            ),
        )
        seen: list[dict[str, Any]] = []

        async def never(params: dict[str, Any]) -> dict[str, Any]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def answer(params: dict[str, Any]) -> dict[str, Any]:
            seen.append(params)
            return {"decision": "accept"}

        async def broken(params: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("cannot refresh token=abc.def.ghi right now")

        for method in (
            "item/commandExecution/requestApproval",
            "item/permissions/requestApproval",
            "item/tool/requestUserInput",
            "mcpServer/elicitation/request",
            "item/tool/call",
        ):
            manager.set_server_request_handler(method, never)
        manager.set_server_request_handler("item/fileChange/requestApproval", answer)
        manager.set_server_request_handler("account/chatgptAuthTokens/refresh", broken)

        with caplog.at_level(logging.WARNING):
            await manager.ensure_started()
            got = await replies(tmp_path, 8)

        # Unanswered in time: each method's safe "no".
        assert got[100]["result"] == {"decision": "decline"}
        assert got[101]["result"] == {"permissions": {}, "scope": "turn"}
        assert got[102]["result"] == {"answers": {}}
        assert got[103]["result"] == {"action": "decline", "content": None, "_meta": None}
        assert got[106]["error"]["code"] == -32603  # no safe fallback: an error
        # Answered: the handler's result, string ids preserved.
        assert got["s-105"]["result"] == {"decision": "accept"}
        assert seen == [{"threadId": "t1"}]
        # A failing handler: internal error, secrets masked.
        assert got[104]["error"]["code"] == -32603
        assert "abc.def.ghi" not in got[104]["error"]["message"]
        # Nobody registered: method not found.
        assert got[107]["error"]["code"] == -32601
        assert "no answer in time" in caplog.text or "declining" in caplog.text


async def test_resolved_request_cancels_its_handler(
    managers: ManagerPool, fake_bin: str, tmp_path: Path
) -> None:
    async with managers:
        manager = managers.make(
            codex_bin=fake_bin,
            env=fake_env(
                tmp_path,
                after_init=[
                    server_request(7, "item/commandExecution/requestApproval"),
                    {"sleep": 0.2},
                    {"send": {"method": "serverRequest/resolved", "params": {"requestId": 7}}},
                ],
            ),
        )
        cancelled = asyncio.Event()
        started = asyncio.Event()

        async def wait_for_user(params: dict[str, Any]) -> dict[str, Any]:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("unreachable")

        manager.set_server_request_handler("item/commandExecution/requestApproval", wait_for_user)
        notes: list[str] = []
        manager.add_notification_listener(lambda method, params: notes.append(method))
        await manager.ensure_started()
        await asyncio.wait_for(cancelled.wait(), 5)
        assert started.is_set()
        assert "serverRequest/resolved" in notes
        with pytest.raises(asyncio.TimeoutError):
            await replies(tmp_path, 1, timeout=0.2)  # nothing was sent back


async def test_oversized_and_malformed_lines_are_skipped(
    managers: ManagerPool, fake_bin: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with managers:
        limit = 64 * 1024
        manager = managers.make(
            codex_bin=fake_bin,
            max_line_bytes=limit,
            env=fake_env(
                tmp_path,
                after_init=[
                    {"big": 5 * limit},
                    {"raw": "this is not json"},
                    {"raw": "[1, 2, 3]"},
                    {"raw": '{"id": 1'},
                    {"send": {"method": "fake/after", "params": {"ok": True}}},
                ],
            ),
        )
        notes: list[tuple[str, dict[str, Any]]] = []
        remove = manager.add_notification_listener(lambda m, p: notes.append((m, p)))
        with caplog.at_level(logging.WARNING):
            await manager.ensure_started()
            for _ in range(100):
                if notes:
                    break
                await asyncio.sleep(0.02)
        assert notes == [("fake/after", {"ok": True})]  # the oversized one never arrived
        assert f"Skipped a {5 * limit}-byte line" in caplog.text
        assert caplog.text.count("malformed line") == 2
        assert "non-object JSON" in caplog.text
        assert manager.state == "running"

        # The stream stayed in sync: requests still work.
        assert await manager.request("fake/echo", {"x": 1}) == {"params": {"x": 1}}
        # An oversized *answer* fails its request at once, without waiting for a timeout.
        with pytest.raises(AppServerError, match="max_line_bytes"):
            await manager.request("fake/big", {"size": 2 * limit}, timeout=30)
        assert await manager.request("fake/echo", {"x": 2}) == {"params": {"x": 2}}
        remove()
        remove()  # removers are idempotent


async def test_request_timeout(managers: ManagerPool, fake_bin: str, tmp_path: Path) -> None:
    async with managers:
        manager = managers.make(codex_bin=fake_bin, request_timeout=0.2, env=fake_env(tmp_path))
        with pytest.raises(RpcTimeoutError, match="fake/never"):
            await manager.request("fake/never")
        assert await manager.request("fake/echo", {"a": 1}, timeout=5) == {"params": {"a": 1}}


async def test_start_failure_reports_redacted_stderr(
    managers: ManagerPool, fake_bin: str, tmp_path: Path
) -> None:
    async with managers:
        manager = managers.make(codex_bin=fake_bin, env=fake_env(tmp_path, "exit_immediately"))
        with pytest.raises(AppServerStartError) as err:
            await manager.ensure_started()
        message = err.value.message
        assert "did not start" in message
        assert "exit code 1" in message
        assert "fatal: cannot start" in message
        assert "supersecret123" not in message
        assert manager.state == "stopped"
        assert manager.pid is None


async def test_crash_loop_ends_dead_and_a_request_tries_again(
    managers: ManagerPool,
    fake_bin: str,
    tmp_path: Path,
    fast_restarts: Config,
    events: Events,
) -> None:
    async with managers:
        fast_restarts.AppServerRestarter.restart_limit = 2
        manager = managers.make(
            codex_bin=fake_bin, config=fast_restarts, env=fake_env(tmp_path, "exit_after_init")
        )
        manager.add_lifecycle_listener(events)
        await manager.ensure_started()  # the handshake itself succeeds
        dead = await events.wait_for("dead")
        assert "3 times in a row" in dead["reason"]
        assert manager.state == "dead"
        assert manager.pid is None
        restarting = [data for name, data in events.items if name == "restarting"]
        assert [r["attempt"] for r in restarting] == [1, 2]
        assert restarting[0]["delay"] < restarting[1]["delay"]
        assert events.names()[-1] == "dead"
        died = [data for name, data in events.items if name == "died"]
        assert died and all(d["unexpected"] for d in died)

        # A user action (the next request) tries once more.
        events.items.clear()
        await manager.ensure_started()
        assert events.names()[0] == "started"
        await events.wait_for("dead")


async def test_stop_kills_a_process_group_that_ignores_eof_and_sigterm(
    managers: ManagerPool, fake_bin: str, tmp_path: Path, events: Events
) -> None:
    async with managers:
        child_pid_file = tmp_path / "child.pid"
        env = fake_env(tmp_path, "ignore_term")
        env["FAKE_CHILD_PID"] = str(child_pid_file)
        manager = managers.make(codex_bin=fake_bin, shutdown_wait_time=0.4, env=env)
        manager.add_lifecycle_listener(events)
        await manager.ensure_started()
        pid = manager.pid
        child_pid = int(child_pid_file.read_text())
        await manager.stop()
        died = await events.wait_for("died")
        assert died == {"pid": pid, "returncode": -9, "unexpected": False}
        for _ in range(50):  # the orphaned child is reaped by init, asynchronously
            try:
                with open(f"/proc/{child_pid}/stat") as f:  # noqa: ASYNC230
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except FileNotFoundError:
                break
            await asyncio.sleep(0.02)
        else:
            os.kill(child_pid, 9)
            pytest.fail("the child in the process group survived stop()")


async def test_a_failing_start_hook_does_not_fail_the_start(
    managers: ManagerPool, fake_bin: str, tmp_path: Path
) -> None:
    async with managers:
        manager = managers.make(codex_bin=fake_bin, env=fake_env(tmp_path))
        calls: list[str] = []

        async def login() -> None:
            calls.append("login")
            await manager.request("fake/echo", {"during": "hook"})
            raise RuntimeError("login refused: access_token=abc123secret")

        manager.add_start_hook(login)
        assert await manager.request("fake/echo", {"n": 1}) == {"params": {"n": 1}}
        assert calls == ["login"]
        info = manager.info()
        assert info["state"] == "running"
        assert "login refused" in info["last_error"]
        assert "abc123secret" not in info["last_error"]
