"""The proxies compared in ``run.py``: how each is installed, started and addressed.

Every peer lives in its own virtualenv under ``benchmarks/.venvs/<name>`` (gitignored;
:func:`ensure_venv` creates it with pip on first use), so its pinned dependencies never
touch the project's environment, and runs as a subprocess on 127.0.0.1 pointed at the
same fake upstream (``proxy_latency.FakeProcess``). Each one is asked for the same
thing: a streamed chat completion (``POST …/chat/completions``) that it translates to
the Responses API of the fake.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import HERE, REPO, JupyterServer, bench_env, free_port

VENVS = HERE / ".venvs"
MODEL = "gpt-5.2-codex"
ACCOUNT_ID, EMAIL, REFRESH_TOKEN = "acct-bench", "bench@example.com", "rt-bench"


def chatgpt_auth(access_hours: float = 4.0) -> dict[str, Any]:
    """An ``auth.json`` for the fake's bench account (access token valid for hours)."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakes import chatgpt_auth_json

    exp = int(time.time() + access_hours * 3600)
    return dict(chatgpt_auth_json(EMAIL, ACCOUNT_ID, REFRESH_TOKEN, access_exp=exp))


# ---- virtualenvs -----------------------------------------------------------------


def find_python(minimum: tuple[int, int]) -> str | None:
    """An interpreter at least ``minimum`` (this one, ``pythonX.Y`` on PATH, pyenv's)."""
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    candidates += [shutil.which(f"python3.{m}") for m in range(minimum[1], minimum[1] + 4)]
    for path in candidates:
        if not path:
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError, IndexError):
            out = subprocess.run(
                [path, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                capture_output=True,
                check=False,
                text=True,
                timeout=30,
            ).stdout.split()
            if (int(out[0]), int(out[1])) >= minimum:
                return path
    return None


def ensure_venv(name: str, requirement: str, python: str, log: Path) -> Path:
    """``benchmarks/.venvs/<name>`` with ``requirement`` installed; its ``bin`` folder."""
    venv = VENVS / name
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == requirement:
        return venv / "bin"
    VENVS.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        if not (venv / "bin" / "python").exists():
            subprocess.run([python, "-m", "venv", str(venv)], check=True, stdout=out, stderr=out)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", requirement],
            check=True,
            stdout=out,
            stderr=out,
        )
    marker.write_text(requirement)
    return venv / "bin"


def version_of(bin_dir: Path, dist: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(
            [
                str(bin_dir / "python"),
                "-c",
                f"import importlib.metadata as m; print(m.version({dist!r}))",
            ],
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        ).stdout.strip()
    return "?"


# ---- peers -----------------------------------------------------------------------


def _wait_http(
    port: int, path: str, proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited early:\n{log.read_text(errors='replace')[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with contextlib.suppress(OSError):
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        conn.close()
        time.sleep(0.2)
    raise RuntimeError(
        f"not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


@dataclass
class Peer:
    """A running proxy: where to send chat completions, its process, what it is."""

    name: str
    url: str  # chat completions URL
    headers: dict[str, str]
    pid: int
    version: str
    notes: list[str] = field(default_factory=list)
    _stop: Any = None

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


def _stopper(proc: subprocess.Popen[bytes]) -> Any:
    def stop() -> None:
        if proc.poll() is None:
            # the peer's own process group: uvicorn workers and helpers go too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    return stop


def start_jupyter(fake: Any, folder: Path) -> Peer:
    """jupyter-codex: a ``jupyter server`` with the extension, the account imported."""
    import httpx

    server = JupyterServer(
        folder,
        config={
            "CodexExtensionApp": {
                "chatgpt_base_url": fake.chatgpt_base_url,
                "openai_base_url": fake.url + "/v1",
                "auth_base_url": fake.url,
                "ca_certificate": fake.ca_path,
            }
        },
    )
    server.start()
    try:
        api = f"{server.url}/codex/api"
        with httpx.Client(headers=server.headers, timeout=60, trust_env=False) as http:
            r = http.post(
                f"{api}/accounts/import", json={"auth_json": chatgpt_auth(), "label": "bench"}
            )
            r.raise_for_status()
            http.patch(f"{api}/targets/api", json={"account_id": r.json()["id"]}).raise_for_status()
    except BaseException:
        server.stop()
        raise
    from jupyter_codex import __version__

    return Peer(
        "jupyter-codex",
        f"{server.url}/codex/v1/chat/completions",
        {"Authorization": f"Bearer {server.token}"},
        server.pid,
        __version__,
        ["chat completions -> ChatGPT Responses backend (`/backend-api/codex/responses`)"],
        server.stop,
    )


LITELLM_REQUIREMENT = "litellm[proxy]"


def start_litellm(fake: Any, folder: Path) -> Peer:
    """LiteLLM proxy: an ``openai/responses/`` deployment on the fake's ``/v1``."""
    bin_dir = ensure_venv("litellm", LITELLM_REQUIREMENT, sys.executable, folder / "pip.log")
    port = free_port()
    config = folder / "litellm.yaml"
    # JSON is YAML: no YAML library needed here
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": MODEL,
                        "litellm_params": {
                            "model": f"openai/responses/{MODEL}",
                            "api_base": fake.url + "/v1",
                            "api_key": "sk-bench-upstream",
                        },
                    }
                ],
                "litellm_settings": {"drop_params": True, "telemetry": False},
                "general_settings": {"master_key": "sk-bench-master"},
            }
        )
    )
    log = folder / "litellm.log"
    env = {
        **bench_env(),
        "SSL_CERT_FILE": fake.ca_path,
        "SSL_VERIFY": fake.ca_path,
        "LITELLM_LOG": "ERROR",
        "LITELLM_MODE": "PRODUCTION",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "DISABLE_SCHEMA_UPDATE": "True",
        "NO_DOCS": "True",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(bin_dir / "litellm"),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            start_new_session=True,
        )
    try:
        _wait_http(port, "/health/liveliness", proc, log, 180)
    except BaseException:
        _stopper(proc)()
        raise
    return Peer(
        "LiteLLM",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {"Authorization": "Bearer sk-bench-master"},
        proc.pid,
        version_of(bin_dir, "litellm"),
        [
            (
                "chat completions -> OpenAI Responses API (`openai/responses/` model), "
                "API-key style `/v1/responses` on the fake; no account routing, one worker"
            )
        ],
        _stopper(proc),
    )


CODEX_LB_REQUIREMENT = "codex-lb"


def start_codex_lb(fake: Any, folder: Path) -> Peer:
    """codex-lb: ``CODEX_LB_UPSTREAM_BASE_URL`` at the fake, the account imported."""
    python = find_python((3, 13))
    if python is None:
        raise RuntimeError("codex-lb needs Python >= 3.13; none found (pyenv or PATH)")
    bin_dir = ensure_venv("codex-lb", CODEX_LB_REQUIREMENT, python, folder / "pip.log")
    port = free_port()
    log = folder / "codex-lb.log"
    data = folder / "data"
    data.mkdir(exist_ok=True)
    env = {
        **bench_env(),
        "SSL_CERT_FILE": fake.ca_path,
        "CODEX_LB_DATA_DIR": str(data),
        "CODEX_LB_UPSTREAM_BASE_URL": fake.chatgpt_base_url,
        "CODEX_LB_UPSTREAM_STREAM_TRANSPORT": "http",
        "CODEX_LB_DASHBOARD_AUTH_MODE": "disabled",
        # Per-account caps (8 streams, 4 response creations at a time by default) would
        # refuse most requests at concurrency 32+ with our single account: lifted (0 =
        # no cap) so the proxy path itself is measured; jupyter-codex has no such cap.
        "CODEX_LB_PROXY_ACCOUNT_STREAM_LIMIT": "0",
        "CODEX_LB_PROXY_ACCOUNT_RESPONSE_CREATE_LIMIT": "0",
    }
    env.pop("PYTHONPYCACHEPREFIX", None)  # another interpreter version: its own caches
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "codex-lb"), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            start_new_session=True,
        )
    try:
        _wait_http(port, "/health", proc, log, 180)
        _codex_lb_import(port)
    except BaseException:
        _stopper(proc)()
        raise
    return Peer(
        "codex-lb",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {},
        proc.pid,
        version_of(bin_dir, "codex-lb"),
        [
            (
                "chat completions -> ChatGPT Responses backend (`CODEX_LB_UPSTREAM_BASE_URL` at "
                "the fake, HTTP transport); dashboard auth disabled, no API keys; per-account "
                "caps lifted (defaults: 8 streams, 4 response creations per account)"
            )
        ],
        _stopper(proc),
    )


def _codex_lb_import(port: int) -> None:
    """``POST /api/accounts/import`` (multipart ``auth_json``)."""
    boundary = "jcxbench"
    payload = json.dumps(chatgpt_auth()).encode()
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="auth_json"; '
            f'filename="auth.json"\r\nContent-Type: application/json\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/api/accounts/import",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    if response.status >= 300:
        raise RuntimeError(f"codex-lb account import: HTTP {response.status}: {text[:500]}")


STARTERS = {"jupyter-codex": start_jupyter, "litellm": start_litellm, "codex-lb": start_codex_lb}
