"""Helpers for the account tests: a real store + AccountManager pointed at the fake upstream."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fakes import FakeUpstream, write_chatgpt_auth_json

from jupyter_codex.accounts import AccountManager
from jupyter_codex.store import Database
from jupyter_codex.store.crypto import SecretBox

EMAIL = "ada@example.com"
ACCOUNT = "acct-ada"


@contextlib.asynccontextmanager
async def open_manager(
    data_dir: Path, fake: FakeUpstream | None = None, **traits: Any
) -> AsyncIterator[AccountManager]:
    """An AccountManager on a fresh SQLite store in ``data_dir``, trusting the fake's CA."""
    db = Database(data_dir / "codex.db")
    await db.open()
    if fake is not None:
        traits = {"auth_base_url": fake.auth_base_url, "ca_certificate": fake.ca_path, **traits}
    manager = AccountManager(database=db, secret_box=SecretBox(data_dir), **traits)
    try:
        yield manager
    finally:
        await manager.aclose()
        await db.close()


def auth_json(
    fake: FakeUpstream,
    home: Path,
    *,
    account: str = ACCOUNT,
    email: str = EMAIL,
    expires_in: int = 3600,
    plan: str = "pro",
) -> tuple[Path, str]:
    """A `codex login`-style auth.json for a live fake account; returns (path, refresh token)."""
    refresh = fake.add_account(account, email, plan=plan)
    path = write_chatgpt_auth_json(
        home, email, account, refresh, plan=plan, access_exp=int(time.time()) + expires_in
    )
    return path, refresh


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@contextlib.contextmanager
def failing_token_server(status: int = 500) -> Iterator[str]:
    """A plain-HTTP endpoint whose ``/oauth/token`` always answers ``status`` (a broken
    issuer the TLS fake cannot play); yields its base URL."""
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            calls.append(self.path)
            body = json.dumps({"error": {"message": "upstream down", "code": "server_error"}})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
