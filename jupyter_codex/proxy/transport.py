"""A lean HTTP/1.1 transport for the relay's streamed ``POST …/responses``.

The relay is the proxy's hot path. Profiles of ``benchmarks/proxy_latency.py``
put about 60 % of the server's CPU in httpx/httpcore: every request scans the
whole connection pool (a ``getpeername`` and a readability poll per pooled
connection) and every network read goes through h11 and anyio's cancel scopes.
This transport does only what the relay needs, on asyncio streams:

* keep-alive connections per (host, port, TLS), reused last-in first-out;
* one request line and header block written at once, ``Content-Length`` body;
* the answer's body decoded in one pass per network read (chunked,
  ``Content-Length`` or close-delimited; gzip/deflate if a server insists);
* a read timeout enforced by one watchdog timer per response instead of a timer
  per read;
* a request on a reused connection that the server had already closed (no byte
  of an answer came back) is sent once more on a new connection, as browsers do:
  the server never saw it.

It does not speak to HTTP proxies: :class:`~.upstream.UpstreamClient` keeps
httpx for any upstream that an environment proxy applies to.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from ..errors import UpstreamError
from ..tasks import within

#: Largest status line or header line accepted from upstream.
_MAX_LINE = 64 * 1024
_READ_SIZE = 1 << 16


async def read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """At most ``limit`` bytes from ``chunks``, reading no further than needed."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


class TransportError(UpstreamError):
    """The upstream could not be reached, or the connection broke (no HTTP answer)."""


class ChunkedDecoder:
    """``Transfer-Encoding: chunked`` bytes in, body bytes out (pure, incremental)."""

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0  # bytes of the current chunk still to come
        self._crlf = False  # the CRLF after a chunk's data is still to come
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """The body bytes that ``data`` completes (all of them, in order)."""
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while pos < end and not self.done:
            if self._left:
                take = min(self._left, end - pos)
                out.append(buf[pos : pos + take])
                pos += take
                self._left -= take
                if self._left == 0:
                    self._crlf = True
                continue
            if self._crlf:
                if end - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise TransportError("malformed chunked body (no CRLF after a chunk)")
                pos += 2
                self._crlf = False
                continue
            newline = buf.find(b"\n", pos)
            if newline < 0:
                if end - pos > _MAX_LINE:
                    raise TransportError("malformed chunked body (chunk size line too long)")
                break
            size_text = buf[pos:newline].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise TransportError("malformed chunked body (bad chunk size)") from None
            pos = newline + 1
            if size == 0:
                self.done = True  # trailers, if any, are ignored with the connection
            else:
                self._left = size
        self._buf = buf[pos:] if not self.done else b""
        return b"".join(out)


class _Connection:
    __slots__ = ("key", "reader", "reused", "writer")

    def __init__(
        self, key: tuple[str, int, bool], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.reused = False

    def close(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()


class StreamResponse:
    """An answer: status and headers now, the body through :meth:`aiter_bytes`."""

    def __init__(
        self,
        transport: StreamTransport,
        conn: _Connection,
        status: int,
        headers: dict[str, str],
        read_timeout: float,
    ) -> None:
        self.status_code = status
        self.headers = headers
        self._transport = transport
        self._conn: _Connection | None = conn
        self._read_timeout = read_timeout
        self._complete = False
        self._timed_out = False
        encoding = headers.get("transfer-encoding", "").lower()
        self._chunked = "chunked" in encoding
        length = headers.get("content-length")
        self._length = int(length) if length and length.isdigit() and not self._chunked else -1
        coding = headers.get("content-encoding", "identity").lower()
        self._inflate: Callable[[bytes], bytes] | None = None
        if coding in ("gzip", "x-gzip", "deflate"):
            wbits = 31 if "gzip" in coding else 15
            self._inflate = zlib.decompressobj(wbits).decompress
        elif coding not in ("identity", ""):
            raise TransportError(f"unsupported Content-Encoding {coding!r}")
        self._keep_alive = headers.get("connection", "").lower() != "close"

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive: one decoded piece per network read."""
        conn = self._conn
        if conn is None:
            return
        reader = conn.reader
        loop = asyncio.get_running_loop()
        last = time.monotonic()
        timeout = self._read_timeout
        handle: asyncio.TimerHandle

        def watchdog() -> None:
            nonlocal handle
            idle = time.monotonic() - last
            if idle >= timeout:
                self._timed_out = True
                conn.close()  # the pending read ends with an error
            else:
                handle = loop.call_later(timeout - idle, watchdog)

        handle = loop.call_later(timeout, watchdog)
        decoder = ChunkedDecoder() if self._chunked else None
        left = self._length
        try:
            while True:
                if left == 0:
                    break
                try:
                    data = await reader.read(_READ_SIZE if left < 0 else min(left, _READ_SIZE))
                except (OSError, ssl.SSLError) as e:
                    raise self._broken(type(e).__name__) from e
                last = time.monotonic()
                if not data:
                    if self._timed_out:
                        raise self._broken("read timeout")
                    if decoder is not None or left > 0:
                        raise self._broken("connection closed mid-body")
                    self._keep_alive = False  # close-delimited body: complete at EOF
                    break
                if decoder is not None:
                    data = decoder.feed(data)
                elif left > 0:
                    left -= len(data)
                if self._inflate is not None:
                    data = self._inflate(data)
                if data:
                    yield data
                if decoder is not None and decoder.done:
                    break
            self._complete = True
        finally:
            handle.cancel()

    def _broken(self, why: str) -> TransportError:
        self._keep_alive = False
        return TransportError(f"stream broken: {why}")

    async def read_bounded(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body (error answers are small)."""
        return await read_bounded(self.aiter_bytes(), limit)

    async def aclose(self) -> None:
        """Give the connection back when the body was read to its end; else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._complete and self._keep_alive and not conn.reader.at_eof():
            self._transport.release(conn)
        else:
            conn.close()


class StreamTransport:
    """Keep-alive HTTP/1.1 connections for streamed requests to a few upstream hosts."""

    def __init__(
        self,
        ssl_context: Callable[[], ssl.SSLContext],
        *,
        connect_timeout: float = 15.0,
        read_timeout: float = 300.0,
        max_idle_per_host: int = 256,
        user_agent: str = "jupyter-codex",
    ) -> None:
        self._ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle_per_host = max_idle_per_host
        self.user_agent = user_agent
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self.opened = 0  # connections opened so far (tests and benchmarks read it)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> StreamResponse:
        """Send ``POST url`` with ``body``; the answer once its headers arrived."""
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if tls else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = (tls and port == 443) or (not tls and port == 80)
        host_header = host if ":" not in host else f"[{host}]"
        if not default_port:
            host_header += f":{port}"
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {host_header}",
            f"User-Agent: {self.user_agent}",
            "Accept-Encoding: identity",
            f"Content-Length: {len(body)}",
        ]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise ValueError(f"invalid HTTP header {name!r}")
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        key = (host, port, tls)
        while True:
            conn = await self._connection(key)
            try:
                return await self._exchange(conn, head + body)
            except _StaleConnection:
                conn.close()
                continue  # a reused connection the server had closed: a new one
            except BaseException:
                conn.close()
                raise

    async def _exchange(self, conn: _Connection, request: bytes) -> StreamResponse:
        try:
            conn.writer.write(request)
            status, headers = await within(self._read_head(conn), self.read_timeout)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, _NoAnswer) as e:
            if conn.reused and isinstance(e, (_NoAnswer, ConnectionResetError, BrokenPipeError)):
                raise _StaleConnection from None
            raise TransportError(f"{type(e).__name__}") from e
        except asyncio.TimeoutError:
            raise TransportError("timed out waiting for the answer") from None
        return StreamResponse(self, conn, status, headers, self.read_timeout)

    async def _read_head(self, conn: _Connection) -> tuple[int, dict[str, str]]:
        reader = conn.reader
        while True:
            line = await reader.readline()
            if not line:
                raise _NoAnswer
            fields = line.split(None, 2)
            if len(fields) < 2 or not fields[0].startswith(b"HTTP/1."):
                raise TransportError("not an HTTP/1.x answer")
            status = int(fields[1])
            headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise TransportError("connection closed in the answer's headers")
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                value = value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and other informational answers
            return status, headers

    async def _connection(self, key: tuple[str, int, bool]) -> _Connection:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof() and not conn.writer.transport.is_closing():
                conn.reused = True
                return conn
            conn.close()
        host, port, tls = key
        try:
            reader, writer = await within(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=self._ssl_context() if tls else None,
                    server_hostname=host if tls else None,
                    limit=_MAX_LINE,
                ),
                self.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise TransportError("connect timed out") from None
        except (OSError, ssl.SSLError) as e:
            raise TransportError(f"{type(e).__name__}: cannot connect") from e
        self.opened += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # each request is one write; answers must not wait for delayed ACKs
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(key, reader, writer)

    def release(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_idle_per_host:
            idle.append(conn)
        else:
            conn.close()

    def idle_connections(self) -> int:
        return sum(len(conns) for conns in self._idle.values())

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


class _NoAnswer(Exception):
    """The connection ended before any byte of an answer."""


class _StaleConnection(Exception):
    """A reused keep-alive connection turned out to be closed: retry on a new one."""


__all__ = [
    "ChunkedDecoder",
    "StreamResponse",
    "StreamTransport",
    "TransportError",
    "read_bounded",
]
