"""A lean HTTP/1.1 streaming client for the benchmarks (loopback only).

The benchmarks measure servers, so the client must cost as little CPU as possible:
on 2 cores every millisecond it spends is taken from the server under test, and
httpx costs about 100 µs per network read (a streamed event each, when the server
flushes every event). This one is asyncio streams plus a chunked-encoding reader:
keep-alive connections per (host, port, TLS), ``POST`` a JSON body, read the SSE
body line by line, note when the first line carrying content arrives.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Result:
    """One streamed request: time to first content, content lines, how it ended."""

    ttfb: float | None = None  # seconds from sending to the first content line
    chunks: int = 0  # lines that carry content
    ended: bool = False  # the terminal line arrived
    status: int = 0
    error: str = ""


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class SSEClient:
    """Keep-alive connection pools; :meth:`stream` runs one request."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, timeout: float = 120.0) -> None:
        self.ssl_context = ssl_context
        self.timeout = timeout
        self._idle: dict[tuple[str, int, bool], list[_Conn]] = {}

    async def _connect(self, host: str, port: int, tls: bool) -> _Conn:
        idle = self._idle.get((host, port, tls))
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof():
                return conn
            conn.close()
        reader, writer = await asyncio.open_connection(
            host, port, ssl=self.ssl_context if tls else None, limit=1 << 20
        )
        return _Conn(reader, writer)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    async def stream(
        self, url: str, body: Any, headers: dict[str, str], content: bytes, end: bytes
    ) -> Result:
        """POST ``body`` (JSON) to ``url``; count ``data:`` lines containing ``content``
        and note one containing ``end``. On a failure (``timeout`` included) the result
        keeps what arrived until then, with ``error`` set."""
        result = Result()
        try:
            await asyncio.wait_for(
                self._stream(url, body, headers, content, end, result), self.timeout
            )
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            result.error = type(e).__name__
        return result

    async def _stream(
        self,
        url: str,
        body: Any,
        headers: dict[str, str],
        content: bytes,
        end: bytes,
        result: Result,
    ) -> None:
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if tls else 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        payload = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(payload)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload

        conn = await self._connect(host, port, tls)
        try:
            await self._exchange(conn, (host, port, tls), request, content, end, result)
        except BaseException:
            conn.close()
            raise

    async def _exchange(
        self,
        conn: _Conn,
        key: tuple[str, int, bool],
        request: bytes,
        content: bytes,
        end: bytes,
        result: Result,
    ) -> None:
        t0 = time.perf_counter()
        conn.writer.write(request)
        reader = conn.reader
        status_line = await reader.readline()
        if not status_line:
            conn.close()
            raise ConnectionResetError("connection closed before the answer")
        result.status = int(status_line.split()[1])
        chunked, length, close = False, -1, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "content-length":
                length = int(value)
            elif name == "connection" and value == "close":
                close = True

        pending = b""

        def lines(data: bytes) -> None:
            nonlocal pending
            data = pending + data if pending else data
            *complete, pending = data.split(b"\n")
            for ln in complete:
                if not ln.startswith(b"data:"):
                    continue
                if content in ln:
                    if result.ttfb is None:
                        result.ttfb = time.perf_counter() - t0
                    result.chunks += 1
                elif end in ln:
                    result.ended = True

        if chunked:
            while True:
                size_line = await reader.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                lines(await reader.readexactly(size))
                await reader.readexactly(2)
        elif length >= 0:
            remaining = length
            while remaining:
                data = await reader.read(min(remaining, 1 << 16))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                lines(data)
        else:
            close = True
            while data := await reader.read(1 << 16):
                lines(data)
        lines(b"\n")
        if close:
            conn.close()
        else:
            self._idle.setdefault(key, []).append(conn)
