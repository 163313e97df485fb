"""AppServerManager against the real ``codex app-server`` binary."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

import pytest
from supervisor_helpers import Events, ManagerPool

from jupyter_codex.errors import AppServerDiedError, AppServerStartError
from jupyter_codex.supervisor import AppServerManager


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_stopped(pid: int) -> None:
    """Wait until every thread of ``pid`` is stopped (SIGSTOP is delivered asynchronously)."""
    for _ in range(200):
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:  # noqa: ASYNC230 - procfs
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        if all(state in ("T", "t") for state in states):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"process {pid} did not stop")


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are not zombies (init reaps those, eventually)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


async def test_handshake_and_account_read(managers: ManagerPool) -> None:
    async with managers:
        manager = managers.make(client_name="jc_test", client_version="9.9")
        result = await manager.request("account/read", {})
        assert result["account"] is None
        assert result["requiresOpenaiAuth"] is True
        info = manager.info()
        assert info["state"] == "running"
        assert info["name"] == "cli"
        assert info["pid"] == manager.pid and manager.pid is not None
        assert info["user_agent"].startswith("jc_test/")
        assert "(jc_test; 9.9)" in info["user_agent"]
        assert info["started_at"] is not None
        assert info["restarts"] == 0
        home = Path(info["codex_home"])
        assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
        assert "installation_id" in os.listdir(home)  # CODEX_HOME reached the process


async def test_start_is_lazy(managers: ManagerPool, events: Events) -> None:
    async with managers:
        manager = managers.make()
        manager.add_lifecycle_listener(events)
        await asyncio.sleep(0.1)
        assert manager.info()["state"] == "stopped"
        assert manager.pid is None
        assert events.items == []
        await manager.request("account/read")
        assert manager.info()["state"] == "running"
        assert events.names() == ["started"]


async def test_concurrent_ensure_started_share_one_process(
    managers: ManagerPool, events: Events
) -> None:
    async with managers:
        manager = managers.make()
        manager.add_lifecycle_listener(events)
        await asyncio.gather(*(manager.ensure_started() for _ in range(5)))
        results = await asyncio.gather(*(manager.request("account/read") for _ in range(5)))
        assert len(results) == 5
        assert events.names() == ["started"]


async def test_start_hook_runs_on_every_start_and_may_call_requests(
    managers: ManagerPool, events: Events
) -> None:
    async with managers:
        manager = managers.make()
        manager.add_lifecycle_listener(events)
        seen: list[str] = []

        async def hook() -> None:
            # The hook talks to the process that is starting (as a login would).
            result = await manager.request("account/read")
            seen.append(manager.state + ":" + str(result["account"]))

        manager.add_start_hook(hook)
        await manager.ensure_started()
        first_pid = manager.pid
        assert seen == ["starting:None"]

        await manager.restart(reason="test")
        assert seen == ["starting:None", "restarting:None"]
        assert manager.pid != first_pid
        assert first_pid is not None and gone(first_pid)
        died = [data for name, data in events.items if name == "died"]
        assert died == [
            {"pid": first_pid, "returncode": died[0]["returncode"], "unexpected": False}
        ]
        assert manager.info()["restarts"] == 1
        await manager.request("account/read")


async def test_sigkill_fails_pending_request_and_restarts(
    managers: ManagerPool, events: Events, fast_restarts: object
) -> None:
    async with managers:
        manager = managers.make(config=fast_restarts)
        manager.add_lifecycle_listener(events)
        await manager.ensure_started()
        pid = manager.pid
        assert pid is not None

        # A stopped process cannot answer, so the request is surely pending when it dies.
        os.kill(pid, signal.SIGSTOP)
        await wait_stopped(pid)
        pending = asyncio.create_task(manager.request("account/read"))
        await asyncio.sleep(0.1)
        assert not pending.done()
        os.kill(pid, signal.SIGKILL)

        with pytest.raises(AppServerDiedError):
            await asyncio.wait_for(pending, 5)
        died = await events.wait_for("died")
        assert died == {"pid": pid, "returncode": -signal.SIGKILL, "unexpected": True}
        await events.wait_for("started", count=2)
        assert events.names() == ["started", "died", "restarting", "started"]
        assert manager.state == "running"
        assert manager.pid not in (None, pid)
        assert (await manager.request("account/read"))["account"] is None
        info = manager.info()
        assert info["restarts"] == 1
        assert "SIGKILL" in info["last_error"]


async def test_request_during_restart_waits_for_the_new_process(
    managers: ManagerPool, events: Events
) -> None:
    async with managers:
        manager = managers.make()  # default backoff: 0.5 s before the restart
        manager.add_lifecycle_listener(events)
        await manager.ensure_started()
        pid = manager.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await events.wait_for("restarting")
        assert manager.state == "restarting"
        result = await manager.request("account/read")  # waits for the restart, no error
        assert result["account"] is None
        assert manager.pid != pid


async def test_stop_leaves_no_process_and_no_task(managers: ManagerPool) -> None:
    async with managers:
        before = asyncio.all_tasks()
        manager = managers.make()
        await manager.ensure_started()
        pid = manager.pid
        assert pid is not None
        assert asyncio.all_tasks() - before  # reader, stderr drain, watcher

        await manager.stop()
        assert manager.state == "stopped"
        assert manager.pid is None
        assert gone(pid)
        assert live_group_members(pid) == []
        assert asyncio.all_tasks() - before == set()
        await manager.stop()  # idempotent
        assert manager.state == "stopped"


async def test_stop_then_request_starts_again(managers: ManagerPool) -> None:
    async with managers:
        manager = managers.make()
        await manager.request("account/read")
        first = manager.pid
        await manager.stop()
        await manager.request("account/read")
        assert manager.pid not in (None, first)


async def test_missing_binary_gives_a_readable_error(managers: ManagerPool, tmp_path: Path) -> None:
    async with managers:
        manager = managers.make(codex_bin=str(tmp_path / "no-such-codex"))
        with pytest.raises(AppServerStartError) as err:
            await manager.request("account/read")
        assert "no-such-codex" in err.value.message
        assert "codex_bin" in err.value.message
        assert manager.state == "stopped"
        assert manager.info()["last_error"] == err.value.message


async def test_config_overrides_reach_codex_as_toml(managers: ManagerPool) -> None:
    async with managers:
        manager = managers.make(
            config_overrides={
                "model": 'gpt-"quoted" \\ é',
                "hide_agent_reasoning": True,
                "model_providers.fake": {
                    "name": "Fake",
                    "base_url": "http://127.0.0.1:9/v1",
                    "supports_websockets": False,
                    "request_max_retries": 0,
                },
            }
        )
        config = (await manager.request("config/read", {}))["config"]
        assert config["model"] == 'gpt-"quoted" \\ é'
        assert config["hide_agent_reasoning"] is True
        provider = config["model_providers"]["fake"]
        assert provider["base_url"] == "http://127.0.0.1:9/v1"
        assert provider["supports_websockets"] is False
        assert provider["request_max_retries"] == 0


async def test_unknown_method_is_an_rpc_error(managers: ManagerPool) -> None:
    async with managers:
        from jupyter_codex.errors import RpcError

        manager = managers.make()
        with pytest.raises(RpcError) as err:
            await manager.request("no/such/method", {})
        assert err.value.rpc_code == -32600
        assert manager.state == "running"


def test_manager_is_configurable() -> None:
    from traitlets.config import Config

    c = Config()
    c.AppServerManager.request_timeout = 5.0
    c.AppServerRestarter.restart_limit = 1
    manager = AppServerManager(name="api", codex_home="/nonexistent", config=c)
    assert manager.request_timeout == 5.0
    assert manager.restarter.restart_limit == 1
    assert manager.build_argv()[1] == "app-server"
    assert manager.build_env()["CODEX_HOME"] == "/nonexistent"
