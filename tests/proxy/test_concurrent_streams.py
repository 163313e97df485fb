"""100 concurrent streamed chat completions through the proxy (real server, fake
upstream): every one carries its content and ends with ``[DONE]``.

A fault run once saw 3 of 100 end with ``[DONE]`` and no content after ~15 s. Not
reproduced here (nor with 17-second streams); this keeps the shape under test."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from fakes import FakeUpstream, chatgpt_auth_json, text
from helpers import extension_config
from server_process import JupyterServerProcess

STREAMS = 100
REPLY = "word " * 60


async def _stream(client: httpx.AsyncClient, i: int) -> tuple[int, str, bool, float]:
    started = time.monotonic()
    body = {
        "model": "gpt-5.2-codex",
        "stream": True,
        "messages": [{"role": "user", "content": f"CONCURRENT {i}"}],
    }
    content, done = "", False
    async with client.stream("POST", "/codex/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                chunk = json.loads(line[6:])
                assert "error" not in chunk, chunk
                for choice in chunk.get("choices", []):
                    content += (choice.get("delta") or {}).get("content") or ""
    return response.status_code, content, done, time.monotonic() - started


@pytest.mark.timeout(300)
def test_100_concurrent_streams_all_carry_content(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    (tmp_path / "root").mkdir()
    codex = extension_config(fake_upstream, tmp_path / "data")
    replies = [text(REPLY, chunks=60, delay=0.03) for _ in range(STREAMS)]
    fake_upstream.script("CONCURRENT", *replies)
    with JupyterServerProcess(tmp_path / "root", tmp_path / "cfg", codex) as server:
        with server.client() as client:
            rt = fake_upstream.add_account("acct-c", "c@example.com", refresh_token="c-rt")
            auth = chatgpt_auth_json("c@example.com", "acct-c", rt, int(time.time() + 3600))
            r = client.post("codex/api/accounts/import", json={"auth_json": auth})
            assert r.status_code == 201, r.text
            r = client.patch("codex/api/targets/api", json={"account_id": r.json()["id"]})
            assert r.status_code == 200, r.text

        async def run() -> list[tuple[int, str, bool, float]]:
            limits = httpx.Limits(max_connections=STREAMS)
            async with httpx.AsyncClient(
                base_url=server.url, headers=server.headers, timeout=120, limits=limits
            ) as http:
                return await asyncio.gather(*(_stream(http, i) for i in range(STREAMS)))

        results = asyncio.run(run())
    bad = [(i, r[0], len(r[1]), r[2], round(r[3], 1)) for i, r in enumerate(results)]
    bad = [b for b in bad if b[1] != 200 or b[2] != len(REPLY) or not b[3]]
    assert not bad, bad
    assert fake_upstream.pending_steps() == 0
