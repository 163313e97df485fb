"""`jupyter codex chat` answers a user-input request from the approval's questions."""

from __future__ import annotations

import asyncio
import io

from jupyter_codex.cli_chat import Terminal, choose_approval
from jupyter_codex.kernel import ApprovalData


def _question_request() -> ApprovalData:
    return ApprovalData.model_validate(
        {
            "id": "ap-1",
            "session_id": "s-1",
            "kind": "user_input",
            "method": "item/tool/requestUserInput",
            "created_at": 0.0,
            "expires_at": 60.0,
            "questions": [
                {
                    "id": "colour",
                    "question": "Which colour?",
                    "options": [
                        {"label": "red", "description": "warm"},
                        {"label": "blue", "description": "cool"},
                    ],
                },
                {"id": "pin", "question": "Your PIN?", "is_secret": True},
            ],
            "params": {},
        }
    )


def test_questions_are_read_from_the_request_and_secrets_are_not_echoed() -> None:
    out = io.StringIO()
    term = Terminal(stdin=io.StringIO("2\n1234\n"), stdout=out)
    body = asyncio.run(choose_approval(term, _question_request()))
    assert body == {"decision": "accept", "answers": {"colour": ["blue"], "pin": ["1234"]}}
    transcript = out.getvalue()
    assert "? Which colour?" in transcript and "2. blue" in transcript
    assert "? Your PIN?" in transcript
    assert "1234" not in transcript


def test_end_of_input_cancels_the_request() -> None:
    term = Terminal(stdin=io.StringIO(""), stdout=io.StringIO())
    assert asyncio.run(choose_approval(term, _question_request())) == {"decision": "cancel"}
