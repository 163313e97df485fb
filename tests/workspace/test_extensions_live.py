"""Extensions end to end: real entry points (a test-only distribution written on
sys.path), the real codex binary, the fake upstream."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeUpstream, chatgpt_auth_json, exec_command, text, usage_limit_error
from helpers import Api, turn_completed
from traitlets.config import Config

#: A test-only distribution: its entry points are found by importlib.metadata like any
#: installed package's. ``never_enabled`` records its import: it must never happen.
TEST_MODULE = """
import asyncio, pathlib

class Sneaky:
    capabilities = ("read_events",)

    async def run(self, ext):
        out = pathlib.Path(ext.config["out"])
        try:
            ext.add_approval_rule(lambda approval: None)
            out.write_text("decided")
        except Exception as e:
            out.write_text(f"{type(e).__name__}: {e}")
        await asyncio.Event().wait()


class Crashy:
    capabilities = ()

    async def run(self, ext):
        counter = pathlib.Path(ext.config["counter"])
        runs = int(counter.read_text() or 0) + 1 if counter.exists() else 1
        counter.write_text(str(runs))
        if runs <= 2:
            raise RuntimeError(f"crash number {runs}")
        await asyncio.Event().wait()


class Submitter:
    capabilities = ("submit_jobs",)

    async def run(self, ext):
        await ext.submit_job("from an extension", cwd="", dedupe_key="submitter-once")
        await asyncio.Event().wait()
"""
NEVER_MODULE = """
import os, pathlib
pathlib.Path(os.environ["JC_TESTEXT_MARKER"]).write_text("imported")

class Never:
    capabilities = ("read_events",)
"""


@pytest.fixture
def test_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    (site / "jc_testext-0.1.dist-info").mkdir(parents=True)
    (site / "jc_testext.py").write_text(TEST_MODULE)
    (site / "jc_testext_never.py").write_text(NEVER_MODULE)
    (site / "jc_testext-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: jc-testext\nVersion: 0.1\n"
    )
    (site / "jc_testext-0.1.dist-info" / "entry_points.txt").write_text(
        "[jupyter_codex.extensions]\n"
        "sneaky = jc_testext:Sneaky\n"
        "crashy = jc_testext:Crashy\n"
        "submitter = jc_testext:Submitter\n"
        "never_enabled = jc_testext_never:Never\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("JC_TESTEXT_MARKER", str(tmp_path / "never-imported"))
    importlib.invalidate_caches()
    yield tmp_path  # type: ignore[misc]
    for name in ("jc_testext", "jc_testext_never"):
        sys.modules.pop(name, None)


@pytest.fixture
def jp_server_config(jp_server_config: Config, test_distribution: Path) -> Config:
    rules = [
        {"action": "deny", "command": "*denied.txt*"},
        {"action": "allow", "command": "*allowed.txt*"},
    ]
    jp_server_config["ExtensionHost"] = Config(
        {
            "enabled": ["approval_rules", "retry_on_limit", "sneaky", "crashy", "submitter"],
            "extension_config": {
                "approval_rules": {"rules": rules},
                "sneaky": {"out": str(test_distribution / "sneaky.txt")},
                "crashy": {"counter": str(test_distribution / "crashy.txt")},
            },
            "restart_backoff": 0.1,
        }
    )
    return jp_server_config


async def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def new_session(api: Api, root: Path) -> str:
    (root / "proj").mkdir(exist_ok=True)
    return (await api.call("POST", "sessions", body={"cwd": "proj"}))["id"]  # type: ignore[no-any-return]


async def test_capabilities_are_enforced_disabled_never_loads_crashes_restart(
    api: Api, test_distribution: Path
) -> None:
    async def extensions() -> dict[str, Any]:
        listed = (await api.call("GET", "extensions"))["extensions"]
        return {e["name"]: e for e in listed}

    async def crashy_recovered() -> bool:
        crashy = (await extensions())["crashy"]
        return crashy["restarts"] == 2 and crashy["state"] == "running"  # type: ignore[no-any-return]

    await wait_for(crashy_recovered)
    state = await extensions()
    assert "crash number 2" in state["crashy"]["last_error"]
    assert set(state) == {"approval_rules", "retry_on_limit", "sneaky", "crashy", "submitter"}
    assert state["approval_rules"]["capabilities"] == ["answer_questions", "decide_approvals"]
    # The server kept serving through the crashes.
    assert (await api.call("GET", "status"))["version"]

    out = test_distribution / "sneaky.txt"
    await wait_for(lambda: asyncio.sleep(0, out.exists()))
    assert out.read_text().startswith("CapabilityError")
    assert "decide_approvals" in out.read_text()
    # Installed but not enabled: never even imported.
    assert not (test_distribution / "never-imported").exists()
    assert "jc_testext_never" not in sys.modules


async def test_approval_rules_accept_allowed_and_decline_denied_with_audit(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("make allowed", exec_command("touch allowed.txt"), text("made"))
    fake_upstream.script("make denied", exec_command("touch denied.txt"), text("refused"))
    fake_upstream.script("make other", exec_command("touch other.txt"), text("asked"))
    sid = await new_session(api, jp_root_dir)

    for message in ("make allowed", "make denied"):
        before = len(await api.events(sid))
        await api.call("POST", "sessions", sid, "messages", body={"text": message})
        await api.wait_event(sid, lambda e, n=before: turn_completed(e) and e["seq"] > n)
    assert (jp_root_dir / "proj" / "allowed.txt").exists()
    assert not (jp_root_dir / "proj" / "denied.txt").exists()

    events = await api.events(sid)
    resolved = [e["data"] for e in events if e["type"] == "approval.resolved"]
    assert [(r["decision"], r["by"]) for r in resolved] == [
        ("accept", "extension:approval_rules"),
        ("decline", "extension:approval_rules"),
    ]
    assert "allowed.txt" in resolved[0]["reason"] and "rule 2" in resolved[0]["reason"]
    assert "rule 1" in resolved[1]["reason"]
    assert len([e for e in events if e["type"] == "approval.requested"]) == 2

    # No rule matches: a human is asked as before.
    await api.call("POST", "sessions", sid, "messages", body={"text": "make other"})
    approval = await api.wait_approval(sid)
    assert "other.txt" in approval["command"]
    await api.call("POST", "approvals", approval["id"], body={"decision": "decline"})
    done = await api.wait_event(sid, lambda e: turn_completed(e) and e["seq"] > events[-1]["seq"])
    last = [
        e for e in await api.events(sid, after=done["seq"] - 30) if e["type"] == "approval.resolved"
    ]
    assert last[-1]["data"]["by"] == "user"


async def test_retry_on_limit_requeues_on_the_second_account(
    api: Api, jp_root_dir: Path, fake_upstream: FakeUpstream
) -> None:
    accounts = []
    for n in (1, 2):
        rt = fake_upstream.add_account(
            f"acct-l{n}", f"limit{n}@example.com", refresh_token=f"rt-l{n}"
        )
        body = {"auth_json": chatgpt_auth_json(f"limit{n}@example.com", f"acct-l{n}", rt)}
        accounts.append(await api.call("POST", "accounts", "import", body=body))
    await api.call("PATCH", "targets", "cli", body={"account_id": accounts[0]["id"]})
    fake_upstream.script("limited work", usage_limit_error(), text("done on account two"))
    sid = await new_session(api, jp_root_dir)

    await api.call("POST", "sessions", sid, "messages", body={"text": "limited work"})
    failed = await api.wait_event(sid, turn_completed)
    assert failed["data"]["status"] == "failed"
    assert failed["data"]["error"]["code"] == "usageLimitExceeded"
    assert fake_upstream.responses_requests("limited work")[-1].account_id == "acct-l1"

    await api.call("PATCH", "targets", "cli", body={"account_id": accounts[1]["id"]})
    queued = await api.wait_event(sid, lambda e: e["type"] == "job.queued")
    assert queued["data"]["submitted_by"] == "extension:retry_on_limit"
    job_id = queued["data"]["id"]

    async def succeeded() -> dict[str, Any] | None:
        job = await api.call("GET", "jobs", job_id)
        return job if job["state"] == "succeeded" else None

    job = await wait_for(succeeded, timeout=30)
    assert job["result"]["text"] == "done on account two" and job["text"] == "limited work"
    assert fake_upstream.responses_requests("limited work")[-1].account_id == "acct-l2"


async def test_extension_jobs_are_attributed_and_its_sessions_hidden(
    api: Api, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("from an extension", text("done for the extension"))

    async def extension_job() -> dict[str, Any] | None:
        jobs = (await api.call("GET", "jobs", state="succeeded"))["jobs"]
        return jobs[0] if jobs else None

    job = await wait_for(extension_job, timeout=30)
    assert job["submitted_by"] == "extension:submitter"
    assert job["result"]["text"] == "done for the extension"
    events = await api.events(job["session_id"])
    queued = next(e for e in events if e["type"] == "job.queued")
    assert queued["data"]["submitted_by"] == "extension:submitter"
    # A system-owned session: hidden by default, shown with the filter.
    assert job["session_id"] not in [
        s["id"] for s in (await api.call("GET", "sessions"))["sessions"]
    ]
    shown = (await api.call("GET", "sessions", system="true"))["sessions"]
    assert [s["owner"] for s in shown if s["id"] == job["session_id"]] == ["extension:submitter"]
