"""store/usage.py: keep-last-good snapshots, sparse merges, bounded history and log, targets."""

from __future__ import annotations

from pathlib import Path

import pytest
from usage.doubles import StaticAccounts

from jupyter_codex.errors import InvalidRequestError, NotFoundError
from jupyter_codex.models import UsageSnapshot
from jupyter_codex.store import Database
from jupyter_codex.store.usage import (
    SystemLogRepository,
    TargetRepository,
    UsageRepository,
    merge_snapshot,
)

GOOD = UsageSnapshot(
    primary_used_percent=42,
    secondary_used_percent=7,
    primary_window_minutes=300,
    secondary_window_minutes=10080,
    primary_resets_at=1000.0,
    secondary_resets_at=2000.0,
    plan_type="pro",
    fetched_at=100.0,
)


async def _db_with(tmp_path: Path, *ids: str) -> Database:
    db = Database(tmp_path / "codex.db")
    await db.open()
    await StaticAccounts(db).add_many(list(ids))
    return db


async def test_failed_poll_keeps_numbers_and_counts_errors(tmp_path: Path) -> None:
    db = await _db_with(tmp_path, "a")
    repo = UsageRepository(db)
    try:
        assert await repo.get("a") is None
        await repo.put("a", GOOD)
        await repo.record_error("a", "HTTP 500", at=200.0)
        after = await repo.record_error("a", "HTTP 502", at=300.0)
        assert after == await repo.get("a")
        assert after.primary_used_percent == 42 and after.secondary_used_percent == 7
        assert after.fetched_at == 100.0
        assert (after.error_count, after.last_error, after.last_error_at) == (2, "HTTP 502", 300.0)
        # The next good poll resets the error count.
        fresh = await repo.put("a", GOOD.model_copy(update={"primary_used_percent": 50}))
        assert (fresh.error_count, fresh.last_error, fresh.primary_used_percent) == (0, None, 50)
        # An error before any good poll: no numbers at all (unknown), never zeros.
        await StaticAccounts(db).add("b")
        only_error = await repo.record_error("b", "boom")
        assert only_error.primary_used_percent is None and only_error.error_count == 1
    finally:
        await db.close()


async def test_sparse_merge_keeps_unsent_fields(tmp_path: Path) -> None:
    live = UsageSnapshot(primary_used_percent=61.5, fetched_at=150.0, source="headers")
    merged = merge_snapshot(GOOD, live)
    assert merged.primary_used_percent == 61.5
    assert merged.secondary_used_percent == 7 and merged.plan_type == "pro"
    assert merged.primary_resets_at == 1000.0 and merged.source == "headers"
    db = await _db_with(tmp_path, "a")
    repo = UsageRepository(db)
    try:
        await repo.put("a", GOOD)
        await repo.record_error("a", "x")
        stored = await repo.merge("a", live)
        assert stored.primary_used_percent == 61.5 and stored.secondary_window_minutes == 10080
        assert stored.error_count == 1  # a live update is not a poll
    finally:
        await db.close()


async def test_history_is_bounded_per_account(tmp_path: Path) -> None:
    db = await _db_with(tmp_path, "a", "b")
    repo = UsageRepository(db, max_history_rows=5)
    try:
        for i in range(12):
            snap = GOOD.model_copy(update={"primary_used_percent": i, "fetched_at": 100.0 + i})
            await repo.put("a", snap)
        await repo.put("b", GOOD)
        points = await repo.history("a")
        assert [p[1] for p in points] == [7, 8, 9, 10, 11]
        assert [p[0] for p in points] == sorted(p[0] for p in points)
        assert len(await repo.history("b")) == 1
        assert [p[1] for p in await repo.history("a", since=110.0)] == [10, 11]
        await repo.merge("a", UsageSnapshot(primary_used_percent=99, fetched_at=500.0))
        assert len(await repo.history("a")) == 5  # live merges do not add points
    finally:
        await db.close()


async def test_system_log_rotates_and_pages(tmp_path: Path) -> None:
    db = await _db_with(tmp_path)
    log = SystemLogRepository(db, max_rows=10)
    try:
        for i in range(25):
            await log.append("info", "switch" if i % 2 else "alert", f"m{i}", target="api")
        assert await log.count() == 10
        newest = await log.list(limit=4)
        assert [e.message for e in newest] == ["m24", "m23", "m22", "m21"]
        page = await log.list(limit=4, before_id=newest[-1].id)
        assert [e.message for e in page] == ["m20", "m19", "m18", "m17"]
        assert all(e.kind == "switch" for e in await log.list(kind="switch"))
        entry = await log.append("warning", "alert", "x", from_account="a", reason="threshold")
        assert (await log.list(limit=1))[0] == entry
    finally:
        await db.close()


async def test_targets_get_list_update(tmp_path: Path) -> None:
    db = await _db_with(tmp_path, "a")
    repo = TargetRepository(db)
    try:
        assert [t.name for t in await repo.list()] == ["api", "cli"]
        api = await repo.get("api")
        assert (api.account_id, api.strategy, api.threshold_percent) == (None, "manual", 15.0)
        cli = await repo.update("cli", account_id="a", strategy="round_robin", switched_at=5.0)
        assert (cli.account_id, cli.strategy, cli.switched_at) == ("a", "round_robin", 5.0)
        with pytest.raises(NotFoundError):
            await repo.get("nope")
        with pytest.raises(InvalidRequestError):
            await repo.update("api", name="x")
    finally:
        await db.close()
