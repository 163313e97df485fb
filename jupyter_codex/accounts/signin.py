"""Adding accounts from a client: auth.json content, device-code and browser sign-ins.

Device-code sign-in suits remote and JupyterHub users (the browser that approves
needs no route to the server). Each flow runs as a task owned here, polled by
the client through its id, and cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import AccountError, CodexError, NotFoundError
from ..models import Account
from ..tasks import OwnedTask, TaskOwner, within
from .authjson import parse_auth_json
from .manager import AccountManager
from .oauth import new_state, pkce_pair

#: Seconds a browser sign-in waits for its callback (Codex uses 10 minutes too).
BROWSER_LOGIN_TIMEOUT = 600.0

_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>jupyter-codex</title></head>"
    "<body style='font-family:sans-serif'><p>{message}</p></body></html>"
)


@dataclass
class _Flow:
    id: str
    prompt: dict[str, Any]
    label: str | None
    status: str = "pending"  # pending | completed | failed | cancelled
    account: Account | None = None
    error: str | None = None
    task: OwnedTask | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            **self.prompt,
            "account": self.account.model_dump() if self.account else None,
            "error": self.error,
        }


class SignInFlows:
    """Device-code sign-ins in progress (a few at most; finished ones kept briefly)."""

    KEEP_FINISHED = 600.0

    def __init__(self, accounts: AccountManager) -> None:
        self._accounts = accounts
        self._flows: dict[str, _Flow] = {}
        self._tasks = TaskOwner("codex-sign-in")

    async def import_content(self, content: Any, label: str | None) -> Account:
        """Add the login held by an uploaded auth.json document."""
        parsed = parse_auth_json(content, "The uploaded auth.json")
        if parsed.mode == "apikey":
            assert parsed.api_key is not None
            return await self._accounts.add_api_key(parsed.api_key, label)
        assert parsed.tokens is not None
        return await self._accounts.add_chatgpt_tokens(parsed.tokens, label)

    async def start_device_code(self, label: str | None = None) -> dict[str, Any]:
        """Ask the issuer for a user code; the returned view says where to enter it."""
        self._prune()
        login = self._accounts.device_login()
        prompt = await login.start()
        flow = _Flow(id=uuid.uuid4().hex, prompt=dict(prompt), label=label)

        async def finish() -> None:
            try:
                tokens = await login.wait()
                flow.account = await self._accounts.add_chatgpt_tokens(tokens, flow.label)
                flow.status = "completed"
            except asyncio.CancelledError:
                login.cancel()
                flow.status = "cancelled"
                raise
            except CodexError as e:
                flow.status, flow.error = "failed", e.message
            flow.prompt["finished_at"] = time.time()

        flow.task = self._tasks.start_soon(finish, name="codex-sign-in")
        self._flows[flow.id] = flow
        return flow.view()

    async def start_browser(self, label: str | None = None, port: int = 1455) -> dict[str, Any]:
        """Start the browser sign-in: open ``auth_url`` in a browser on this machine.

        OpenAI redirects to ``http://localhost:<port>/auth/callback`` (the redirect
        registered for Codex), so a one-shot listener on that port finishes the flow.
        Only useful where the browser runs on the server's machine; use the device
        code otherwise.
        """
        self._prune()
        oauth = self._accounts.oauth
        verifier, challenge = pkce_pair()
        state = new_state()
        redirect_uri = f"http://localhost:{port}/auth/callback"
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request_line = (await within(reader.readline(), 10)).decode("latin-1")
                target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
                url = urlsplit(target)
                query = parse_qs(url.query)
                ok = url.path == "/auth/callback" and query.get("state") == [state]
                code = (query.get("code") or [""])[0]
                if ok and code and not done.done():
                    done.set_result(code)
                    body = _PAGE.format(message="Signed in. You can close this tab.")
                    status = "200 OK"
                else:
                    body = _PAGE.format(message="This sign-in link is not valid any more.")
                    status = "400 Bad Request"
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                    f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}".encode()
                )
                await writer.drain()
            except (OSError, asyncio.TimeoutError, IndexError, UnicodeDecodeError):
                pass
            finally:
                writer.close()

        try:
            server = await asyncio.start_server(on_connect, "127.0.0.1", port)
        except OSError as e:
            raise AccountError(
                f"Cannot listen on localhost:{port} for the sign-in callback ({e.strerror}); "
                "is another sign-in (or `codex login`) running? Use the device code instead."
            ) from e
        expires_at = time.time() + BROWSER_LOGIN_TIMEOUT
        flow = _Flow(
            id=uuid.uuid4().hex,
            prompt={
                "auth_url": oauth.authorize_url(redirect_uri, state, challenge),
                "expires_at": expires_at,
            },
            label=label,
        )

        async def finish() -> None:
            try:
                async with server:
                    code = await within(done, BROWSER_LOGIN_TIMEOUT)
                tokens = await oauth.exchange_code(code, verifier, redirect_uri)
                flow.account = await self._accounts.add_chatgpt_tokens(tokens, flow.label)
                flow.status = "completed"
            except asyncio.CancelledError:
                flow.status = "cancelled"
                raise
            except asyncio.TimeoutError:
                flow.status, flow.error = "failed", "Nobody completed the sign-in in time."
            except CodexError as e:
                flow.status, flow.error = "failed", e.message
            finally:
                flow.prompt["finished_at"] = time.time()

        flow.task = self._tasks.start_soon(finish, name="codex-sign-in")
        self._flows[flow.id] = flow
        return flow.view()

    async def wait(self, flow_id: str) -> dict[str, Any]:
        """Wait until a flow ends (CLI)."""
        flow = self._flows.get(flow_id)
        if flow is None:
            raise NotFoundError(f"No sign-in with id {flow_id!r}.")
        if flow.task is not None:
            await flow.task.wait()
        return flow.view()

    def status(self, flow_id: str) -> dict[str, Any]:
        """A flow's state: ``pending`` until the user approves, then ``completed``."""
        flow = self._flows.get(flow_id)
        if flow is None:
            raise NotFoundError(f"No sign-in with id {flow_id!r}; it may have expired.")
        return flow.view()

    async def cancel(self, flow_id: str) -> dict[str, Any]:
        """Stop waiting for a sign-in."""
        flow = self._flows.get(flow_id)
        if flow is None:
            raise NotFoundError(f"No sign-in with id {flow_id!r}.")
        if flow.task is not None:
            await flow.task.stop()
        return flow.view()

    async def aclose(self) -> None:
        """Cancel every pending flow."""
        for flow_id in list(self._flows):
            with contextlib.suppress(AccountError, NotFoundError):
                await self.cancel(flow_id)
        await self._tasks.aclose()

    def _prune(self) -> None:
        now = time.time()
        for flow_id, flow in list(self._flows.items()):
            finished = flow.prompt.get("finished_at")
            if finished and now - finished > self.KEEP_FINISHED:
                del self._flows[flow_id]
