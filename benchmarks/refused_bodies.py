"""Server memory while oversized request bodies are refused: they must never be buffered.

A real ``jupyter server`` with the extension (fake app-server, never started). Sends
``--count`` bodies of ``--mib`` MiB each, half with ``Content-Length`` (refused from
the header, before a body byte is read) and half chunked (refused when the stream
passes the limit), to a REST route and to a proxy route, and reports the server's RSS
(``VmRSS``) before and after, and how much of each body the server let in before it
answered 413. Before the fix, one 200 MB POST took the server from 148 MB to 523 MB.

Run: ``python benchmarks/refused_bodies.py [--count 10] [--mib 200]``.
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import time

from _common import JupyterServer, Row, print_rows, rss_kib, workdir

CHUNK = 1024 * 1024
TARGET_GROWTH_MIB = 50.0


def send_refused(
    port: int, path: str, token: str, size: int, chunked: bool
) -> tuple[int | None, int]:
    """POST ``size`` bytes to ``path`` as a client that reads an early answer; return
    (HTTP status or None, body bytes sent before the server answered or hung up)."""
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: token {token}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}",
    ]
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"[" + b" " * (CHUNK - 1)
        try:
            while sent < size:
                if select.select([sock], [], [], 0.05 if sent == 0 else 0)[0]:
                    break  # the server answered early
                piece = block[: min(CHUNK, size - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return None, sent
    try:
        return int(answer.split(b" ", 2)[1]), sent
    except (IndexError, ValueError):
        return None, sent


def run(count: int = 10, mib: int = 200) -> tuple[list[Row], list[str]]:
    size = mib * CHUNK
    details: list[str] = []
    with workdir("bodies") as tmp:
        server = JupyterServer(tmp)
        try:
            server.start()
            time.sleep(2)
            before = rss_kib(server.pid)
            statuses: list[int | None] = []
            let_in = 0
            t0 = time.perf_counter()
            for i in range(count):
                path = "/codex/api/sessions" if i % 4 < 2 else "/codex/v1/responses"
                chunked = i % 2 == 1
                status, sent = send_refused(server.port, path, server.token, size, chunked)
                statuses.append(status)
                let_in = max(let_in, sent)
                details.append(
                    f"{path} {'chunked' if chunked else 'Content-Length'}: {status}, "
                    f"{sent / CHUNK:.1f} MiB sent before the answer"
                )
            elapsed = time.perf_counter() - t0
            time.sleep(2)
            after = rss_kib(server.pid)
        finally:
            server.stop()
    growth = (after - before) / 1024
    rows = [
        Row(
            "refused_bodies",
            f"server RSS growth after {count} x {mib} MiB refused bodies",
            growth,
            None,
            "MiB",
            f"< {TARGET_GROWTH_MIB:.0f} MiB",
            growth < TARGET_GROWTH_MIB and all(s == 413 for s in statuses),
            note=f"RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB; statuses {statuses}",
        ),
        Row(
            "refused_bodies",
            "most body bytes one request sent before the 413",
            let_in / CHUNK,
            None,
            "MiB",
            note=f"{elapsed:.1f} s for all requests",
        ),
    ]
    return rows, details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args(argv)
    rows, details = run(args.count, args.mib)
    print_rows("refused bodies", rows)
    print("\n".join(details))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
