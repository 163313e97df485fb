"""A minimal asyncio JSONL client for ``codex app-server``, for the probe and fake's own tests.

Deliberately tiny and independent of ``jupyter_codex``: it exists to check the fake
against the real binary, not to be the product's supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .codex_env import config_args

JSON = dict[str, Any]


def codex_bin() -> str:
    import codex_cli_bin

    return os.environ.get("JUPYTER_CODEX_CODEX_BIN") or str(codex_cli_bin.bundled_codex_path())


class AppServer:
    """One ``codex app-server`` process: requests, notifications, server→client requests."""

    def __init__(
        self,
        codex_home: Path,
        config: dict[str, object],
        env: dict[str, str],
        cwd: Path | None = None,
    ) -> None:
        self.codex_home, self.config, self.env, self.cwd = codex_home, config, env, cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.notifications: list[JSON] = []  # every notification and server request, in order
        self.server_requests: asyncio.Queue[JSON] = asyncio.Queue()
        self.stderr_tail: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JSON]] = {}
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, client_name: str = "jupyter_codex_probe") -> JSON:
        env = {**os.environ, "CODEX_HOME": str(self.codex_home), **self.env}
        self.proc = await asyncio.create_subprocess_exec(
            codex_bin(),
            *config_args(self.config),
            "app-server",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=self.cwd,
            limit=64 * 1024 * 1024,
        )
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._drain())]
        result = await self.request(
            "initialize",
            {
                "clientInfo": {"name": client_name, "title": "probe", "version": "0.0.1"},
                "capabilities": {"experimentalApi": True},
            },
        )
        await self._send({"method": "initialized"})
        return result

    async def close(self) -> None:
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for t in self._tasks:
            t.cancel()

    async def _send(self, msg: JSON) -> None:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await self.proc.stdin.drain()

    async def request(self, method: str, params: JSON | None = None, timeout: float = 30) -> JSON:
        rid = next(self._ids)
        fut: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        await self._send({"id": rid, "method": method, "params": params or {}})
        msg = await asyncio.wait_for(fut, timeout)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg.get("result") or {}

    async def reply(self, request_id: Any, result: JSON) -> None:
        await self._send({"id": request_id, "result": result})

    async def wait_for(
        self, predicate: Callable[[JSON], bool], timeout: float = 30, start: int = 0
    ) -> JSON:
        """First message at index >= ``start`` matching ``predicate``; waits for new ones."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.notifications):
                if predicate(self.notifications[i]):
                    return self.notifications[i]
                i += 1
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message; stderr: {self.stderr_tail[-5:]}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_method(
        self, method: str, timeout: float = 30, start: int = 0, **match: Any
    ) -> JSON:
        def pred(m: JSON) -> bool:
            params = m.get("params") or {}
            return m.get("method") == method and all(params.get(k) == v for k, v in match.items())

        return await self.wait_for(pred, timeout, start)

    def methods(self, start: int = 0) -> list[str]:
        return [str(m.get("method")) for m in self.notifications[start:]]

    def unique_methods(self, start: int = 0) -> list[str]:
        return list(dict.fromkeys(self.methods(start)))

    def items(self, item_type: str, start: int = 0) -> list[JSON]:
        """Completed items of ``item_type`` among messages from index ``start``."""
        return [
            m["params"]["item"]
            for m in self.notifications[start:]
            if m.get("method") == "item/completed" and m["params"]["item"]["type"] == item_type
        ]

    async def start_thread(self, cwd: Path, **params: Any) -> str:
        """``thread/start`` with on-request approvals in a workspace-write sandbox."""
        defaults = {"approvalPolicy": "on-request", "sandbox": "workspace-write"}
        res = await self.request("thread/start", {"cwd": str(cwd), **defaults, **params})
        return str(res["thread"]["id"])

    async def run_turn(
        self,
        thread_id: str,
        prompt: str,
        on_request: Callable[[JSON], Awaitable[JSON | None]] | None = None,
        timeout: float = 60,
    ) -> tuple[JSON, int]:
        """Run a turn to ``turn/completed``, answering every server→client request with
        ``on_request`` (``{}`` if None). Returns the final turn and the index of the first
        message of this turn in ``notifications``."""
        start = len(self.notifications)
        res = await self.request(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": prompt}]}
        )
        turn_id = res["turn"]["id"]

        def completed(m: JSON) -> bool:
            turn = (m.get("params") or {}).get("turn") or {}
            return m.get("method") == "turn/completed" and turn.get("id") == turn_id

        done = asyncio.create_task(self.wait_for(completed, timeout, start))
        while not done.done():
            get = asyncio.create_task(self.server_requests.get())
            await asyncio.wait({done, get}, return_when=asyncio.FIRST_COMPLETED)
            if get.done():
                req = get.result()
                answer = await on_request(req) if on_request else None
                await self.reply(req["id"], answer if answer is not None else {})
            else:
                get.cancel()
        return done.result()["params"]["turn"], start

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        while line := await self.proc.stdout.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "method" not in msg and msg.get("id") in self._pending:
                self._pending.pop(msg["id"]).set_result(msg)
                continue
            self.notifications.append(msg)
            if "id" in msg:
                self.server_requests.put_nowait(msg)
            self._changed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("app-server exited"))
        self._changed.set()

    async def _drain(self) -> None:
        assert self.proc and self.proc.stderr
        while line := await self.proc.stderr.readline():
            self.stderr_tail = [*self.stderr_tail[-199:], line.decode(errors="replace").rstrip()]
