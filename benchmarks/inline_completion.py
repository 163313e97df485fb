"""Inline completion overhead: ``POST codex/api/inline/complete`` vs the upstream itself.

Starts the test fake of OpenAI's service (``tests/fakes``) and a real ``jupyter server``
with the extension and one ChatGPT account on the ``api`` target, then alternates, for
``--requests`` rounds, one completion through the server and the same Responses request
sent straight to the fake (same body, streamed to the end). The target (issue 21) is at
most 20 ms added at the median.

Run: ``python benchmarks/inline_completion.py [--requests 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from fakes import FakeUpstream, chatgpt_auth_json, text
from helpers import extension_config
from server_process import JupyterServerProcess

from jupyter_codex.proxy.inline_completion import INSTRUCTIONS

BUDGET_MS = 20.0
MODEL = "gpt-5.2-codex"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        root = Path(tmp) / "root"
        root.mkdir()
        rt = fake.add_account("acct-bench", "bench@example.com", refresh_token="rt-bench")
        auth = chatgpt_auth_json(
            "bench@example.com", "acct-bench", rt, access_exp=int(time.time() + 3600)
        )
        for i in range(args.requests + 1):
            fake.script(f"BENCH-{i}-", text("a + b"))
            fake.script(f"DIRECT-{i}-", text("a + b"))
        config = extension_config(fake, Path(tmp) / "data")
        with (
            JupyterServerProcess(root, Path(tmp) / "cfg", config) as server,
            server.client() as rest,
        ):
            account = rest.post("/codex/api/accounts/import", json={"auth_json": auth})
            account.raise_for_status()
            rest.patch(
                "/codex/api/targets/api", json={"account_id": account.json()["id"]}
            ).raise_for_status()
            token = auth["tokens"]["access_token"]
            direct_headers = {
                "Authorization": f"Bearer {token}",
                "ChatGPT-Account-Id": "acct-bench",
            }
            via, direct = [], []
            with httpx.Client(verify=fake.ssl_context(), timeout=30) as upstream:
                for i in range(args.requests + 1):
                    started = time.perf_counter()
                    answer = rest.post(
                        "/codex/api/inline/complete",
                        json={"prefix": f"BENCH-{i}- return ", "model": MODEL},
                    ).json()
                    took = (time.perf_counter() - started) * 1000
                    assert answer["completion"] == "a + b", answer
                    body = {
                        "model": MODEL,
                        "instructions": INSTRUCTIONS,
                        "input": [
                            {
                                "role": "user",
                                "content": [{"type": "input_text", "text": f"DIRECT-{i}- return "}],
                            }
                        ],
                        "stream": True,
                    }
                    started = time.perf_counter()
                    with upstream.stream(
                        "POST",
                        fake.chatgpt_base_url + "/codex/responses",
                        json=body,
                        headers=direct_headers,
                    ) as response:
                        response.raise_for_status()
                        for _ in response.iter_bytes():
                            pass
                    took_direct = (time.perf_counter() - started) * 1000
                    if i:  # the first round warms up (token, catalog, connections)
                        via.append(took)
                        direct.append(took_direct)
    added = statistics.median(via) - statistics.median(direct)
    verdict = "PASS" if added <= BUDGET_MS else "FAIL"
    print(
        f"inline completion: median {statistics.median(via):.1f} ms through the server, "
        f"{statistics.median(direct):.1f} ms straight to the upstream over {len(via)} rounds; "
        f"added {added:.1f} ms (budget {BUDGET_MS:.0f} ms): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
