"""The fake upstream's single Tornado handler: decode, record, route, stream.

Runs on the fake's own thread; it only touches :class:`FakeUpstream` through its
locked ``_``-methods.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import zstandard
from tornado.iostream import StreamClosedError
from tornado.web import RequestHandler

from .records import RecordedRequest
from .sse import render, sse_frame
from .steps import HttpError, Reply

if TYPE_CHECKING:
    from .upstream import FakeUpstream

RESPONSES_PATHS = ("/backend-api/codex/responses", "/v1/responses")
DEVICE_PATHS = ("/api/accounts/deviceauth/usercode", "/api/accounts/deviceauth/token")


class FakeHandler(RequestHandler):
    """One catch-all handler, so unknown paths are recorded too (and answered 404 JSON)."""

    fake: FakeUpstream

    def initialize(self, fake: FakeUpstream) -> None:
        self.fake = fake
        self.closed = asyncio.Event()
        self.record: RecordedRequest | None = None

    def check_xsrf_cookie(self) -> None:
        return None

    def on_connection_close(self) -> None:
        self.closed.set()
        if self.record is not None:
            self.record.client_disconnected = True

    def write_json(self, status: int, obj: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj))

    def _decode(self) -> tuple[Any, str | None]:
        raw, enc = self.request.body, self.request.headers.get("Content-Encoding")
        if enc and "zstd" in enc.lower():
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        if not raw:
            return None, enc
        if "x-www-form-urlencoded" in self.request.headers.get("Content-Type", ""):
            return {k: v[-1].decode() for k, v in self.request.body_arguments.items()}, enc
        try:
            return json.loads(raw), enc
        except ValueError:
            return raw.decode("utf-8", "replace"), enc

    async def _dispatch(self) -> None:
        body, enc = self._decode()
        method, path, fake = self.request.method or "", self.request.path, self.fake
        req = RecordedRequest(
            method,
            path,
            {k: v[-1].decode() for k, v in self.request.query_arguments.items()},
            {k.lower(): v for k, v in self.request.headers.get_all()},
            body,
            enc,
        )
        self.record = req
        fake._record(req)
        if (method == "POST" and path in RESPONSES_PATHS) or path == "/backend-api/wham/usage":
            denied = fake._check_access(req.bearer)
            if denied is not None:
                req.denied = str(denied[1]["error"]["code"])  # type: ignore[index]
                return self.write_json(*denied)
        if method == "POST" and path in RESPONSES_PATHS:
            step = fake._pick_step(body if isinstance(body, dict) else {})
            if isinstance(step, HttpError):
                fake._after_http_error(req.account_id, step)
                for k, v in step.headers:
                    self.set_header(k, v)
                return self.write_json(step.status, step.body)
            await self._stream(req, step)
        elif method == "GET" and self.request.headers.get("Upgrade", "").lower() == "websocket":
            # 426 makes Codex's built-in provider fall back to HTTPS SSE at once (a 404 costs
            # ~6 s of retries; a 400 fails the turn).
            self.write_json(fake.websocket_status, {"error": {"message": "use HTTPS SSE"}})
        elif method == "GET" and path == "/backend-api/wham/usage":
            if fake.usage_delay:  # a slow usage endpoint (deadline tests)
                await asyncio.sleep(fake.usage_delay)
            self.write_json(*fake._usage_answer(req.account_id))
        elif method == "GET" and path == "/backend-api/wham/accounts/check":
            self.write_json(200, fake._accounts_check(req.account_id))
        elif method == "GET" and path in ("/backend-api/codex/models", "/v1/models"):
            self.write_json(200, fake._models())
        elif method == "POST" and path == "/oauth/token":
            self.write_json(*fake._refresh(body))
        elif method == "POST" and path in DEVICE_PATHS:
            self.write_json(*fake._device(path, body))
        else:
            msg = f"fake upstream: no route {method} {path}"
            self.write_json(404, {"error": {"message": msg, "code": "not_found"}})

    async def _stream(self, req: RecordedRequest, reply: Reply) -> None:
        body = req.body if isinstance(req.body, dict) else {}
        response_id = f"resp_{next(self.fake._ids)}"
        rendered = render(reply, body, response_id, self.fake._ids)
        for k, v in {**self.fake._live_headers(req.account_id), **dict(reply.headers)}.items():
            self.set_header(k, v)
        if body.get("stream") is False:
            return self.write_json(
                200,
                {
                    "id": response_id,
                    "object": "response",
                    "status": "completed",
                    "model": body.get("model"),
                    "output": rendered.output,
                    "usage": rendered.usage,
                },
            )
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        try:
            for kind, value in rendered.events:
                if kind == "sleep":
                    await asyncio.sleep(value)
                elif kind == "hang":
                    if not await self._hang():
                        return
                else:
                    self.write(sse_frame(value))
                    await self.flush()
        except StreamClosedError:
            req.client_disconnected = True

    async def _hang(self) -> bool:
        """Wait for ``release()``; False (connection dropped) when the fake stops or the
        client went away."""
        await self.flush()
        release, stopping = self.fake._hang_events()
        self.fake._count_hang(+1)
        waits = [asyncio.ensure_future(e.wait()) for e in (release, stopping, self.closed)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            self.fake._count_hang(-1)
        if self.closed.is_set() or stopping.is_set():
            stream = getattr(self.request.connection, "stream", None)
            if stream is not None:
                stream.close()
            return False
        return True

    async def get(self) -> None:
        await self._dispatch()

    async def post(self) -> None:
        await self._dispatch()

    async def put(self) -> None:
        await self._dispatch()

    async def delete(self) -> None:
        await self._dispatch()
