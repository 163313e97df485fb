"""The relay's HTTP/1.1 transport against small real servers on 127.0.0.1.

The live proxy tests run every streamed request through it against the fake
upstream (TLS, chunked SSE); these cover what that fake never does: idle
connections the server closed, stalls, odd framings, header injection, and the
switch to httpx when an environment proxy applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from fakes import FakeUpstream, text

from jupyter_codex.accounts.credentials import Credentials
from jupyter_codex.proxy.transport import ChunkedDecoder, StreamTransport, TransportError
from jupyter_codex.proxy.upstream import UpstreamClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request (head and Content-Length body), or None at EOF."""
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


def _chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


class Server:
    """A loopback server: ``handler(reader, writer, connection_number)`` per connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[int, bytes]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Server:  # noqa: PYI034
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)  # type: ignore[arg-type]
            try:
                await self.handler(reader, writer, self.connections)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:  # a handler may still stall on purpose
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backend-api/codex/responses"


@contextlib.asynccontextmanager
async def plain_transport(read_timeout: float = 5.0) -> AsyncIterator[StreamTransport]:
    t = StreamTransport(lambda: pytest.fail("no TLS here"), read_timeout=read_timeout)
    try:
        yield t
    finally:
        await t.aclose()


async def _body(t: StreamTransport, url: str, payload: bytes = b"{}") -> tuple[int, bytes]:
    response = await t.post(url, payload, {"Content-Type": "application/json"})
    try:
        return response.status_code, b"".join([c async for c in response.aiter_bytes()])
    finally:
        await response.aclose()


def test_chunked_decoder_gives_the_same_body_however_the_bytes_are_split() -> None:
    pieces = [b'data: {"a": 1}\n\n', b"x" * 300, b"data: [DONE]\n\n"]
    wire = b"".join(
        [b"%x;ext=1\r\n%s\r\n" % (len(pieces[0]), pieces[0])]
        + [b"%X\r\n%s\r\n" % (len(p), p) for p in pieces[1:]]
        + [b"0\r\nTrailer: x\r\n\r\n"]
    )
    for step in (1, 2, 3, 7, 64, len(wire)):
        decoder = ChunkedDecoder()
        out = b"".join(decoder.feed(wire[i : i + step]) for i in range(0, len(wire), step))
        assert out == b"".join(pieces), step
        assert decoder.done
    with pytest.raises(TransportError, match="chunk size"):
        ChunkedDecoder().feed(b"zz\r\n")
    with pytest.raises(TransportError, match="CRLF"):
        ChunkedDecoder().feed(b"2\r\nabXY")


async def test_keep_alive_reuses_one_connection() -> None:
    async with plain_transport() as transport:
        await _test_keep_alive_reuses_one_connection(transport)


async def _test_keep_alive_reuses_one_connection(transport: StreamTransport) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while (request := await _read_request(reader)) is not None:
            server.requests.append((n, request))
            writer.write(_SSE_HEAD + _chunked(b'data: {"n": %d}\n\n' % len(server.requests)))
            await writer.drain()

    async with Server(handler) as server:
        for i in (1, 2, 3):
            assert await _body(transport, server.url, b'{"i": %d}' % i) == (
                200,
                b'data: {"n": %d}\n\n' % i,
            )
    assert server.connections == 1 and transport.opened == 1
    first = server.requests[0][1]
    assert first.startswith(b"POST /backend-api/codex/responses HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first and first.endswith(b'{"i": 1}')


async def test_a_reused_connection_the_server_closed_is_retried_once_on_a_new_one() -> None:
    async with plain_transport() as transport:
        await _test_a_reused_connection_the_server_closed_is_retried_once_on_a_new_one(transport)


async def _test_a_reused_connection_the_server_closed_is_retried_once_on_a_new_one(
    transport: StreamTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        request = await _read_request(reader)
        assert request is not None
        server.requests.append((n, request))
        writer.write(_SSE_HEAD + _chunked(b"data: {}\n\n"))
        await writer.drain()
        if n == 1:  # keep-alive promised, but the next request finds the door shut
            request = await _read_request(reader)
            if request is not None:
                server.requests.append((n, request))
            writer.transport.abort()

    async with Server(handler) as server:
        assert (await _body(transport, server.url))[0] == 200
        assert (await _body(transport, server.url))[0] == 200
    assert [n for n, _ in server.requests] == [1, 1, 2]
    assert transport.opened == 2


async def test_a_new_connection_without_an_answer_fails_instead_of_retrying() -> None:
    async with plain_transport() as transport:
        await _test_a_new_connection_without_an_answer_fails_instead_of_retrying(transport)


async def _test_a_new_connection_without_an_answer_fails_instead_of_retrying(
    transport: StreamTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        writer.transport.abort()

    async with Server(handler) as server:
        with pytest.raises(TransportError):
            await transport.post(server.url, b"{}", {})
    assert server.connections == 1


async def test_a_stalled_stream_ends_after_the_read_timeout() -> None:
    async with plain_transport(read_timeout=0.4) as t:
        await _stall(t)


async def _stall(t: StreamTransport) -> None:

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        writer.write(_SSE_HEAD + b"6\r\ndata: \r\n")
        await writer.drain()
        await asyncio.sleep(30)

    async with Server(handler) as server:
        response = await t.post(server.url, b"{}", {})
        got: list[bytes] = []
        started = time.monotonic()
        with pytest.raises(TransportError, match="read timeout"):
            async for chunk in response.aiter_bytes():
                got.append(chunk)
        assert got == [b"data: "]
        assert 0.3 < time.monotonic() - started < 3
        await response.aclose()
    assert t.idle_connections() == 0  # a broken connection is never pooled


async def test_content_length_gzip_and_close_delimited_bodies() -> None:
    async with plain_transport() as transport:
        await _test_content_length_gzip_and_close_delimited_bodies(transport)


async def _test_content_length_gzip_and_close_delimited_bodies(transport: StreamTransport) -> None:
    packed = gzip.compress(b'{"error": {"message": "slow down"}}')
    answers = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\nRetry-After: 3\r\n\r\n%s" % (len(packed), packed),
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: {}\n\n",
    ]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while (request := await _read_request(reader)) is not None:
            writer.write(answers[len(server.requests)])
            server.requests.append((n, request))
            await writer.drain()
            if len(server.requests) == 2:
                return

    async with Server(handler) as server:
        response = await transport.post(server.url, b"{}", {})
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        assert await response.read_bounded(1 << 16) == b'{"error": {"message": "slow down"}}'
        await response.aclose()
        assert transport.idle_connections() == 1
        assert await _body(transport, server.url) == (200, b"data: {}\n\n")
    assert transport.idle_connections() == 0  # Connection: close is honoured
    assert server.connections == 1


async def test_header_values_cannot_inject_lines() -> None:
    async with plain_transport() as transport:
        await _test_header_values_cannot_inject_lines(transport)


async def _test_header_values_cannot_inject_lines(transport: StreamTransport) -> None:
    with pytest.raises(ValueError, match="invalid HTTP header"):
        await transport.post("http://127.0.0.1:9/x", b"{}", {"session_id": "a\r\nX-Evil: 1"})


async def test_unreachable_upstream_is_a_transport_error() -> None:
    async with plain_transport() as transport:
        await _test_unreachable_upstream_is_a_transport_error(transport)


async def _test_unreachable_upstream_is_a_transport_error(transport: StreamTransport) -> None:
    async with Server(lambda r, w, n: asyncio.sleep(0)) as server:
        url = server.url
    with pytest.raises(TransportError, match="cannot connect"):
        await transport.post(url, b"{}", {})


def test_environment_proxies_send_the_relay_through_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = "https://chatgpt.example/backend-api"
    assert not UpstreamClient(chatgpt_base_url=url, openai_base_url=url).uses_env_proxy(url)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert UpstreamClient(chatgpt_base_url=url, openai_base_url=url).uses_env_proxy(url)
    monkeypatch.setenv("NO_PROXY", "chatgpt.example")
    assert not UpstreamClient(chatgpt_base_url=url, openai_base_url=url).uses_env_proxy(url)


def connect_proxy(seen: list[str]) -> Handler:
    """A minimal HTTP CONNECT proxy (a :class:`Server` handler) recording each target."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        assert method == "CONNECT", head
        seen.append(target)
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return handler


async def test_behind_an_environment_proxy_the_relay_streams_through_it(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY applies: the request tunnels through the proxy (httpx speaks it)."""
    seen: list[str] = []
    async with Server(connect_proxy(seen)) as proxy:
        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        fake_upstream.script("PROXIED-1", text("Hello through the proxy."))
        client = UpstreamClient(
            chatgpt_base_url=fake_upstream.chatgpt_base_url,
            openai_base_url=fake_upstream.openai_base_url,
            ca_certificate=fake_upstream.ca_path,
        )
        credentials = Credentials(
            account_id="a1", kind="chatgpt", access_token="token-1", chatgpt_account_id="acct-1"
        )
        body = {
            "model": "gpt-5.4",
            "stream": True,
            "input": [{"role": "user", "content": "PROXIED-1"}],
        }
        try:
            stream = await client.open(credentials, body, session_id="s1")
            events = [event async for event in stream.events()]
            await stream.aclose()
        finally:
            await client.aclose()
    deltas = [e["delta"] for e in events if e.get("type") == "response.output_text.delta"]
    assert "".join(deltas) == "Hello through the proxy."
    assert seen == [urlsplit(fake_upstream.url).netloc]
    assert client.transport.opened == 0  # the lean transport was not used
    (request,) = fake_upstream.responses_requests(containing="PROXIED-1")
    assert request.account_id == "acct-1" and request.headers["session_id"] == "s1"
