"""Normalization of app-server notifications (params as in appserver.md §2.4–2.5)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jupyter_codex.workspace.events import (
    DIFF_CAP,
    EVENT_TYPES,
    NOISE,
    OUTPUT_CAP,
    NormalizedEvent,
    normalize,
    thread_id_of,
)

T, U = "thr_1", "turn_1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "websocket.md"


AGENT_DONE = {
    "type": "agentMessage",
    "id": "msg_1",
    "text": "Hello",
    "phase": "final_answer",
    "moderation": None,
    "memoryCitation": None,
    "delivery": None,
    "questions": None,
}
COMMAND = {
    "type": "commandExecution",
    "id": "call1",
    "command": "python3 -c 'print(42)'",
    "cwd": "/work/proj",
    "processId": "p1",
    "source": "agent",
    "status": "inProgress",
    "commandActions": [{"type": "unknown", "command": "python3 -c 'print(42)'"}],
    "aggregatedOutput": None,
    "exitCode": None,
    "durationMs": None,
}
FILE_CHANGE = {
    "type": "fileChange",
    "id": "call2",
    "status": "completed",
    "changes": [
        {"path": "a.py", "kind": {"type": "add"}, "diff": "+x\n"},
        {"path": "b.py", "kind": {"type": "update", "move_path": "c.py"}, "diff": ""},
        {"path": "d.py", "kind": {"type": "update", "move_path": None}, "diff": "-y\n+z\n"},
        {"path": "e.py", "kind": {"type": "delete"}, "diff": None},
    ],
}
MCP = {
    "type": "mcpToolCall",
    "id": "call3",
    "server": "docs",
    "tool": "search",
    "status": "failed",
    "arguments": {"q": "x"},
    "result": None,
    "error": {"message": "boom"},
    "durationMs": 7,
}
DYNAMIC = {
    "type": "dynamicToolCall",
    "id": "call_123",
    "namespace": None,
    "tool": "lookup_ticket",
    "arguments": {"id": "ABC-123"},
    "status": "completed",
    "contentItems": [{"type": "inputText", "text": "Ticket is open"}],
    "success": True,
    "durationMs": 12,
}
USAGE = {
    "totalTokens": 150,
    "inputTokens": 100,
    "cachedInputTokens": 40,
    "cacheWriteInputTokens": 0,
    "outputTokens": 50,
    "reasoningOutputTokens": 20,
}

Expected = tuple[str, str | None, str | None, dict[str, Any]]


def note(**params: Any) -> dict[str, Any]:
    """Params of a turn-scoped notification (threadId/turnId filled in)."""
    return {"threadId": T, "turnId": U, **params}


def ev(_type: str, _turn: str | None = U, _item: str | None = None, **data: Any) -> Expected:
    return (_type, _turn, _item, data)


def change(path: str, kind: str, diff: str = "", move: str | None = None) -> dict[str, Any]:
    return {"path": path, "kind": kind, "move_path": move, "diff": diff, "truncated": False}


CMD = "python3 -c 'print(42)'"
USER_CONTENT = [
    {"type": "text", "text": "Run tests", "text_elements": []},
    {"type": "image", "url": "https://x/a.png", "detail": "high"},
    {"type": "localImage", "path": "/abs/shot.png", "detail": None},
    {"type": "skill", "name": "skill-creator", "path": "/s/SKILL.md"},
    {"type": "text", "text": "please"},
]
COLLAB = {
    "type": "collabAgentToolCall",
    "id": "c1",
    "tool": "spawn_agent",
    "status": "completed",
    "senderThreadId": T,
    "receiverThreadIds": ["thr_2"],
    "prompt": "go",
    "model": None,
    "reasoningEffort": "low",
    "agentsStates": {"thr_2": "done"},
}
STREAM_LOST = {
    "message": "stream lost",
    "additionalDetails": "eof",
    "codexErrorInfo": {"responseStreamDisconnected": {"httpStatusCode": 502}},
}
PRIMARY = {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 1735689720}

# (method, params, expected events as (type, turn_id, item_id, subset of data))
# fmt: off
CASES: list[tuple[str, dict[str, Any], list[Expected]]] = [
    ("turn/started", {"threadId": T, "turn": {"id": U, "status": "inProgress", "startedAt": 10}},
     [ev("turn.started", started_at=10)]),
    ("turn/completed", {"threadId": T, "turn": {"id": U, "status": "completed", "durationMs": 9}},
     [ev("turn.completed", status="completed", error=None, duration_ms=9)]),
    ("turn/completed", {"turn": {"id": U, "status": "interrupted", "startedAt": 1, "completedAt": 4}},
     [ev("turn.completed", status="interrupted", duration_ms=3000, completed_at=4)]),
    ("turn/completed",
     {"turn": {"id": U, "status": "failed",
               "error": {"message": "quota", "codexErrorInfo": "usageLimitExceeded"}}},
     [ev("turn.completed", status="failed", error={
         "message": "quota", "code": "usageLimitExceeded", "http_status": None, "details": None})]),
    ("item/started", note(item={"type": "userMessage", "id": "u1", "content": USER_CONTENT}),
     [ev("user.message", U, "u1", text="Run tests\nplease", client_id=None,
         images=[{"url": "https://x/a.png", "detail": "high"}, {"path": "/abs/shot.png"}],
         inputs=[{"type": "skill", "name": "skill-creator", "path": "/s/SKILL.md"}])]),
    ("item/completed", note(item={"type": "userMessage", "id": "u1", "content": []}), []),
    ("item/started", note(item={**AGENT_DONE, "text": "", "phase": None}),
     [ev("assistant.started", U, "msg_1", phase=None)]),
    ("item/agentMessage/delta", note(itemId="msg_1", delta="Hel"),
     [ev("assistant.delta", U, "msg_1", delta="Hel")]),
    ("item/completed", note(item=AGENT_DONE, completedAtMs=5),
     [ev("assistant.message", U, "msg_1", text="Hello", phase="final_answer")]),
    ("item/started", note(item={"type": "reasoning", "id": "r1", "summary": [], "content": []}),
     [ev("reasoning.started", U, "r1")]),
    ("item/reasoning/summaryTextDelta", note(itemId="r1", delta="Think", summaryIndex=0),
     [ev("reasoning.delta", U, "r1", delta="Think", raw=False, index=0)]),
    ("item/reasoning/textDelta", note(itemId="r1", delta="raw", contentIndex=2),
     [ev("reasoning.delta", U, "r1", delta="raw", raw=True, index=2)]),
    ("item/completed", note(item={"type": "reasoning", "id": "r1", "summary": ["**A**"]}),
     [ev("reasoning.summary", U, "r1", summary=["**A**"], content=[])]),
    ("item/started", note(item=COMMAND),
     [ev("command.started", U, "call1", command=CMD, cwd="/work/proj", source="agent",
         actions=[{"type": "unknown", "command": CMD}], process_id="p1")]),
    ("item/commandExecution/outputDelta", note(itemId="call1", delta="42\n"),
     [ev("command.output", U, "call1", delta="42\n", truncated=False)]),
    ("item/completed",
     note(item={**COMMAND, "status": "completed", "aggregatedOutput": "42\n", "exitCode": 0,
                "durationMs": 31}),
     [ev("command.completed", U, "call1", status="completed", exit_code=0, output="42\n",
         truncated=False, duration_ms=31)]),
    ("item/completed", note(item={**COMMAND, "status": "declined", "command": ["ls", "my dir"]}),
     [ev("command.completed", U, "call1", status="declined", exit_code=None, output="",
         command="ls 'my dir'")]),
    ("item/completed", note(item=FILE_CHANGE),
     [ev("file_change.completed", U, "call2", status="completed", changes=[
         change("a.py", "add", "+x\n"), change("b.py", "move", move="c.py"),
         change("d.py", "update", "-y\n+z\n"), change("e.py", "delete")])]),
    ("item/started",
     note(item={**FILE_CHANGE, "status": "inProgress", "changes": [{"path": "x", "kind": "add"}]}),
     [ev("file_change.started", U, "call2", status="in_progress", changes=[change("x", "add")])]),
    ("item/fileChange/patchUpdated",
     note(itemId="call2", changes=[{"path": "x", "kind": {"type": "add"}, "diff": "+"}]),
     [ev("file_change.updated", U, "call2", changes=[change("x", "add", "+")])]),
    ("item/completed", note(item=MCP),
     [ev("tool_call.completed", U, "call3", kind="mcp", server="docs", tool="search",
         arguments={"q": "x"}, status="failed", error={"message": "boom"}, duration_ms=7)]),
    ("item/mcpToolCall/progress", note(itemId="call3", message="50%"),
     [ev("tool_call.progress", U, "call3", message="50%")]),
    ("item/completed", note(item=DYNAMIC),
     [ev("tool_call.completed", U, "call_123", kind="dynamic", tool="lookup_ticket",
         namespace=None, result=DYNAMIC["contentItems"], success=True, error=None,
         status="completed")]),
    ("item/started",
     note(item={"type": "webSearch", "id": "w", "query": "q",
                "action": {"type": "openPage", "url": "https://x"}}),
     [ev("tool_call.started", U, "w", kind="web_search", tool="web_search", status="in_progress",
         arguments={"query": "q", "action": {"type": "open_page", "url": "https://x"}})]),
    ("item/completed", note(item=COLLAB),
     [ev("tool_call.completed", U, "c1", kind="collab", tool="spawn_agent", sender_thread_id=T,
         result={"thr_2": "done"}, arguments={"prompt": "go", "model": None,
                                              "reasoning_effort": "low",
                                              "receiver_thread_ids": ["thr_2"]})]),
    ("item/plan/delta", note(itemId="p1", delta="1. "), [ev("plan.delta", U, "p1", delta="1. ")]),
    ("item/started", note(item={"type": "plan", "id": "p1", "text": ""}), []),
    ("item/completed", note(item={"type": "plan", "id": "p1", "text": "1. Do it"}),
     [ev("plan.proposed", U, "p1", text="1. Do it")]),
    ("item/completed", note(item={"type": "contextCompaction", "id": "cc1"}),
     [ev("item.completed", U, "cc1", item_type="context_compaction",
         item={"type": "contextCompaction", "id": "cc1"})]),
    ("item/started", note(item={"type": "enteredReviewMode", "id": "rv", "review": "diff"}),
     [ev("item.started", U, "rv", item_type="entered_review_mode")]),
    ("turn/plan/updated",
     note(explanation="why", plan=[{"step": "a", "status": "inProgress"}, {"step": "b"}]),
     [ev("plan.updated", explanation="why",
         steps=[{"step": "a", "status": "in_progress"}, {"step": "b", "status": None}])]),
    ("turn/diff/updated", note(diff="--- a\n+++ b\n"),
     [ev("diff.updated", diff="--- a\n+++ b\n", truncated=False)]),
    ("thread/tokenUsage/updated",
     note(tokenUsage={"total": USAGE, "last": USAGE, "modelContextWindow": 272000}),
     [ev("token_usage", context_window=272000, last={
         "input": 100, "cached_input": 40, "cache_write_input": 0, "output": 50,
         "reasoning_output": 20, "total": 150})]),
    ("account/rateLimits/updated",
     {"rateLimits": {"limitId": "codex", "primary": PRIMARY, "secondary": None}},
     [ev("rate_limits", None, limit_id="codex", secondary=None,
         primary={"used_percent": 42, "window_minutes": 300, "resets_at": 1735689720})]),
    ("error", note(willRetry=True, error=STREAM_LOST),
     [ev("error", message="stream lost", code="responseStreamDisconnected", http_status=502,
         details="eof", will_retry=True)]),
    ("warning", {"threadId": None, "message": "low disk"},
     [ev("warning", None, message="low disk", source="codex")]),
    ("configWarning", {"summary": "bad key", "details": "x.y"},
     [ev("warning", None, message="bad key", details="x.y", source="config")]),
    ("thread/status/changed",
     {"threadId": T, "status": {"type": "active", "activeFlags": ["waitingOnApproval"]}},
     [ev("thread.status", None, status="active", active_flags=["waiting_on_approval"])]),
    ("thread/status/changed", {"threadId": T, "status": {"type": "systemError"}},
     [ev("thread.status", None, status="system_error", active_flags=[])]),
    ("thread/started", {"thread": {"id": T, "model": "m", "cwd": "/w", "status": {"type": "idle"}}},
     [ev("thread.started", None, thread_id=T, model="m", cwd="/w", parent_thread_id=None)]),
    ("model/rerouted", note(fromModel="a", toModel="b", reason="capacity"),
     [ev("model.rerouted", from_model="a", to_model="b", reason="capacity")]),
    ("thread/name/updated", {"threadId": T, "name": "Fix"},
     [ev("codex.thread/name/updated", None, params={"threadId": T, "name": "Fix"})]),
    ("item/commandExecution/terminalInteraction", note(itemId="call1", stdin="y\n"),
     [ev("codex.item/commandExecution/terminalInteraction", U, "call1",
         params=note(itemId="call1", stdin="y\n"))]),
    *[(method, note(itemId="i", requestId=1), []) for method in sorted(NOISE)],
]
# fmt: on


@pytest.mark.parametrize(("method", "params", "expected"), CASES, ids=[c[0] for c in CASES])
def test_normalize(method: str, params: dict[str, Any], expected: list[Any]) -> None:
    events = normalize(method, params)
    assert [(e.type, e.turn_id, e.item_id) for e in events] == [x[:3] for x in expected]
    for event, (*_, data) in zip(events, expected, strict=True):
        assert {k: event.data.get(k, "<absent>") for k in data} == data
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in event.data), event.data


# Every handled method with its params emptied, nulled or mistyped: no exception, known keys.
ODD_PARAMS = [
    {},
    {"item": None, "turn": None, "tokenUsage": None, "rateLimits": None},
    {"item": {"type": 3}},
]


@pytest.mark.parametrize("method", sorted({c[0] for c in CASES}))
@pytest.mark.parametrize("params", ODD_PARAMS)
def test_normalize_never_raises_on_missing_fields(method: str, params: dict[str, Any]) -> None:
    for event in normalize(method, params):
        assert isinstance(event, NormalizedEvent)
        assert event.type in EVENT_TYPES or event.type.startswith("codex.")


@pytest.mark.parametrize(
    ("item_type", "kind"),
    [("commandExecution", "command"), ("fileChange", "file_change"), ("mcpToolCall", "tool_call"),
     ("dynamicToolCall", "tool_call"), ("webSearch", "tool_call"), ("collabAgentToolCall", "tool_call"),
     ("agentMessage", "assistant"), ("reasoning", "reasoning"), ("imageView", "item"),
     ("subAgentActivity", "item"), ("exitedReviewMode", "item")],
)  # fmt: skip
def test_bare_items_map_by_type(item_type: str, kind: str) -> None:
    started = normalize("item/started", {"item": {"type": item_type}})
    completed = normalize("item/completed", {"item": {"type": item_type, "id": None}})
    assert [e.type.split(".")[0] for e in started + completed] == [kind, kind]
    assert completed[0].type.endswith((".completed", ".message", ".summary"))


def test_odd_values_do_not_leak_wrong_types() -> None:
    (event,) = normalize(
        "item/completed",
        note(
            item={
                **COMMAND,
                "exitCode": "0",
                "durationMs": 1.9,
                "processId": 77,
                "commandActions": "x",
            }
        ),
    )
    assert event.data["exit_code"] is None
    assert event.data["duration_ms"] == 1
    (started,) = normalize("item/started", note(item={**COMMAND, "processId": 77}))
    assert started.data["process_id"] == "77"
    assert normalize("error", {"error": "plain"})[0].data["message"] == "plain"
    assert normalize("error", {})[0].data == {
        "message": "", "code": None, "http_status": None, "details": None, "will_retry": False,
        "retry": None,
    }  # fmt: skip
    waiting = normalize(
        "error", {"willRetry": True, "error": {"message": "Reconnecting... waiting for network"}}
    )
    assert "until the connection comes back" in waiting[0].data["retry"]
    counted = normalize("error", {"willRetry": True, "error": {"message": "Reconnecting... 2/5"}})
    assert "attempt 2 of 5" in counted[0].data["retry"]
    assert normalize("turn/completed", {"turn": {"error": {}}})[0].data["error"] is None


def test_rate_limits_stay_sparse() -> None:
    (event,) = normalize(
        "account/rateLimits/updated", {"rateLimits": {"secondary": {"usedPercent": 5.5}}}
    )
    assert event.data == {
        "secondary": {"used_percent": 5.5, "window_minutes": None, "resets_at": None}
    }


def test_huge_command_output_is_capped_head_and_tail() -> None:
    output = "START" + "x" * (OUTPUT_CAP * 3) + "END"
    (event,) = normalize("item/completed", note(item={**COMMAND, "aggregatedOutput": output}))
    assert event.data["truncated"] is True
    text = event.data["output"]
    assert text.startswith("START") and text.endswith("END")
    assert OUTPUT_CAP < len(text) < OUTPUT_CAP + 100
    assert f"{len(output) - OUTPUT_CAP} characters omitted" in text
    (delta,) = normalize("item/commandExecution/outputDelta", {"delta": output})
    assert delta.data["truncated"] is True and len(delta.data["delta"]) < OUTPUT_CAP + 100
    (diff,) = normalize("turn/diff/updated", {"diff": "+" * (DIFF_CAP + 1)})
    assert diff.data["truncated"] is True


def test_huge_inline_images_and_raw_items_are_capped() -> None:
    big = "data:image/png;base64," + "A" * DIFF_CAP
    content = [{"type": "image", "url": big}, {"type": "image", "url": "data:image/png;base64,AA"}]
    (user,) = normalize("item/started", note(item={"type": "userMessage", "content": content}))
    assert user.data["images"] == [
        {"url": None, "truncated": True},
        {"url": "data:image/png;base64,AA"},
    ]
    image = {"type": "imageGeneration", "id": "g", "result": "B" * (DIFF_CAP * 2)}
    (item,) = normalize("item/completed", note(item=image))
    assert item.data["truncated"] is True
    assert len(item.data["item"]["result"]) < DIFF_CAP + 100
    assert image["result"] == "B" * (DIFF_CAP * 2)  # the caller's params are not mutated


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("item/agentMessage/delta", {"threadId": T, "turnId": U, "itemId": "m", "delta": "x"}, T),
        ("turn/started", {"threadId": T, "turn": {"id": U}}, T),
        ("thread/started", {"thread": {"id": T, "status": {"type": "idle"}}}, T),
        ("thread/unarchived", {"thread": {"id": T}}, T),
        ("sessionConfigured", {"conversationId": T}, T),
        ("warning", {"threadId": None, "message": "m"}, None),
        ("account/rateLimits/updated", {"rateLimits": {}}, None),
        ("account/updated", {"authMode": "chatgpt", "planType": "pro"}, None),
        ("mcpServer/startupStatus/updated", {}, None),
        ("thread/started", {"thread": None}, None),
        ("thread/started", {"thread": {"id": 5}}, None),
        ("item/started", None, None),
    ],
)
def test_thread_id_of(method: str, params: Any, expected: str | None) -> None:
    assert thread_id_of(method, params) == expected


def test_unknown_method_passes_params_through() -> None:
    params = {"threadId": T, "newField": {"deep": [1]}}
    (event,) = normalize("future/thing", params)
    assert event == NormalizedEvent("codex.future/thing", None, None, {"params": params})


def test_every_event_type_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(t for t in EVENT_TYPES if f"`{t}`" not in text)
    assert not missing
    assert all(f"`{method}`" in text for method in NOISE)
