"""A loopback HTTPS fake of OpenAI's remote service: the one thing our tests fake.

It serves the ChatGPT backend (``/backend-api/...``), the platform API (``/v1/...``)
and the OAuth token endpoint on one TLS port, so the *real* ``codex app-server`` and
our own HTTP client can both talk to it. The server runs on its own thread and event
loop; every public method is safe to call from the test thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from .handler import FakeHandler
from .records import Account, RecordedRequest, TokenStore, Usage
from .sse import user_texts
from .steps import JSON, HttpError, Step, text

MODELS = ["gpt-5.4", "gpt-5.4-mini"]


@dataclass
class _Rule:
    match: str
    steps: list[Step]
    used: int = 0


class FakeUpstream:
    """HTTPS fake of chatgpt.com/backend-api, api.openai.com/v1 and auth.openai.com."""

    def __init__(self, default_reply: str = "Hello from the fake upstream.") -> None:
        self.default_reply = default_reply
        self.models = list(MODELS)  # ids listed under "data" of /models
        self.websocket_status = 426  # answer to Codex's WebSocket upgrade attempts
        self.requests: list[RecordedRequest] = []
        self._refresh_errors: list[str] = []
        #: seconds ``/wham/usage`` waits before answering (0: at once)
        self.usage_delay = 0.0
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._rules: list[_Rule] = []
        self._usage: dict[str, Usage] = {}
        self._usage_fail: dict[str, int] = {}
        self._extra_headers: dict[str | None, dict[str, str]] = {}
        self._tokens = TokenStore()
        self._ids = itertools.count(1)
        self._hanging = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="fake-upstream-"))
        self.ca = trustme.CA()
        self.ca_path = str(self._dir / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def chatgpt_base_url(self) -> str:
        return self.url + "/backend-api"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def auth_base_url(self) -> str:
        return self.url

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the fake's CA (``httpx.Client(verify=...)``)."""
        return ssl.create_default_context(cafile=self.ca_path)

    def start(self) -> FakeUpstream:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fake-upstream", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake upstream did not start")
        return self

    def stop(self) -> None:
        """Stop serving; hanging streams are cut (the client sees a dropped connection)."""
        loop, thread, stopping = self._loop, self._thread, self._stopping
        if loop is not None and thread is not None and stopping is not None and thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
            thread.join(10)
        self._thread = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FakeUpstream:  # noqa: PYI034 (Self needs py3.11)
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._release, self._stopping = asyncio.Event(), asyncio.Event()
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
            app = Application([(r"/.*", FakeHandler, {"fake": self})], log_function=lambda _: None)
            server = HTTPServer(app, ssl_options=ctx, idle_connection_timeout=60)
            sockets = bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            server.add_sockets(sockets)
            ready.set()
            await self._stopping.wait()
            server.stop()
            await asyncio.sleep(0.05)  # let cut streams unwind
            await server.close_all_connections()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    # --- scripting (test thread) --------------------------------------------------------

    def script(self, match: str, *steps: Step) -> None:
        """Answer requests whose user messages contain ``match`` with ``steps``, one per request.

        The latest user message is tried first, then the whole conversation, so the
        follow-up requests of a tool call (same user message plus ``function_call_output``)
        consume the next step of the same rule, while a later turn's marker wins over an
        earlier one. Rules are tried in the order added; exhausted rules are skipped;
        unmatched requests get ``text(default_reply)``.
        """
        with self._lock:
            self._rules.append(_Rule(match, list(steps)))

    def pending_steps(self) -> int:
        """Scripted steps not consumed yet (assert 0 at the end of a test)."""
        with self._lock:
            return sum(len(r.steps) - r.used for r in self._rules)

    def set_usage(
        self,
        account_id: str,
        primary_used: int = 0,
        secondary_used: int = 0,
        allowed: bool = True,
        limit_reached: bool = False,
        **more: Any,
    ) -> None:
        """What ``/wham/usage`` answers for ``account_id``; model responses for that account
        also carry the matching ``x-codex-*`` headers, as the real backend does. ``more``:
        any other :class:`Usage` field (plan_type, *_window_seconds, *_reset_after)."""
        usage = Usage(int(primary_used), int(secondary_used), allowed, limit_reached, **more)
        with self._lock:
            self._usage[account_id] = usage
            self._usage_fail.pop(account_id, None)

    def fail_usage(self, account_id: str, status: int | None = 500) -> None:
        """Make ``/wham/usage`` fail with ``status`` for that account (None: stop failing)."""
        with self._lock:
            if status is None:
                self._usage_fail.pop(account_id, None)
            else:
                self._usage_fail[account_id] = status

    def set_response_headers(self, account_id: str | None, headers: dict[str, str]) -> None:
        """Extra headers on every model response for ``account_id`` (None: any account)."""
        with self._lock:
            self._extra_headers[account_id] = dict(headers)

    def add_account(
        self, account_id: str, email: str, plan: str = "pro", refresh_token: str | None = None
    ) -> str:
        """Register an account (listed by accounts/check; used for minted JWTs) and a live
        refresh token for it; returns that token."""
        with self._lock:
            self._tokens.accounts[account_id] = Account(account_id, email, plan)
            return self._tokens.issue(account_id, refresh_token)

    def revoke_refresh_token(self, token: str) -> None:
        """Make ``token`` answer 401 ``refresh_token_invalidated``."""
        with self._lock:
            self._tokens.revoked.add(token)

    def enforce_token_expiry(self, access_ttl: int | None = 20) -> None:
        """Issue access tokens valid ``access_ttl`` s and answer 401 ``token_expired`` to a
        model or usage request whose bearer JWT is past its ``exp`` (None: stop)."""
        with self._lock:
            self._tokens.enforce_exp = access_ttl is not None
            if access_ttl is not None:
                self._tokens.access_ttl = int(access_ttl)

    def revoke_access_tokens(self) -> int:
        """Revoke every access token issued or seen so far (401 ``token_revoked``), as a
        sign-out elsewhere does; refresh tokens stay valid. Returns how many."""
        with self._lock:
            seen = {r.bearer for r in self.requests if r.bearer}
            fresh = (self._tokens.minted | seen) - self._tokens.revoked_access
            self._tokens.revoked_access |= fresh
            return len(fresh)

    @property
    def refreshes(self) -> int:
        """Successful refresh-token grants so far."""
        with self._lock:
            return self._tokens.refreshes

    def refresh_errors(self) -> list[str]:
        """The ``error`` of every refused refresh (e.g. ``refresh_token_reused``)."""
        with self._lock:
            return list(self._refresh_errors)

    def _check_access(self, token: str | None) -> tuple[int, JSON] | None:
        with self._lock:
            return self._tokens.check_access(token)

    def live_refresh_token(self, account_id: str) -> str | None:
        """The account's current (latest issued, unused) refresh token."""
        with self._lock:
            live = [t for t, a in self._tokens.live.items() if a == account_id]
            return live[-1] if live else None

    @property
    def device_interval(self) -> str:
        """The polling ``interval`` the device-code endpoint announces (a string, like OpenAI)."""
        with self._lock:
            return self._tokens.device_interval

    @device_interval.setter
    def device_interval(self, value: str) -> None:
        with self._lock:
            self._tokens.device_interval = value

    def approve_device_code(
        self, user_code: str, account_id: str, email: str | None = None, plan: str = "pro"
    ) -> None:
        """Approve a pending device-code sign-in as ``account_id`` (what the user does on
        ``{auth}/codex/device``); the next poll returns an authorization code."""
        with self._lock:
            self._ensure_account(account_id, email, plan)
            self._tokens.approve_device(user_code, account_id, self.url + "/deviceauth/callback")

    def pending_device_codes(self) -> list[str]:
        """User codes of device-code sign-ins nobody has approved yet."""
        with self._lock:
            return [
                d.user_code for d in self._tokens.devices.values() if d.authorization_code is None
            ]

    def authorize(
        self,
        account_id: str,
        code_challenge: str,
        redirect_uri: str,
        email: str | None = None,
        plan: str = "pro",
    ) -> str:
        """Browser sign-in: the one-time ``code`` the consent page would redirect with."""
        with self._lock:
            self._ensure_account(account_id, email, plan)
            return self._tokens.authorize(account_id, code_challenge, redirect_uri)

    def _ensure_account(self, account_id: str, email: str | None, plan: str) -> None:
        if account_id not in self._tokens.accounts:
            email = email or f"{account_id}@example.com"
            self._tokens.accounts[account_id] = Account(account_id, email, plan)

    @property
    def token_calls(self) -> int:
        """How many times ``POST /oauth/token`` was called."""
        with self._lock:
            return self._tokens.calls

    def release(self) -> None:
        """Let every currently hanging stream continue (and complete)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._release_now)

    @property
    def hanging(self) -> int:
        """Streams currently parked in a ``hang()`` step."""
        with self._lock:
            return self._hanging

    # --- inspection ---------------------------------------------------------------------

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method)
            ]

    def responses_requests(self, containing: str | None = None) -> list[RecordedRequest]:
        """Model requests (``POST …/responses`` on either API); with ``containing``, only
        those whose JSON body holds that text (a test's marker)."""
        with self._lock:
            found = [
                r for r in self.requests if r.method == "POST" and r.path.endswith("/responses")
            ]
        if containing is not None:
            found = [r for r in found if containing in json.dumps(r.body)]
        return found

    def wait_for(self, predicate: Callable[[FakeUpstream], Any], timeout: float = 10.0) -> Any:
        """Block until ``predicate(self)`` is truthy (re-checked on every request); returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate(self)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fake upstream: condition not met")
                self._cond.wait(min(left, 0.1))
            return result

    # --- used by the handler (server thread) --------------------------------------------

    def _record(self, req: RecordedRequest) -> None:
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def _pick_step(self, body: JSON) -> Step:
        texts = user_texts(body)
        candidates = ([texts[-1]] if texts else []) + ["\n".join(texts)]
        with self._lock:
            for haystack in candidates:
                for rule in self._rules:
                    if rule.used < len(rule.steps) and rule.match in haystack:
                        rule.used += 1
                        return rule.steps[rule.used - 1]
        return text(self.default_reply)

    def _live_headers(self, account_id: str | None) -> dict[str, str]:
        with self._lock:
            usage = self._usage.get(account_id or "")
            headers = usage.headers() if usage else {}
            headers.update(self._extra_headers.get(None, {}))
            headers.update(self._extra_headers.get(account_id, {}))
            return headers

    def _after_http_error(self, account_id: str | None, error: HttpError) -> None:
        """A 429 ``usage_limit_reached`` means the account *is* exhausted: ``/wham/usage``
        says so from then on (limit reached, 5-hour window at 100 %, its reset), as the
        real backend's does, until the test calls :meth:`set_usage` again."""
        body = error.body.get("error") if isinstance(error.body, dict) else None
        if error.status != 429 or not isinstance(body, dict) or not account_id:
            return
        if body.get("type") != "usage_limit_reached":
            return
        with self._lock:
            usage = self._usage.get(account_id, Usage())
            self._usage[account_id] = dataclasses.replace(
                usage,
                primary_used=100,
                allowed=False,
                limit_reached=True,
                plan_type=str(body.get("plan_type") or usage.plan_type),
                primary_reset_after=int(body.get("resets_in_seconds") or usage.primary_reset_after),
            )

    def _usage_answer(self, account_id: str | None) -> tuple[int, JSON]:
        with self._lock:
            status = self._usage_fail.get(account_id or "")
            if status is not None:
                return status, {"error": {"message": "usage unavailable", "code": "fake_failure"}}
            return 200, self._usage.get(account_id or "", Usage()).payload()

    def _accounts_check(self, account_id: str | None) -> JSON:
        with self._lock:
            known = self._tokens.accounts
            ids = list(known)
            if account_id and account_id not in ids:
                ids.insert(0, account_id)
            accounts = [
                {
                    "id": a,
                    "name": None,
                    "profile_picture_url": None,
                    "structure": "personal",
                    "plan_type": known[a].plan if a in known else "pro",
                    "is_deactivated": False,
                    "workspace_backend_origin": "NO_CONSTRAINT",
                    "account_routing_override": "NO_CONSTRAINT",
                }
                for a in ids
            ]
        default = account_id or (ids[0] if ids else None)
        return {"accounts": accounts, "account_ordering": ids, "default_account_id": default}

    def _models(self) -> JSON:
        """Codex reads ``models`` (ModelInfo list; empty = keep its bundled presets, no error
        logged); OpenAI SDK clients read ``data``. One body serves both."""
        data = [
            {"id": m, "object": "model", "owned_by": "openai", "created": 0} for m in self.models
        ]
        return {"models": [], "object": "list", "data": data}

    def _refresh(self, body: Any) -> tuple[int, JSON]:
        with self._cond:
            try:
                status, answer = self._tokens.token(body)
                if status != 200 and isinstance(answer.get("error"), str):
                    self._refresh_errors.append(answer["error"])
                return status, answer
            finally:
                self._cond.notify_all()

    def _device(self, path: str, body: Any) -> tuple[int, JSON]:
        with self._cond:
            try:
                if path.endswith("/usercode"):
                    return self._tokens.device_usercode(body)
                return self._tokens.device_token(body)
            finally:
                self._cond.notify_all()

    def _hang_events(self) -> tuple[asyncio.Event, asyncio.Event]:
        assert self._release is not None and self._stopping is not None
        return self._release, self._stopping

    def _count_hang(self, delta: int) -> None:
        with self._cond:
            self._hanging += delta
            self._cond.notify_all()

    def _release_now(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = asyncio.Event()
