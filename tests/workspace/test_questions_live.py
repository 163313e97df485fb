"""Questions Codex asks (``request_user_input``) answered through REST, end to end: the
real app-server asks, the human answers, the answer reaches the model's next request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, text, tool_call
from helpers import Api, turn_completed
from tornado.httpclient import HTTPClientError

QUESTIONS = {
    "questions": [
        {
            "id": "color",
            "header": "Color",
            "question": "Which color should the chart use?",
            "options": [
                {"label": "Red", "description": "warm"},
                {"label": "Blue (Recommended)", "description": "calm"},
            ],
        },
        # Codex requires options for every question; free text is the "other" answer.
        {
            "id": "title",
            "header": "Title",
            "question": "What title?",
            "options": [{"label": "Untitled", "description": ""}],
        },
    ]
}


def ask(marker: str, questions: dict[str, Any] = QUESTIONS) -> tuple[Any, ...]:
    return (tool_call("request_user_input", questions), text(f"{marker} thanks"))


async def _session(api: Api, root: Path) -> str:
    (root / "proj").mkdir(exist_ok=True)
    return str((await api.call("POST", "sessions", body={"cwd": "proj"}))["id"])


async def test_questions_are_shown_and_the_answer_reaches_the_model(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("Q-REST", *ask("Q-REST"))
    sid = await _session(api, jp_root_dir)
    await api.call("POST", "sessions", sid, "messages", body={"text": "Q-REST ask me"})
    approval = await api.wait_approval(sid)
    assert approval["kind"] == "user_input"
    questions = approval["questions"]
    assert [q["id"] for q in questions] == ["color", "title"]
    assert [o["label"] for o in questions[0]["options"]] == ["Red", "Blue (Recommended)"]
    assert questions[1]["is_other"] is True and questions[0]["is_secret"] is False
    # The live event carries the questions too (what the panel renders).
    requested = await api.wait_event(sid, lambda e: e["type"] == "approval.requested")
    assert requested["data"]["questions"] == questions

    # The old contract: an accept without answers is refused, as is an unknown question.
    for bad, needle in (
        ({"decision": "accept"}, "answers"),
        ({"decision": "accept", "answers": {"nope": ["x"]}}, "nope"),
    ):
        with pytest.raises(HTTPClientError) as err:
            await api.call("POST", "approvals", approval["id"], body=bad)
        assert err.value.code == 400
        assert needle in json.loads(err.value.response.body)["error"]["message"]  # type: ignore[union-attr]

    await api.call(
        "POST",
        "approvals",
        approval["id"],
        body={"decision": "accept", "answers": {"color": ["Blue (Recommended)"], "title": "Q3"}},
    )
    await api.wait_event(sid, turn_completed)
    outputs = fake_upstream.responses_requests("Q-REST")[-1].function_call_outputs
    answered = json.loads(outputs[-1])
    assert answered == {
        "answers": {"color": {"answers": ["Blue (Recommended)"]}, "title": {"answers": ["Q3"]}}
    }
    resolved = [e for e in await api.events(sid) if e["type"] == "approval.resolved"]
    assert resolved[-1]["data"]["decision"] == "accept"
    assert "Q3" not in json.dumps(await api.events(sid))  # answers are not logged


async def test_a_declined_question_tells_the_model(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("Q-DECLINE", *ask("Q-DECLINE"))
    sid = await _session(api, jp_root_dir)
    await api.call("POST", "sessions", sid, "messages", body={"text": "Q-DECLINE ask"})
    approval = await api.wait_approval(sid)
    await api.call("POST", "approvals", approval["id"], body={"decision": "decline"})
    await api.wait_event(sid, turn_completed)
    outputs = fake_upstream.responses_requests("Q-DECLINE")[-1].function_call_outputs
    assert json.loads(outputs[-1]) == {"answers": {}}
