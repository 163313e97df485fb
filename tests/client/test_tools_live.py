"""Python functions as Codex tools, end to end: the real codex calls a declared tool by
name (scripted in the fake), the server routes ``item/tool/call`` to the client that
serves it, and the result reaches the model's next request."""

from __future__ import annotations

import enum
import json
import threading
import time
from typing import Any

import pytest
from fakes import RecordedRequest, text, tool_call
from fakes.sse import tool_names
from live_server import CLIENT_TIMEOUT, Live
from pydantic import BaseModel
from tcp_proxy import TcpProxy

from jupyter_codex.client._progress import MAX_PROGRESS_CHARS
from jupyter_codex.kernel import CodexClient, ToolCallCompleted, report_progress, tool


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Item(BaseModel):
    name: str
    quantity: int


class Order(BaseModel):
    customer: str
    items: list[Item]
    size: Size = Size.SMALL


def declaration(request: RecordedRequest, name: str) -> str:
    """How the tool was offered to the model: a function tool (JSON), or, for code-mode
    models, its TypeScript declaration inside the ``exec`` tool's description."""
    body = request.body
    raw = json.dumps(body)
    if name in tool_names(body):
        for entry in body.get("tools") or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return json.dumps(entry)
    marker = f"### `{name}`"
    assert marker in raw, f"{name} not offered; tools: {tool_names(body)}"
    return raw.split(marker, 1)[1].split("### `", 1)[0]


def test_the_model_calls_a_python_function_with_typed_arguments(live: Live) -> None:
    received: list[tuple[Order, str | None]] = []

    @tool
    def place_order(order: Order, note: str | None = None) -> dict[str, Any]:
        """Place an order for a customer.

        Args:
            order: what to order, and for whom
            note: anything the kitchen should know
        """
        received.append((order, note))
        return {"order_id": 42, "customer": order.customer, "lines": len(order.items)}

    live.fake.script(
        "TOOLS-1 order",
        tool_call(
            "place_order",
            {
                "order": {
                    "customer": "Ada",
                    "items": [{"name": "tea", "quantity": "2"}],
                    "size": "large",
                },
                "note": "hot",
            },
        ),
        text("Order 42 is placed."),
    )
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[place_order])
        result = client.send_and_wait(session.id, "TOOLS-1 order", timeout=90)

    assert result.status == "completed" and result.text == "Order 42 is placed."
    order, note = received[0]
    assert isinstance(order, Order) and order.size is Size.LARGE
    assert order.items == [Item(name="tea", quantity=2)] and note == "hot"

    first, follow_up = live.fake.responses_requests(containing="TOOLS-1 order")[:2]
    offered = declaration(first, "place_order")
    assert "Place an order for a customer." in offered
    assert "what to order, and for whom" in offered and "anything the kitchen" in offered
    assert "large" in offered and "quantity" in offered  # nested model and enum
    assert json.loads(follow_up.function_call_outputs[0]) == {
        "order_id": 42,
        "customer": "Ada",
        "lines": 1,
    }

    calls = [e for e in result.items if isinstance(e, ToolCallCompleted)]
    assert calls and calls[0].data.kind == "dynamic" and calls[0].data.tool == "place_order"
    assert calls[0].data.success is True and calls[0].data.error is None
    assert calls[0].data.arguments["note"] == "hot"


def test_an_exception_becomes_an_error_result(live: Live) -> None:
    @tool
    async def lookup_customer(customer_id: int) -> str:
        """Find a customer by id."""
        raise LookupError(f"no customer {customer_id}")

    live.fake.script(
        "TOOLS-2 lookup",
        tool_call("lookup_customer", {"customer_id": 7}),
        text("There is no such customer."),
    )
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[lookup_customer])
        result = client.send_and_wait(session.id, "TOOLS-2 lookup", timeout=90)

    assert result.status == "completed" and result.text == "There is no such customer."
    follow_up = live.fake.responses_requests(containing="TOOLS-2 lookup")[1]
    assert "LookupError: no customer 7" in json.dumps(follow_up.function_call_outputs)
    call = next(e for e in result.items if isinstance(e, ToolCallCompleted))
    assert call.data.success is False
    assert call.data.error is not None and "no customer 7" in call.data.error.message


def test_a_call_without_a_connected_client_fails_after_the_timeout(live: Live) -> None:
    @tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    live.fake.script("TOOLS-3 ping", tool_call("ping", {}), text("The tool is gone."))
    with CodexClient(live.url, live.token) as owner:
        session = owner.create_session("proj", tools=[ping])
    # The client that served the tool is closed; another one sends the message.
    with CodexClient(live.url, live.token) as client:
        started = time.monotonic()
        result = client.send_and_wait(session.id, "TOOLS-3 ping", timeout=90)
        elapsed = time.monotonic() - started
    assert result.status == "completed" and result.text == "The tool is gone."
    assert elapsed >= CLIENT_TIMEOUT
    follow_up = live.fake.responses_requests(containing="TOOLS-3 ping")[1]
    assert "not connected" in json.dumps(follow_up.function_call_outputs)


def test_a_client_that_disconnects_mid_call_does_not_hang_the_turn(live: Live) -> None:
    started, release = threading.Event(), threading.Event()

    @tool
    def slow_report(topic: str) -> str:
        """Write a slow report."""
        started.set()
        release.wait(60)
        return f"report on {topic}"

    live.fake.script(
        "TOOLS-4 report", tool_call("slow_report", {"topic": "sales"}), text("No report.")
    )
    with TcpProxy(live.server.port) as proxy:
        client = CodexClient(proxy.url, live.token)
        session = client.create_session("proj", tools=[slow_report])
        with CodexClient(live.url, live.token) as watcher:
            after = watcher.get_session(session.id).last_seq
            watcher.send(session.id, "TOOLS-4 report")
            assert started.wait(60), "the tool was never called"
            proxy.accepting = False  # the client's machine drops off the network
            proxy.cut()
            for event in watcher.events(session.id, after=after):
                if event.type == "turn.completed":
                    break
            release.set()
        client.close()

    follow_up = live.fake.responses_requests(containing="TOOLS-4 report")[1]
    assert "disconnected" in json.dumps(follow_up.function_call_outputs)


def test_serving_tools_again_after_a_restart_of_the_client(live: Live) -> None:
    """A new client (a restarted kernel) serves the tools of an existing session."""

    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    live.fake.script("TOOLS-5 double", tool_call("double", {"x": 21}), text("It is 42."))
    with CodexClient(live.url, live.token) as first:
        session = first.create_session("proj", tools=[double])
    with CodexClient(live.url, live.token) as second:
        second.serve_tools(session.id, [double])
        result = second.send_and_wait(session.id, "TOOLS-5 double", timeout=90)
    assert result.text == "It is 42."
    assert live.fake.responses_requests(containing="TOOLS-5 double")[1].function_call_outputs == [
        "42"
    ]


def test_tool_declarations_are_validated(live: Live) -> None:
    from jupyter_codex.errors import InvalidRequestError

    def dup() -> None:
        """A tool."""

    with CodexClient(live.url, live.token) as client, pytest.raises(InvalidRequestError):
        client.create_session("proj", tools=[dup, tool(name="dup")(dup)])


def kill_app_server(client: CodexClient) -> None:
    """SIGKILL the cli target's codex and wait until a new process may serve."""
    import os
    import signal

    pid = client.status().targets["cli"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.status().targets["cli"]
        if state["state"] in ("running", "stopped") and state["pid"] != pid:
            return
        time.sleep(0.2)
    raise AssertionError("codex was not restarted within 60 s")


def triple(x: int) -> int:
    """Triple a number."""
    return 3 * x


def test_tools_survive_an_app_server_restart(live: Live) -> None:
    """The thread is resumed in a new codex process: its dynamic tools come along."""
    live.fake.script("TOOLS-6 hello", text("Hello."))
    live.fake.script("TOOLS-6 triple", tool_call("triple", {"x": 5}), text("It is 15."))
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[triple])
        client.send_and_wait(session.id, "TOOLS-6 hello", timeout=90)  # codex stores the thread
        kill_app_server(client)
        result = client.send_and_wait(session.id, "TOOLS-6 triple", timeout=90)
    assert result.text == "It is 15."
    requests = live.fake.responses_requests(containing="TOOLS-6 triple")
    assert "Triple a number." in declaration(requests[0], "triple")
    assert requests[1].function_call_outputs == ["15"]


def test_tools_are_declared_again_on_a_thread_started_afresh(live: Live) -> None:
    """Codex saves a thread with its first turn: after a restart before any turn the
    session gets a new thread, declared with the tools the server stored for it."""
    live.fake.script("TOOLS-7 triple", tool_call("triple", {"x": 7}), text("It is 21."))
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[triple])
        assert [t.name for t in session.tools or []] == ["triple"]
        kill_app_server(client)
        result = client.send_and_wait(session.id, "TOOLS-7 triple", timeout=90)
        assert client.get_session(session.id).thread_id != session.thread_id
    assert result.text == "It is 21."
    requests = live.fake.responses_requests(containing="TOOLS-7 triple")
    assert "Triple a number." in declaration(requests[0], "triple")
    assert requests[1].function_call_outputs == ["21"]


def message_of(event: Any) -> str:
    """A ``tool_call.progress`` event's message ("" for other events)."""
    data = event.data if isinstance(event.data, dict) else {}
    return str(data.get("message") or "") if event.type == "tool_call.progress" else ""


def test_a_tool_reports_its_progress_into_the_timeline(live: Live) -> None:
    assert report_progress("nobody listens") is False  # outside a tool call: a no-op

    @tool
    def train(epochs: int) -> str:
        """Train for some epochs (a sync tool: it runs on a worker thread)."""
        for epoch in range(1, epochs + 1):
            assert report_progress(f"epoch {epoch}/{epochs}")
        return "trained"

    @tool
    async def evaluate() -> str:
        """Evaluate the model (an async tool: it runs on the host's loop)."""
        report_progress("evaluating " + "x" * 20_000)  # cut to the server's cap, not refused
        return "accuracy 0.9"

    live.fake.script(
        "TOOLS-P progress",
        tool_call("train", {"epochs": 3}),
        tool_call("evaluate", {}),
        text("Trained and evaluated."),
    )
    with CodexClient(live.url, live.token) as client:
        session = client.create_session("proj", tools=[train, evaluate])
        result = client.send_and_wait(session.id, "TOOLS-P progress", timeout=90)
        history = client.history(session.id)

    assert result.status == "completed" and result.text == "Trained and evaluated."
    kinds = [(e.type, str(message_of(e))[:12]) for e in history]
    progress = [m for kind, m in kinds if kind == "tool_call.progress"]
    assert progress == ["epoch 1/3", "epoch 2/3", "epoch 3/3", "evaluating x"]
    # Every message of a call is in before its completion.
    completed = [i for i, (kind, _) in enumerate(kinds) if kind == "tool_call.completed"]
    epochs = [i for i, (kind, m) in enumerate(kinds) if m.startswith("epoch")]
    assert max(epochs) < completed[0]
    long = next(
        e for e in history if e.type == "tool_call.progress" and "evaluating" in str(e.data)
    )
    assert len(long.data["message"]) == MAX_PROGRESS_CHARS
