"""Oversized bodies are refused without being buffered: a real server's RSS stays put
while 200 MB bodies (with Content-Length, and chunked) are thrown at a REST and a
proxy route. Before the fix, one 200 MB POST took the server from 148 to 523 MB."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest
from fakes import FakeUpstream
from helpers import extension_config
from server_process import JupyterServerProcess

MIB = 1024 * 1024
#: Generous: the refused bodies measure ~2 MB of growth (benchmarks/README.md).
MAX_GROWTH_MIB = 60


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def post_huge(port: int, path: str, token: str, size: int, chunked: bool) -> tuple[int, int]:
    """Stream ``size`` bytes like a client that reads an early answer; return the status
    and how many body bytes went out before the server answered."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n"
        "Content-Type: application/json\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n")
        + "\r\n"
    )
    block = b'{"text": "' + b"x" * (MIB - 10)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            while sent < size and not select.select([sock], [], [], 0.05 if not sent else 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = sock.recv(65536)
    return int(answer.split(b" ", 2)[1]), sent


@pytest.mark.timeout(300)
def test_200_mb_bodies_are_refused_with_bounded_rss(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    (tmp_path / "root").mkdir()
    codex = extension_config(fake_upstream, tmp_path / "data")
    with JupyterServerProcess(tmp_path / "root", tmp_path / "cfg", codex) as server:
        assert server.process is not None
        pid = server.process.pid
        time.sleep(1)
        before = rss_mib(pid)
        for path in ("/codex/api/sessions", "/codex/v1/responses", "/codex/claude/v1/messages"):
            for chunked in (False, True):
                status, sent = post_huge(server.port, path, server.token, 200 * MIB, chunked)
                assert status == 413, (path, chunked)
                if not chunked:
                    assert sent == 0, (path, sent)  # refused from the header alone
                else:
                    assert sent < 100 * MIB, (path, sent)  # cut off past the limit
        time.sleep(1)
        growth = rss_mib(pid) - before
        assert growth < MAX_GROWTH_MIB, f"RSS grew {growth:.0f} MiB"
        # And the server still answers a normal request.
        with server.client() as client:
            assert client.get("/codex/api/status").status_code == 200
