"""A misbehaving stand-in for ``codex app-server`` (jupyter_client's ``problemkernel.py``).

Speaks the same JSONL framing. What it does wrong is chosen by environment
variables, so a test can point ``AppServerManager.codex_bin`` at it:

``FAKE_MODE``
    ``normal`` (default), ``exit_immediately`` (stderr line, exit 1),
    ``exit_after_init`` (complete the handshake, then exit 3), ``ignore_term``
    (SIGTERM is ignored; only SIGKILL works).
``FAKE_AFTER_INIT``
    JSON list of raw actions run after the ``initialized`` notification:
    ``{"send": <object>}``, ``{"raw": <str>}`` (written as one line),
    ``{"big": <n bytes>}`` (a notification line of n bytes),
    ``{"sleep": <s>}``.
``FAKE_RECORD``
    File where every message received from the client is appended as JSONL.
``FAKE_CHILD_PID``
    If set, start ``sleep 600`` in the same process group and write its pid there.

Requests: ``fake/echo`` answers its params, ``fake/big`` answers a result of
``params.size`` bytes, ``fake/never`` is never answered; others get -32601.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

MODE = os.environ.get("FAKE_MODE", "normal")
RECORD = os.environ.get("FAKE_RECORD")


def write(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def write_raw(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def record(msg: Any) -> None:
    if RECORD:
        with open(RECORD, "a") as f:
            f.write(json.dumps(msg) + "\n")


def after_init() -> None:
    for action in json.loads(os.environ.get("FAKE_AFTER_INIT", "[]")):
        if "send" in action:
            write(action["send"])
        elif "raw" in action:
            write_raw(action["raw"])
        elif "big" in action:
            head = '{"method":"fake/big","params":{"pad":"'
            write_raw(head + "x" * (action["big"] - len(head) - 3) + '"}}')
        elif "sleep" in action:
            time.sleep(action["sleep"])


def main() -> int:
    if MODE == "exit_immediately":
        sys.stderr.write("fatal: cannot start, token=supersecret123 was rejected\n")
        return 1
    if MODE == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child_pid_file = os.environ.get("FAKE_CHILD_PID")
    if child_pid_file:
        child = subprocess.Popen(["sleep", "600"])
        with open(child_pid_file, "w") as f:
            f.write(str(child.pid))
    sys.stderr.write("fake app-server starting\n")
    for line in sys.stdin:
        msg = json.loads(line)
        record(msg)
        method = msg.get("method")
        if method == "initialize":
            name = msg["params"]["clientInfo"]["name"]
            write({"id": msg["id"], "result": {"userAgent": f"{name}/fake", "codexHome": "x"}})
        elif method == "initialized":
            if MODE == "exit_after_init":
                return 3
            after_init()
        elif method == "fake/echo":
            write({"id": msg["id"], "result": {"params": msg.get("params")}})
        elif method == "fake/big":
            size = msg["params"]["size"]
            write_raw(json.dumps({"id": msg["id"], "result": {"pad": "y" * size}}))
        elif method == "fake/never":
            pass
        elif method is not None and "id" in msg:
            write({"id": msg["id"], "error": {"code": -32601, "message": f"unknown {method}"}})
    while MODE == "ignore_term":  # ignores EOF too: only SIGKILL ends it
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
