"""The job queue end to end: real Jupyter server, real codex app-server, fake upstream."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, chatgpt_auth_json, hang, http_error, text, usage_limit_error
from fakes.sse import user_images
from helpers import Api
from tornado.httpclient import HTTPClientError
from traitlets.config import Config


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config["JobQueue"] = Config({"retry_backoff": 0.2, "max_retry_backoff": 1.0})
    jp_server_config["WorkspaceManager"]["max_concurrent_turns"] = 2
    return jp_server_config


async def new_session(api: Api, root: Path, folder: str = "proj") -> str:
    (root / folder).mkdir(exist_ok=True)
    return (await api.call("POST", "sessions", body={"cwd": folder}))["id"]  # type: ignore[no-any-return]


async def submit(api: Api, **body: Any) -> dict[str, Any]:
    return await api.call("POST", "jobs", body=body)  # type: ignore[no-any-return]


async def wait_job(
    api: Api, job_id: str, states: tuple[str, ...] = ("succeeded",), timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = await api.call("GET", "jobs", job_id)
        if job["state"] in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job stayed {job.get('state')} (wanted {states}): {job}")


async def wait_hanging(fake: FakeUpstream, count: int = 1, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while fake.hanging < count:
        assert time.monotonic() < deadline, "the model request never arrived"
        await asyncio.sleep(0.05)


async def status_code(coro: Any) -> int:
    try:
        await coro
    except HTTPClientError as e:
        assert e.response is not None
        assert json.loads(e.response.body)["error"]["message"]
        return int(e.code)
    return 200


def job_events(events: list[dict[str, Any]], job_id: str) -> list[str]:
    return [
        e["type"] for e in events if e["type"].startswith("job.") and e["data"].get("id") == job_id
    ]


async def test_jobs_run_in_order_per_session_and_concurrently_across_sessions(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("first job", hang() + text("one"))
    fake_upstream.script("second job", text("two"))
    fake_upstream.script("third job", text("three"))
    fake_upstream.script("other session", text("elsewhere"))
    a = await new_session(api, jp_root_dir, "a")
    b = await new_session(api, jp_root_dir, "b")

    jobs = [await submit(api, session_id=a, text=f"{n} job") for n in ("first", "second", "third")]
    assert [j["state"] for j in jobs] == ["queued"] * 3
    assert jobs[0]["attempts"] == 0 and jobs[0]["max_attempts"] == 1
    await wait_hanging(fake_upstream)
    # The first one runs; the others wait their turn behind it.
    assert (await api.call("GET", "jobs", jobs[0]["id"]))["state"] == "running"
    assert (await api.call("GET", "jobs", jobs[1]["id"]))["state"] == "queued"

    other = await submit(api, session_id=b, text="other session")
    done = await wait_job(api, other["id"])
    assert done["result"]["text"] == "elsewhere"
    assert (await api.call("GET", "jobs", jobs[0]["id"]))["state"] == "running"

    fake_upstream.release()
    finished = [await wait_job(api, j["id"]) for j in jobs]
    assert [f["result"]["text"] for f in finished] == ["one", "two", "three"]
    for before, after in itertools.pairwise(finished):
        assert after["started_at"] >= before["finished_at"]
    assert finished[0]["result"]["turn_id"] and finished[0]["attempts"] == 1
    assert finished[0]["result"]["usage"] is not None

    events = await api.events(a)
    assert job_events(events, jobs[0]["id"]) == ["job.queued", "job.started", "job.succeeded"]
    users = [e["data"]["text"] for e in events if e["type"] == "user.message"]
    assert users == ["first job", "second job", "third job"]
    listed = await api.call("GET", "jobs", session_id=a)
    assert {j["id"] for j in listed["jobs"]} == {j["id"] for j in jobs}
    assert (await api.call("GET", "jobs", state="queued"))["jobs"] == []


async def test_when_busy_queue_runs_after_the_current_turn(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("slow turn", hang() + text("slow done"))
    fake_upstream.script("follow up", text("followed"))
    sid = await new_session(api, jp_root_dir)
    first = await api.call("POST", "sessions", sid, "messages", body={"text": "slow turn"})
    assert first["turn_id"]
    await wait_hanging(fake_upstream)

    busy = api.call("POST", "sessions", sid, "messages", body={"text": "follow up"})
    assert await status_code(busy) == 409  # unchanged without when_busy
    queued = await api.call(
        "POST", "sessions", sid, "messages", body={"text": "follow up", "when_busy": "queue"}
    )
    assert set(queued) == {"job_id"}
    assert (await api.call("GET", "jobs", queued["job_id"]))["state"] == "queued"

    fake_upstream.release()
    job = await wait_job(api, queued["job_id"])
    assert job["result"]["text"] == "followed"
    events = await api.events(sid)
    first_done = next(e["seq"] for e in events if e["type"] == "turn.completed")
    follow = next(
        e for e in events if e["type"] == "user.message" and e["data"]["text"] == "follow up"
    )
    assert follow["seq"] > first_done
    # An idle session with when_busy starts the turn at once.
    now = await api.call(
        "POST", "sessions", sid, "messages", body={"text": "follow up", "when_busy": "queue"}
    )
    assert now["turn_id"]


async def test_a_queued_message_carries_its_images(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    from test_images_live import PNG  # a 1x1 PNG

    fake_upstream.script("busy turn", hang() + text("busy done"))
    fake_upstream.script("what is in it", text("a pixel"))
    sid = await new_session(api, jp_root_dir)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    image = await api.call("POST", "sessions", sid, "images", body={"data": data_url})
    await api.call("POST", "sessions", sid, "messages", body={"text": "busy turn"})
    await wait_hanging(fake_upstream)
    # Refused at once, not when the job runs: an unknown image, images without a session.
    unknown = {"text": "what is in it", "images": ["0" * 32], "when_busy": "queue"}
    assert await status_code(api.call("POST", "sessions", sid, "messages", body=unknown)) == 404
    no_session = {"text": "what is in it", "images": [image["id"]], "cwd": "proj"}
    assert await status_code(api.call("POST", "jobs", body=no_session)) == 400

    body = {"text": "what is in it", "images": [image["id"]], "when_busy": "queue"}
    queued = await api.call("POST", "sessions", sid, "messages", body=body)
    assert (await api.call("GET", "jobs", queued["job_id"]))["images"] == [image["id"]]
    fake_upstream.release()
    done = await wait_job(api, queued["job_id"])
    assert done["result"]["text"] == "a pixel"
    sent = fake_upstream.responses_requests("what is in it")[-1].body
    parts = user_images(sent)
    assert parts and base64.b64encode(PNG).decode() in json.dumps(parts)


async def test_dedupe_and_not_before(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("nightly", text("report"))
    sid = await new_session(api, jp_root_dir)
    later = time.time() + 2.0
    first = await submit(api, session_id=sid, text="nightly", dedupe_key="n-1", not_before=later)
    response = await api._fetch(
        "codex",
        "api",
        "jobs",
        method="POST",
        body=json.dumps({"session_id": sid, "text": "nightly again", "dedupe_key": "n-1"}),
    )
    assert response.code == 200
    assert json.loads(response.body)["id"] == first["id"]
    await asyncio.sleep(1.0)
    assert (await api.call("GET", "jobs", first["id"]))["state"] == "queued"  # not yet
    done = await wait_job(api, first["id"])
    assert done["started_at"] >= later and done["result"]["text"] == "report"
    # Once finished, the key is free again.
    again = await submit(api, session_id=sid, text="nightly", dedupe_key="n-1")
    assert again["id"] != first["id"]
    await wait_job(api, again["id"])
    # A not_before in the past runs now.
    past = await submit(api, session_id=sid, text="nightly", not_before=time.time() - 3600)
    await wait_job(api, past["id"], timeout=15)


async def test_failing_turns_are_retried_up_to_max_attempts(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    boom = http_error(500, {"error": {"message": "upstream exploded", "type": "server_error"}})
    fake_upstream.script("flaky job", boom, boom, text("third time lucky"))
    fake_upstream.script("doomed job", boom, boom, boom, boom)
    sid = await new_session(api, jp_root_dir)

    flaky = await submit(api, session_id=sid, text="flaky job", max_attempts=3)
    done = await wait_job(api, flaky["id"], timeout=60)
    assert done["attempts"] == 3 and done["result"]["text"] == "third time lucky"
    assert done["error"] is None

    doomed = await submit(api, session_id=sid, text="doomed job", max_attempts=2)
    failed = await wait_job(api, doomed["id"], ("failed", "succeeded"), timeout=60)
    assert failed["state"] == "failed" and failed["attempts"] == 2
    assert failed["error"]["reason"] == "turn_failed"

    events = await api.events(sid)
    assert job_events(events, flaky["id"]) == [
        "job.queued",
        "job.started",
        "job.retrying",
        "job.started",
        "job.retrying",
        "job.started",
        "job.succeeded",
    ]
    retrying = [e for e in events if e["type"] == "job.retrying"]
    assert retrying[0]["data"]["delay"] > 0 and retrying[0]["data"]["error"]["reason"]
    assert job_events(events, doomed["id"])[-1] == "job.failed"


async def test_cancel_queued_and_running_jobs(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("long job", hang() + text("never"))
    sid = await new_session(api, jp_root_dir)
    running = await submit(api, session_id=sid, text="long job")
    waiting = await submit(api, session_id=sid, text="behind it")
    await wait_hanging(fake_upstream)

    cancelled = await api.call("POST", "jobs", waiting["id"], "cancel")
    assert cancelled["state"] == "cancelled"
    stopped = await api.call("POST", "jobs", running["id"], "cancel")
    assert stopped["id"] == running["id"]
    assert (await wait_job(api, running["id"], ("cancelled",)))["finished_at"]
    session = await api.call("GET", "sessions", sid)
    assert session["state"] == "idle"
    events = await api.events(sid)
    done = [e for e in events if e["type"] == "turn.completed"]
    assert done[-1]["data"]["status"] == "interrupted"
    assert "job.cancelled" in job_events(events, waiting["id"])
    assert not [e for e in events if e["type"] == "user.message" and "behind" in e["data"]["text"]]
    # A finished job cannot be cancelled.
    assert await status_code(api.call("POST", "jobs", running["id"], "cancel")) == 409


async def test_bad_job_input_is_refused_clearly(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    sid = await new_session(api, jp_root_dir)
    cases = [
        ({"session_id": "nosuchsession", "text": "x"}, 404),
        ({"session_id": sid, "text": "x", "max_attempts": 0}, 400),
        ({"session_id": sid, "text": "x", "max_attempts": 11}, 400),
        ({"session_id": sid, "text": "x", "not_before": 1e13}, 400),
        ({"session_id": sid, "text": "  "}, 400),
        ({"text": "no session, no folder"}, 400),
        ({"cwd": "../outside", "text": "x"}, 403),
    ]
    for body, expected in cases:
        assert await status_code(api.call("POST", "jobs", body=body)) == expected, body
    assert await status_code(api.call("GET", "jobs", "nosuchjob")) == 404
    assert await status_code(api.call("POST", "jobs", "nosuchjob", "cancel")) == 404
    assert await status_code(api.call("GET", "jobs", state="bogus")) == 400
    # A job with a cwd gets a new session in that folder.
    (jp_root_dir / "fresh").mkdir()
    job = await submit(api, cwd="fresh", text="hello")
    assert job["session_id"] != sid
    assert (await api.call("GET", "sessions", job["session_id"]))["cwd"] == "fresh"
    await wait_job(api, job["id"])


async def test_a_usage_limit_waits_for_another_account_without_using_an_attempt(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("limited job", usage_limit_error(), text("after the limit"))
    sid = await new_session(api, jp_root_dir)
    job = await submit(api, session_id=sid, text="limited job")
    retrying = await api.wait_event(sid, lambda e: e["type"] == "job.retrying")
    assert retrying["data"]["error"]["reason"] == "usage_limit"
    assert retrying["data"]["attempts"] == 0 and retrying["data"]["delay"] >= 60
    await asyncio.sleep(0.5)
    assert (await api.call("GET", "jobs", job["id"]))["state"] == "queued"  # it waits

    # Another account becomes available: the job runs at once.
    rt = fake_upstream.add_account("acct-more", "more@example.com", refresh_token="rt-more")
    body = {"auth_json": chatgpt_auth_json("more@example.com", "acct-more", rt)}
    await api.call("POST", "accounts", "import", body=body)
    done = await wait_job(api, job["id"], timeout=30)
    assert done["attempts"] == 1 and done["result"]["text"] == "after the limit"


async def test_jobs_wait_for_a_free_turn_slot_and_when_busy_queues_instead_of_429(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("slot hog", hang() + text("hog done"), hang() + text("hog done"))
    fake_upstream.script("third session", text("third done"), text("third done"))
    a, b, c, d = [await new_session(api, jp_root_dir, f"s{n}") for n in range(4)]
    for sid in (a, b):  # max_concurrent_turns is 2 in this module
        await api.call("POST", "sessions", sid, "messages", body={"text": "slot hog"})
    await wait_hanging(fake_upstream, 2)

    waiting = await submit(api, session_id=c, text="third session")
    over = api.call("POST", "sessions", d, "messages", body={"text": "third session"})
    assert await status_code(over) == 429  # unchanged without when_busy
    queued = await api.call(
        "POST", "sessions", d, "messages", body={"text": "third session", "when_busy": "queue"}
    )
    assert set(queued) == {"job_id"}
    await asyncio.sleep(1.0)
    for job_id in (waiting["id"], queued["job_id"]):
        assert (await api.call("GET", "jobs", job_id))["state"] == "queued"

    fake_upstream.release()
    for job_id in (waiting["id"], queued["job_id"]):
        assert (await wait_job(api, job_id))["result"]["text"] == "third done"
