"""Dynamic-tool calls by polling (``GET codex/api/tool-calls``, ``POST …/response``,
``drain_pending_calls``, the polling tool host) and output hints, end to end with the real
codex calling a tool the fake upstream scripts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from fakes import text, tool_call
from live_server import Live
from pydantic import BaseModel
from test_tools_live import declaration

from jupyter_codex.kernel import CodexClient, report_progress, tool


class Forecast(BaseModel):
    city: str
    celsius: float


@tool
def forecast(city: str) -> list[Forecast]:
    """The weather forecast of a city.

    Args:
        city: the city's name

    Returns:
        one entry per day, today first.
    """
    report_progress(f"asking the sky over {city}")  # a no-op outside a tool call
    return [Forecast(city=city, celsius=21.5)]


def _send_in_background(live: Live, session_id: str, message: str) -> tuple[threading.Thread, dict]:
    box: dict[str, Any] = {}

    def run() -> None:
        with CodexClient(live.url, live.token) as client:
            box["result"] = client.send_and_wait(session_id, message, timeout=90)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_polling_round_trip_over_rest(live: Live) -> None:
    live.fake.script("POLL-1 weather", tool_call("forecast", {"city": "Oslo"}), text("Mild."))
    api = httpx.Client(base_url=live.url + "codex/api/", headers=live.server.headers, timeout=30)
    with api:
        session = api.post(
            "sessions", json={"cwd": "proj", "tools": [forecast.spec()]}
        ).json()  # declared, but no client serves it
        thread, box = _send_in_background(live, session["id"], "POLL-1 weather")
        deadline = time.monotonic() + 60
        pending: list[dict[str, Any]] = []
        while not pending and time.monotonic() < deadline:
            pending = api.get("tool-calls", params={"session_id": session["id"]}).json()[
                "tool_calls"
            ]
            time.sleep(0.1)
        assert len(pending) == 1, "the model's call waits for a client"
        call = pending[0]
        assert call["tool"] == "forecast" and call["arguments"] == {"city": "Oslo"}
        assert call["session_id"] == session["id"] and call["turn_id"]
        answered = api.post(
            f"tool-calls/{call['call_id']}/response",
            json={"success": True, "content_items": [{"type": "inputText", "text": "12 C"}]},
        )
        assert answered.status_code == 200, answered.text
        again = api.post(f"tool-calls/{call['call_id']}/response", json={"text": "twice"})
        assert again.status_code == 404 and "error" in again.json()
        thread.join(90)
    assert box["result"].status == "completed" and box["result"].text == "Mild."
    follow_up = live.fake.responses_requests(containing="POLL-1 weather")[1]
    assert follow_up.function_call_outputs == ["12 C"]


def test_drain_pending_calls_answers_the_models_call_and_hints_reach_the_model(
    live: Live,
) -> None:
    live.fake.script("POLL-2 weather", tool_call("forecast", {"city": "Rome"}), text("Warm."))
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[forecast], polling=False)
        client.stop_serving_tools(session.id)  # nothing serves it but the drain below
        thread, box = _send_in_background(live, session.id, "POLL-2 weather")
        answered: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not answered and time.monotonic() < deadline:
            answered = client.drain_pending_calls([forecast])
            time.sleep(0.1)
        thread.join(90)
    assert [c["tool"] for c in answered] == ["forecast"] and answered[0]["success"] is True
    assert box["result"].status == "completed" and box["result"].text == "Warm."
    first, follow_up = live.fake.responses_requests(containing="POLL-2 weather")[:2]
    assert json.loads(follow_up.function_call_outputs[0]) == [{"city": "Rome", "celsius": 21.5}]
    offered = declaration(first, "forecast")
    assert "Returns: list[Forecast], where Forecast = {city: str, celsius: float}" in offered
    assert "one entry per day, today first." in offered


def test_the_polling_tool_host_serves_a_session(live: Live) -> None:
    live.fake.script("POLL-3 weather", tool_call("forecast", {"city": "Lima"}), text("Grey."))
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[forecast], polling=True)
        result = client.send_and_wait(session.id, "POLL-3 weather", timeout=90)
    assert result.status == "completed" and result.text == "Grey."
    follow_up = live.fake.responses_requests(containing="POLL-3 weather")[1]
    assert "Lima" in follow_up.function_call_outputs[0]
    # The tool's progress went over REST (POST tool-calls/{id}/progress) before its result.
    with CodexClient(live.url, live.token) as client:
        history = client.history(session.id)
    types = [e.type for e in history]
    progress = [e for e in history if e.type == "tool_call.progress"]
    assert [e.data["message"] for e in progress] == ["asking the sky over Lima"]  # type: ignore[index]
    assert types.index("tool_call.progress") < types.index("tool_call.completed")
