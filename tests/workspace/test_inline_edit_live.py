"""Inline edit end to end: the proposal is a turn of a real codex session on the cli
target (scripted in the fake), it shows in the session history, and Refine continues
the same session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeUpstream, text
from helpers import Api
from tornado.httpclient import HTTPClientError


async def test_inline_edit_proposes_code_and_refine_continues_the_session(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    (jp_root_dir / "nb").mkdir()
    fake_upstream.script(
        "INLINE-1 use a list comprehension",
        text("Here it is:\n```python\nsquares = [x * x for x in range(10)]\n```"),
    )
    fake_upstream.script(
        "INLINE-1 and name it sq",
        text("```python\nsq = [x * x for x in range(10)]\n```"),
    )
    source = "squares = []\nfor x in range(10):\n    squares.append(x * x)\n"
    first = await api.call(
        "POST",
        "inline",
        "edit",
        body={
            "path": "nb/work.ipynb",
            "source": source,
            "instruction": "INLINE-1 use a list comprehension",
            "language": "python",
        },
    )
    assert first["proposal"] == "squares = [x * x for x in range(10)]"
    request = fake_upstream.responses_requests(containing="INLINE-1 use a list")[0]
    assert "    squares.append(x * x)" in json.dumps(request.body)  # indentation kept

    refined = await api.call(
        "POST",
        "inline",
        "edit",
        body={
            "path": "nb/work.ipynb",
            "source": source,
            "instruction": "INLINE-1 and name it sq",
            "session_id": first["session_id"],
        },
    )
    assert refined["session_id"] == first["session_id"]
    assert refined["proposal"] == "sq = [x * x for x in range(10)]"
    # Codex saw the first proposal when refining.
    follow = fake_upstream.responses_requests(containing="INLINE-1 and name it sq")[0]
    assert "list comprehension" in json.dumps(follow.body)

    sessions = (await api.call("GET", "sessions"))["sessions"]
    (session,) = [s for s in sessions if s["id"] == first["session_id"]]
    assert session["title"].startswith("Inline edit") and session["sandbox"] == "read-only"


async def test_inline_edit_bad_input_is_a_400(api: Api) -> None:
    for body in ({"path": "x.py", "source": "a"}, {"source": "a", "instruction": "b"}):
        with pytest.raises(HTTPClientError) as info:
            await api.call("POST", "inline", "edit", body=body)
        assert info.value.code == 400
