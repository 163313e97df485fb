"""A kernel launched by the server finds it: the extension exports
JUPYTER_CODEX_SERVER_URL/TOKEN, and the blocking client works inside the kernel,
whose main thread already runs an event loop."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fakes import text
from live_server import Live
from websockets.sync.client import connect

CODE = """
import os
from jupyter_codex import CodexClient
print("URL", os.environ["JUPYTER_CODEX_SERVER_URL"])
with CodexClient.from_env() as codex:
    print("SOURCE", codex.server.source)
    print("VERSION", codex.status().version)
    session = codex.create_session("proj")
    print("REPLY", codex.send_and_wait(session.id, "KERNEL-1 hello", timeout=90).text)
"""


def _execute(live: Live, kernel_id: str, code: str, timeout: float = 120) -> str:
    url = live.url.replace("http", "ws") + f"api/kernels/{kernel_id}/channels"
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": uuid.uuid4().hex,
            "username": "test",
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False},
        "channel": "shell",
        "buffers": [],
    }
    out: list[str] = []
    deadline = time.monotonic() + timeout
    with connect(url, additional_headers={"Authorization": f"token {live.token}"}) as ws:
        ws.send(json.dumps(message))
        while time.monotonic() < deadline:
            reply: Any = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
    raise AssertionError(f"no answer from the kernel; output so far: {out}")


def test_a_kernel_started_by_the_server_connects_with_from_env(live: Live) -> None:
    live.fake.script("KERNEL-1 hello", text("Hello, kernel."))
    with live.server.client() as http:
        kernel = http.post("/api/kernels", json={"name": "python3"}).json()
        try:
            output = _execute(live, kernel["id"], CODE)
        finally:
            http.delete(f"/api/kernels/{kernel['id']}")
    assert f"URL {live.url}" in output, output
    assert "SOURCE env" in output and "VERSION " in output, output
    assert "REPLY Hello, kernel." in output, output
