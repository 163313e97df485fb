"""The Python client against a real Jupyter server, the real codex binary and the fake
upstream: sessions, send_and_wait, approvals by callback, typed events and replay."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from fakes import apply_patch, exec_command, hang, text, tool_call
from live_server import Live
from tcp_proxy import TcpProxy

from jupyter_codex.errors import PathOutsideRootError
from jupyter_codex.kernel import (
    ApprovalData,
    AssistantDelta,
    AsyncCodexClient,
    CodexClient,
    CommandCompleted,
    ConflictError,
    Event,
    NotAuthorizedError,
    NotFoundError,
    TurnCompleted,
    TurnTimeoutError,
)


@pytest.fixture
def client(live: Live) -> Any:
    with CodexClient(live.url, live.token) as c:
        yield c


def test_send_and_wait_returns_the_reply_items_and_usage(client: CodexClient, live: Live) -> None:
    live.fake.script("CLIENT-1 say hello", text("Hello from the client test!", chunks=3))
    session = client.create_session("proj", title="client test")
    assert session.cwd == "proj" and session.title == "client test" and session.thread_id
    seen: list[Event] = []

    result = client.send_and_wait(
        session.id, "CLIENT-1 say hello", on_event=seen.append, timeout=60
    )

    assert result.status == "completed" and result.error is None
    assert result.text == "Hello from the client test!"
    assert result.turn_id and all(e.turn_id == result.turn_id for e in result.events)
    assert result.usage is not None and result.usage.total and result.usage.total.input
    assert [e.type for e in result.items] == ["user.message", "assistant.message"]
    assert seen == result.events
    deltas = [e for e in seen if isinstance(e, AssistantDelta)]
    assert "".join(d.data.delta for d in deltas) == "Hello from the client test!"
    assert isinstance(seen[-1], TurnCompleted)

    assert client.get_session(session.id).state == "idle"
    assert session.id in [s.id for s in client.list_sessions()]
    renamed = client.update_session(session.id, title="renamed", archived=True)
    assert renamed.title == "renamed" and renamed.archived
    assert session.id not in [s.id for s in client.list_sessions()]
    assert session.id in [s.id for s in client.list_sessions(archived=True)]
    history = client.history(session.id)
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    client.delete_session(session.id)
    with pytest.raises(NotFoundError, match="No session"):
        client.get_session(session.id)


def test_errors_map_to_the_error_tree(client: CodexClient, live: Live) -> None:
    with pytest.raises(PathOutsideRootError):
        client.create_session("../..")
    with pytest.raises(NotFoundError):
        client.send("no-such-session", "hi")
    with pytest.raises(NotFoundError):
        client.use_account("no-such-account", "cli")
    with pytest.raises(NotAuthorizedError, match="token"), CodexClient(live.url, "wrong") as bad:
        bad.status()
    # The same for the event stream's WebSocket handshake.
    with CodexClient(live.url, "wrong") as bad, pytest.raises(NotAuthorizedError):
        next(iter(bad.events("whatever")))

    status = client.status()
    assert status.version and "cli" in status.targets
    assert isinstance(client.accounts(), list)
    assert {t.name for t in client.targets()} == {"api", "cli"}
    assert isinstance(client.usage(), list)


def test_on_approval_accept_runs_the_command_and_the_default_declines(
    client: CodexClient, live: Live
) -> None:
    proj = live.root / "proj"
    live.fake.script(
        "CLIENT-2 approve", exec_command("touch by-callback.txt", escalated=True), text("Made it.")
    )
    live.fake.script(
        "CLIENT-2 default", exec_command("touch by-default.txt", escalated=True), text("Ok.")
    )
    session = client.create_session("proj")
    asked: list[ApprovalData] = []

    def approve(approval: ApprovalData) -> str:
        asked.append(approval)
        return "accept"

    result = client.send_and_wait(session.id, "CLIENT-2 approve", on_approval=approve, timeout=60)
    assert result.status == "completed" and result.text == "Made it."
    assert len(asked) == 1 and asked[0].kind == "command"
    assert "by-callback.txt" in (asked[0].command or "")
    assert (proj / "by-callback.txt").exists()
    done = [e for e in result.items if isinstance(e, CommandCompleted)]
    assert done and done[-1].data.exit_code == 0

    result = client.send_and_wait(session.id, "CLIENT-2 default", timeout=60)
    assert result.status == "completed"
    assert not (proj / "by-default.txt").exists()
    declined = [e for e in result.items if isinstance(e, CommandCompleted)]
    assert declined and declined[-1].data.status == "declined"
    resolved = [e for e in result.events if e.type == "approval.resolved"]
    assert resolved and resolved[-1].data.decision == "decline"
    assert client.approvals(session.id) == []


def test_timeout_leaves_the_turn_running_and_stop_ends_it(client: CodexClient, live: Live) -> None:
    live.fake.script("CLIENT-3 slow", text("partial ") + hang())
    session = client.create_session("proj")
    with pytest.raises(TurnTimeoutError, match="still running"):
        client.send_and_wait(session.id, "CLIENT-3 slow", timeout=3)
    assert client.get_session(session.id).state == "running"
    with pytest.raises(ConflictError):
        client.send(session.id, "another")
    assert client.stop(session.id)["stopped"] is True
    for event in client.events(session.id):
        if isinstance(event, TurnCompleted):
            assert event.data.status == "interrupted"
            break


def test_sync_client_inside_a_running_event_loop_and_from_threads(live: Live) -> None:
    """A Jupyter kernel's main thread runs an event loop: the sync client must still work."""
    live.fake.script("CLIENT-4 loop", text("From inside a loop."))

    async def kernel_like() -> str:
        with CodexClient(live.url, live.token) as c:
            session = c.create_session("proj")
            return c.send_and_wait(session.id, "CLIENT-4 loop", timeout=60).text

    assert asyncio.run(kernel_like()) == "From inside a loop."

    answers: list[str] = []

    def worker() -> None:
        with CodexClient(live.url, live.token) as c:
            answers.append(c.status().version)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 3 and len(set(answers)) == 1


def test_async_client_replays_then_streams_and_survives_a_dropped_connection(
    live: Live,
) -> None:
    live.fake.script("CLIENT-5 first", text("First answer."))
    live.fake.script("CLIENT-5 second", text("a b c d e f g h", chunks=8, delay=0.3))

    with TcpProxy(live.server.port) as proxy:

        async def main() -> list[Event]:
            async with AsyncCodexClient(proxy.url, live.token, reconnect_timeout=30) as c:
                session = await c.create_session("proj")
                first = await c.send_and_wait(session.id, "CLIENT-5 first", timeout=60)
                assert first.text == "First answer."
                seen: list[Event] = []
                stream = c.events(session.id, after=0)
                async for event in stream:  # the replay of the first turn
                    seen.append(event)
                    if isinstance(event, TurnCompleted):
                        break
                await c.send(session.id, "CLIENT-5 second")
                cut = False
                async for event in stream:  # live; the socket drops in the middle
                    seen.append(event)
                    if isinstance(event, AssistantDelta) and not cut:
                        proxy.accepting = False
                        assert proxy.cut() >= 1
                        cut = True
                        # Events go on while we are away; the replay must bring them.
                        await asyncio.sleep(1.5)
                        proxy.accepting = True
                    if isinstance(event, TurnCompleted) and event.turn_id != first.turn_id:
                        break
                await stream.aclose()
                assert cut
                history = await c.history(session.id)
                assert [e.model_dump() for e in history] == [e.model_dump() for e in seen]
                return seen

        seen = asyncio.run(main())
    seqs = [e.seq for e in seen]
    assert seqs == list(range(1, len(seqs) + 1)), "no gap and no duplicate"
    text_of_second = "".join(
        e.data.delta for e in seen if isinstance(e, AssistantDelta) and e.seq > seqs[0] + 5
    )
    assert text_of_second.endswith("g h")


def test_all_sessions_stream_and_approvals_listing(client: CodexClient, live: Live) -> None:
    live.fake.script(
        "CLIENT-6 ask", exec_command("touch listed.txt", escalated=True), text("Done.")
    )
    session = client.create_session("proj")
    client.send(session.id, "CLIENT-6 ask")
    deadline = time.monotonic() + 60
    pending = []
    while time.monotonic() < deadline and not pending:
        pending = client.approvals(session.id)
        time.sleep(0.2)
    assert pending and pending[0].session_id == session.id and pending[0].kind == "command"
    assert client.decide(pending[0].id, "decline")["decision"] == "decline"
    with pytest.raises(NotFoundError):
        client.decide(pending[0].id, "accept")  # already decided
    for event in client.events(session.id):
        if isinstance(event, TurnCompleted):
            break


def test_on_approval_answers_a_question_with_a_typed_request(
    client: CodexClient, live: Live
) -> None:
    questions = {
        "questions": [
            {
                "id": "env",
                "header": "Env",
                "question": "Which environment?",
                "options": [
                    {"label": "staging", "description": ""},
                    {"label": "prod", "description": ""},
                ],
            },
            {
                "id": "token",
                "header": "Token",
                "question": "Token?",
                "isSecret": True,
                "options": [{"label": "none", "description": ""}],
            },
        ]
    }
    live.fake.script("CLIENT-ASK", tool_call("request_user_input", questions), text("Deployed."))
    session = client.create_session("proj")
    asked: list[ApprovalData] = []

    def answer(approval: ApprovalData) -> dict[str, object]:
        asked.append(approval)
        return {"env": "staging", "token": ["s3cret"]}

    result = client.send_and_wait(session.id, "CLIENT-ASK go", on_approval=answer, timeout=60)
    assert result.status == "completed" and result.text == "Deployed."
    (request,) = asked
    assert request.kind == "user_input" and request.questions is not None
    env, token = request.questions
    assert [o.label for o in env.options or []] == ["staging", "prod"]
    assert token.is_secret and token.is_other
    outputs = live.fake.responses_requests("CLIENT-ASK")[-1].function_call_outputs
    assert json.loads(outputs[-1]) == {
        "answers": {"env": {"answers": ["staging"]}, "token": {"answers": ["s3cret"]}}
    }


def test_steer_undo_fork_and_compact_from_the_client(client: CodexClient, live: Live) -> None:
    live.fake.script("CLIENT-STEER", hang() + text("slow"), text("steered"))
    live.fake.script(
        "CLIENT-UNDO",
        apply_patch("*** Begin Patch\n*** Add File: client-made.txt\n+x\n*** End Patch"),
        text("made"),
    )
    session = client.create_session("proj", network_access=False)
    client.send(session.id, "CLIENT-STEER go")
    live.fake.wait_for(lambda f: f.hanging, timeout=30)
    assert client.steer(session.id, "CLIENT-STEERED now")["steered"] is True
    live.fake.release()
    deadline = time.monotonic() + 30
    while client.get_session(session.id).state != "idle" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "CLIENT-STEERED now" in json.dumps(live.fake.responses_requests("CLIENT-STEER")[-1].body)

    result = client.send_and_wait(session.id, "CLIENT-UNDO make", timeout=60)
    assert result.status == "completed"
    made = live.root / "proj" / "client-made.txt"
    assert made.exists()
    assert client.undo(session.id)["files"] == ["client-made.txt"] and not made.exists()

    fork = client.fork(session.id, title="client fork")
    assert fork.id != session.id and fork.title == "client fork"
    assert client.compact(fork.id) == {"compacting": True}
