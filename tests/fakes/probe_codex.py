"""Probe the real ``codex app-server`` against :class:`FakeUpstream` and print a report.

Run from the repo root: ``python tests/fakes/probe_codex.py`` (``-v`` prints every
observed method and every request the fake saw). CODEX_HOME lives under
``$PROBE_DIR`` (default ``~/.cache/jupyter-codex-probe``) because Codex refuses to
create its helper binaries under /tmp.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "fakes"

from .appserver import JSON, AppServer, codex_bin
from .codex_env import codex_test_config, codex_test_env, make_jwt, write_chatgpt_auth_json
from .sse import tool_names
from .steps import (
    apply_patch,
    exec_command,
    hang,
    http_error,
    reasoning,
    text,
    usage_limit_error,
)
from .upstream import FakeUpstream

ACCOUNT, EMAIL = "acct-probe-1", "probe@example.com"
VERBOSE = "-v" in sys.argv


class Probe:
    """Shared state of one probe run: the fake, a CODEX_HOME, a workspace, the server."""

    def __init__(self, fake: FakeUpstream, root: Path) -> None:
        self.fake, self.root = fake, root
        self.home, self.work = root / "codex_home", root / "work"
        self.work.mkdir(parents=True)
        self.server: AppServer | None = None
        self.thread_id = ""
        self.notes: list[str] = []

    async def start_server(self, home: Path | None = None, **config: str) -> AppServer:
        server = AppServer(
            home or self.home,
            codex_test_config(self.fake, **config),
            codex_test_env(self.fake),
            cwd=self.work,
        )
        await server.start()
        return server

    async def new_thread(self, server: AppServer) -> str:
        return await server.start_thread(self.work)

    async def turn(
        self,
        server: AppServer,
        thread_id: str,
        prompt: str,
        on_request: Callable[[JSON], Awaitable[JSON | None]] | None = None,
    ) -> tuple[JSON, int]:
        return await server.run_turn(thread_id, prompt, on_request)

    def items(self, server: AppServer, start: int, item_type: str) -> list[JSON]:
        return server.items(item_type, start)


async def check_text(p: Probe) -> str:
    p.fake.script(
        "PROBE-A", reasoning("Thinking about it") + text("Hello from fake", chunks=4, delay=0.05)
    )
    p.server = await p.start_server()
    p.thread_id = await p.new_thread(p.server)
    turn, start = await p.turn(p.server, p.thread_id, "PROBE-A say hello")
    deltas = p.server.methods(start).count("item/agentMessage/delta")
    msgs = [i["text"] for i in p.items(p.server, start, "agentMessage")]
    req = p.fake.responses_requests()[-1]
    tools = sorted(tool_names(req.body))
    p.notes.append(f"tools offered: {tools}")
    p.notes.append(f"request headers: {sorted(req.headers)}")
    p.notes.append(f"content-encoding of /responses: {req.content_encoding!r}")
    assert turn["status"] == "completed" and msgs == ["Hello from fake"], (turn, msgs)
    return f"status={turn['status']} deltas={deltas} text={msgs} methods={p.server.unique_methods(start)}"


async def _approval_turn(p: Probe, marker: str, filename: str, decision: str) -> str:
    assert p.server
    p.fake.script(marker, exec_command(f"touch {filename}"), text("done"))
    seen: list[str] = []

    async def answer(req: JSON) -> JSON:
        seen.append(req["method"])
        return {"decision": decision}

    turn, start = await p.turn(p.server, p.thread_id, f"{marker} make a file", answer)
    cmd = p.items(p.server, start, "commandExecution")
    exists = (p.work / filename).exists()
    status = [(c["status"], c.get("exitCode")) for c in cmd]
    assert turn["status"] == "completed", turn
    assert exists == (decision == "accept"), (decision, exists)
    return f"requests={seen} item={status} file_exists={exists} turn={turn['status']}"


async def check_accept(p: Probe) -> str:
    return await _approval_turn(p, "PROBE-B", "approved.txt", "accept")


async def check_decline(p: Probe) -> str:
    return await _approval_turn(p, "PROBE-C", "declined.txt", "decline")


async def check_patch(p: Probe) -> str:
    assert p.server
    patch = "*** Begin Patch\n*** Add File: patched.txt\n+hello from patch\n*** End Patch"
    p.fake.script("PROBE-D", apply_patch(patch), text("patched"))
    seen: list[str] = []

    async def answer(req: JSON) -> JSON:
        seen.append(req["method"])
        return {"decision": "accept"}

    _, start = await p.turn(p.server, p.thread_id, "PROBE-D patch it", answer)
    changes = p.items(p.server, start, "fileChange")
    content = (p.work / "patched.txt").read_text() if (p.work / "patched.txt").exists() else None
    diff = [c.get("diff") for ch in changes for c in ch.get("changes", [])]
    assert content == "hello from patch\n" and changes, (content, changes)
    return (
        f"approval_requests={seen or 'none'} fileChange={[c['status'] for c in changes]} "
        f"diff={diff} turn_diff={'turn/diff/updated' in p.server.methods(start)}"
    )


async def check_patch_outside(p: Probe) -> str:
    assert p.server
    # not under /tmp or $TMPDIR: workspace-write makes those writable roots (no approval)
    target = Path.home() / ".cache" / f"jupyter-codex-probe-outside-{os.getpid()}.txt"
    patch = f"*** Begin Patch\n*** Add File: {target}\n+outside\n*** End Patch"
    p.fake.script("PROBE-D2", apply_patch(patch), text("patched outside"))
    seen: list[str] = []

    async def answer(req: JSON) -> JSON:
        seen.append(req["method"])
        return {"decision": "accept"}

    turn, _ = await p.turn(p.server, p.thread_id, "PROBE-D2 patch outside", answer)
    written = target.exists()
    target.unlink(missing_ok=True)
    assert seen == ["item/fileChange/requestApproval"] and written, (seen, turn)
    return f"approval_requests={seen} file written after accept={written}"


async def check_interrupt(p: Probe) -> str:
    assert p.server
    p.fake.script("PROBE-E", hang())
    start = len(p.server.notifications)
    res = await p.server.request(
        "turn/start", {"threadId": p.thread_id, "input": [{"type": "text", "text": "PROBE-E hang"}]}
    )
    turn_id = res["turn"]["id"]
    await asyncio.to_thread(p.fake.wait_for, lambda f: f.hanging >= 1, 30)
    t0 = time.monotonic()
    await p.server.request("turn/interrupt", {"threadId": p.thread_id, "turnId": turn_id})
    done = await p.server.wait_method("turn/completed", 15, start)
    dt = time.monotonic() - t0
    await asyncio.to_thread(p.fake.wait_for, lambda f: f.hanging == 0, 5)
    cut = p.fake.responses_requests()[-1].client_disconnected
    status = done["params"]["turn"]["status"]
    assert status == "interrupted", done
    return f"status={status} after {dt:.2f}s; fake saw client disconnect={cut}"


async def check_tokens_login(p: Probe) -> str:
    home = p.root / "home_tokens"
    home.mkdir()
    server = await p.start_server(home)
    try:
        jwt = make_jwt("tok@example.com", "acct-tokens", "pro")
        await server.request(
            "account/login/start",
            {
                "type": "chatgptAuthTokens",
                "accessToken": jwt,
                "chatgptAccountId": "acct-tokens",
                "chatgptPlanType": "pro",
            },
        )
        account = await server.request("account/read", {})
        p.fake.set_usage("acct-tokens", primary_used=42, secondary_used=7)
        limits = await server.request("account/rateLimits/read", {})
        tid = await p.new_thread(server)
        p.fake.script(
            "PROBE-F",
            text("tokens ok"),
            http_error(401, {"error": {"message": "expired", "code": "token_expired"}}),
            text("after refresh"),
        )
        turn, start = await p.turn(server, tid, "PROBE-F hi")
        req = p.fake.responses_requests()[-1]
        ok = req.bearer == jwt and req.account_id == "acct-tokens"
        live = [
            m["params"]
            for m in server.notifications[start:]
            if m.get("method") == "account/rateLimits/updated"
        ]
        assert ok and turn["status"] == "completed", (req.headers, turn)
        fresh = make_jwt("tok@example.com", "acct-tokens", "pro")
        asked: list[JSON] = []

        async def refresh(r: JSON) -> JSON:
            asked.append(r)
            return {
                "accessToken": fresh,
                "chatgptAccountId": "acct-tokens",
                "chatgptPlanType": "pro",
            }

        turn2, _ = await p.turn(server, tid, "PROBE-F again", refresh)
        retried = p.fake.responses_requests()[-1].bearer == fresh
        assert turn2["status"] == "completed" and retried, turn2
        return (
            f"bearer seen={ok} account/read={account.get('account')} "
            f"rateLimits.primary={limits['rateLimits'].get('primary')} "
            f"live rateLimits/updated={len(live)} {live[:1]}; on 401: "
            f"{[(a['method'], a['params']) for a in asked]} retried with new bearer={retried}"
        )
    finally:
        await server.close()


async def check_resume(p: Probe) -> str:
    assert p.server
    await p.server.close()
    t0 = time.monotonic()
    p.server = await p.start_server()
    boot = time.monotonic() - t0
    res = await p.server.request("thread/resume", {"threadId": p.thread_id})
    turns = len(res["thread"].get("turns") or [])
    p.fake.script("PROBE-G", text("resumed ok"))
    turn, _ = await p.turn(p.server, p.thread_id, "PROBE-G again")
    history = "\n".join(map(str, p.fake.responses_requests()[-1].body["input"]))
    assert turn["status"] == "completed" and "PROBE-A" in history
    return f"restart {boot:.2f}s; resumed turns={turns}; next turn {turn['status']} with history"


async def check_refresh(p: Probe) -> str:
    home = p.root / "home_refresh"
    token = p.fake.add_account("acct-refresh", "refresh@example.com")
    write_chatgpt_auth_json(
        home, "refresh@example.com", "acct-refresh", token, access_exp=int(time.time()) - 60
    )
    before = p.fake.token_calls
    server = await p.start_server(home)
    try:
        tid = await p.new_thread(server)
        at_start = p.fake.token_calls - before
        p.fake.script("PROBE-H", text("fresh"))
        turn, _ = await p.turn(server, tid, "PROBE-H hi")
        bodies = [r.body for r in p.fake.requests_to("/oauth/token")]
        saved = json.loads((home / "auth.json").read_text())["tokens"]["refresh_token"]
        assert saved != token and turn["status"] == "completed"
        return (
            f"expired access token -> /oauth/token calls by thread/start={at_start}, "
            f"total={p.fake.token_calls - before}; body={bodies[-1] if bodies else None}; "
            f"auth.json rotated={saved != token}; turn={turn['status']}"
        )
    finally:
        await server.close()


async def check_429(p: Probe) -> str:
    assert p.server
    p.fake.script("PROBE-I", usage_limit_error())
    turn, start = await p.turn(p.server, p.thread_id, "PROBE-I hi")
    errors = [
        m["params"].get("error")
        for m in p.server.notifications[start:]
        if m.get("method") == "error"
    ]
    return f"turn={turn['status']} error={turn.get('error')} error-notifications={len(errors)}"


async def check_builtin(p: Probe) -> str:
    home = p.root / "home_builtin"
    token = p.fake.add_account("acct-builtin", "builtin@example.com")
    write_chatgpt_auth_json(home, "builtin@example.com", "acct-builtin", token)
    server = await p.start_server(home, provider="openai")
    try:
        tid = await p.new_thread(server)
        p.fake.script("PROBE-J", text("builtin ok"))
        first = len(p.fake.requests)
        t0 = time.monotonic()
        turn, _ = await p.turn(server, tid, "PROBE-J hi")
        dt = time.monotonic() - t0
        seen = [
            (r.method, r.path, r.content_encoding)
            for r in p.fake.requests[first:]
            if r.path.endswith("/responses")
        ]
        body_ok = isinstance(p.fake.responses_requests()[-1].body, dict)
        assert turn["status"] == "completed" and body_ok
        return f"turn {turn['status']} in {dt:.2f}s; /responses calls={seen} zstd decoded={body_ok}"
    finally:
        await server.close()


async def check_apikey(p: Probe) -> str:
    home = p.root / "home_apikey"
    home.mkdir()
    server = await p.start_server(home, provider="openai", auth="apikey")
    try:
        await server.request("account/login/start", {"type": "apiKey", "apiKey": "sk-fake-123"})
        tid = await p.new_thread(server)
        p.fake.script("PROBE-K", text("api key ok"))
        turn, _ = await p.turn(server, tid, "PROBE-K hi")
        r = p.fake.responses_requests()[-1]
        assert turn["status"] == "completed" and r.bearer == "sk-fake-123"
        return (
            f"POST {r.path} bearer=sk-… account-id={r.account_id} "
            f"encoding={r.content_encoding} turn={turn['status']}"
        )
    finally:
        await server.close()


CHECKS: list[tuple[str, Callable[[Probe], Awaitable[str]]]] = [
    ("a plain text turn", check_text),
    ("b escalated exec, accept", check_accept),
    ("c escalated exec, decline", check_decline),
    ("d apply_patch add file", check_patch),
    ("d2 apply_patch outside cwd", check_patch_outside),
    ("e hang + turn/interrupt", check_interrupt),
    ("i 429 usage_limit_reached", check_429),
    ("g kill, restart, thread/resume", check_resume),
    ("f chatgptAuthTokens login", check_tokens_login),
    ("h managed refresh via auth.json", check_refresh),
    ("j built-in provider (WebSocket 426 -> SSE)", check_builtin),
    ("k apiKey login, built-in provider, /v1", check_apikey),
]


def probe_root() -> Path:
    """``$PROBE_DIR`` or ``~/.cache/jupyter-codex-probe`` (absolute: CODEX_HOME must be)."""
    default = os.path.expanduser("~/.cache/jupyter-codex-probe")
    base = Path(os.path.abspath(os.environ.get("PROBE_DIR") or default))
    return base / f"run-{int(time.time())}"


async def main() -> int:
    root = probe_root()
    print(f"codex: {codex_bin()}\nroot: {root}")
    failures = 0
    with FakeUpstream() as fake:
        token = fake.add_account(ACCOUNT, EMAIL)
        write_chatgpt_auth_json(root / "codex_home", EMAIL, ACCOUNT, token)
        probe = Probe(fake, root)
        for name, check in CHECKS:
            t0 = time.monotonic()
            try:
                out, ok = await check(probe), "OK  "
            except Exception as exc:  # noqa: BLE001 (report and keep probing)
                out, ok = f"{type(exc).__name__}: {exc}", "FAIL"
                failures += 1
                if VERBOSE:
                    traceback.print_exc()
            print(f"[{ok}] {name} ({time.monotonic() - t0:.2f}s): {out}")
        if probe.server:
            if VERBOSE:
                print("methods:", probe.server.unique_methods())
                print("stderr:", *probe.server.stderr_tail[-20:], sep="\n  ")
            await probe.server.close()
        for note in probe.notes:
            print("note:", note)
        paths: dict[str, int] = {}
        for r in fake.requests:
            key = f"{r.method} {r.path}"
            paths[key] = paths.get(key, 0) + 1
        print("fake saw:", paths)
    if "--keep" not in sys.argv:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


def _run() -> Any:
    return asyncio.run(main())


if __name__ == "__main__":
    sys.exit(_run())
