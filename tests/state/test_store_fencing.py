"""The store's lease fences its writes: a store whose lease was taken over writes nothing.

On SQLite and on a real PostgreSQL. Two stores on one database stand for two bot processes:
the first took the lease, then froze; the second took it over after it expired. Every write of
the first is refused, in the same transaction that would have made it, and nothing of the
database changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from state.commands import ActionInterrupted, ActionSucceeded
from state.events import StepInterrupted
from state.evolve import replay
from state.run import StepStatus
from state.store import Store
from state.store_url import sqlite_url
from state.stored import LeaseInfo, LeaseLost
from tests.support.databases import rows
from tests.support.runs import T0, at, start_command
from tests.support.waiting import until

TTL = timedelta(seconds=30)
SHORT = timedelta(seconds=0.4)
"""A lease that expires while the test watches (the store's renewals are on the wall clock)."""


def sec(seconds: float) -> datetime:
    """``seconds`` after T0 (the lease's times are the wall clock's, in seconds)."""
    return T0 + timedelta(seconds=seconds)


@pytest_asyncio.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Store, Store, str]]:
    """Two stores on one database (two processes), and its URL."""
    first, second = await Store.open(database_url), await Store.open(database_url)
    yield first, second, database_url
    await first.aclose()
    await second.aclose()


async def dump(url: str) -> list[tuple[object, ...]]:
    """Every row of the runs, events, progress and blobs (what a write could change)."""
    found: list[tuple[object, ...]] = []
    for table in ("runs", "events", "progress", "blobs"):
        found += [(table, *row) for row in await rows(url, f"SELECT * FROM {table} ORDER BY 1, 2")]  # noqa: S608  # our own table names
    return found


@pytest.mark.asyncio
async def test_a_store_that_lost_its_lease_writes_nothing(pair: tuple[Store, Store, str]) -> None:
    """After a takeover every kind of write of the old holder is refused; the file is as was."""
    first, second, path = pair
    assert await first.take_lease("run", "host-a pid 1 [a]", datetime.now(UTC), SHORT) is None
    await first.start(start_command(), T0)
    await first.set_progress("run-1", "check", 1, "3/7 reachable", at(1))
    held = first.lease_epoch
    assert held == 1

    async def taken_over() -> bool:  # the first froze past its lease; the second took it
        now = datetime.now(UTC)
        return await second.take_lease("run", "host-b pid 2 [b]", now, TTL) is None

    await until(taken_over, limit=10)
    assert second.lease_epoch == 2
    before = await dump(path)

    writes = [
        first.apply("run-1", ActionSucceeded("check", 1), at(40)),
        first.set_progress("run-1", "check", 1, "7/7 reachable", at(41)),
        first.clear_progress("run-1", "check"),
        first.put_blob("sim/tts", "{}"),
        first.start(start_command("run-2", site="bts"), at(42)),
        first.confirm_lease(),
    ]
    for write in writes:
        with pytest.raises(LeaseLost, match=r"epoch 1\) is lost: now held by host-b pid 2 \[b\]"):
            await write
    assert first.lease_lost.is_set()
    assert first.lease_epoch is None
    assert await dump(path) == before

    run, _ = await second.apply("run-1", ActionSucceeded("check", 1), at(43))  # the new holder
    check = run.step("check")
    assert check is not None
    assert check.status is StepStatus.SUCCEEDED


@pytest.mark.asyncio
async def test_the_rows_carry_the_epoch_they_were_written_under(
    pair: tuple[Store, Store, str],
) -> None:
    """Events and snapshots name the lease they were written under; replay equals snapshot."""
    first, second, path = pair
    await first.take_lease("run", "host-a pid 1 [a]", T0, TTL)
    await first.start(start_command(), T0)
    await first.release_lease("run", "host-a pid 1 [a]")  # a graceful stop: free at once
    assert await second.take_lease("run", "host-b pid 2 [b]", at(1), TTL) is None
    await second.apply("run-1", ActionSucceeded("check", 1), at(2))
    epochs = await rows(path, "SELECT type, epoch FROM events ORDER BY seq")
    [(snapshot_epoch,)] = await rows(path, "SELECT epoch FROM runs")
    first_events = 2  # run.started, and the check step started (it needs no approval)
    assert {epoch for _, epoch in epochs[:first_events]} == {1}
    assert ("step.succeeded", 2) in epochs[first_events:]
    assert {epoch for _, epoch in epochs[first_events:]} == {2}
    assert snapshot_epoch == 2
    assert replay(await second.events("run-1")) == await second.get("run-1")


@pytest.mark.asyncio
async def test_the_epoch_grows_each_time_the_lease_changes_hands(
    pair: tuple[Store, Store, str],
) -> None:
    """Renewing keeps the epoch; release, expiry and a takeover from a gone holder raise it."""
    first, second, _ = pair
    await first.take_lease("run", "a", T0, TTL)
    await first.take_lease("run", "a", sec(10), TTL)
    assert first.lease_epoch == 1
    await first.confirm_lease(sec(11))
    assert (await first.lease("run")) == LeaseInfo("run", "a", sec(11) + TTL, 1)
    await first.release_lease("run", "a")
    assert await first.lease("run") is None
    await second.take_lease("run", "b", sec(12), TTL)
    assert second.lease_epoch == 2
    taken = await first.take_lease("run", "a", sec(13), TTL)
    assert taken == f"b, until {(sec(12) + TTL).isoformat()}"
    assert await first.take_lease("run", "a", sec(14), TTL, replacing="b") is None  # b is gone
    assert first.lease_epoch == 3
    with pytest.raises(LeaseLost):  # b, replaced as gone, is told so at its next renewal
        await second.confirm_lease()
    later = sec(14) + TTL + timedelta(seconds=1)  # a expired, nobody took it: b takes it
    assert await second.take_lease("run", "b", later, TTL) is None
    assert second.lease_epoch == 4


@pytest.mark.asyncio
async def test_a_stopping_bot_records_the_step_it_cut_off(pair: tuple[Store, Store, str]) -> None:
    """``ActionInterrupted``: the running attempt becomes interrupted, once (then a no-op)."""
    store, _, _ = pair
    await store.start(start_command(), T0)
    await store.apply("run-1", ActionSucceeded("check", 1), at(1))
    run = await store.get("run-1")
    manual = run.step("manual")
    assert manual is not None
    assert manual.status is StepStatus.RUNNING
    run, events = await store.apply("run-1", ActionInterrupted("manual", 1), at(2))
    assert [type(e) for e in events] == [StepInterrupted]
    assert run.step("manual").status is StepStatus.INTERRUPTED  # type: ignore[union-attr]
    _, again = await store.apply("run-1", ActionInterrupted("manual", 1), at(3))
    assert again == []


@pytest.mark.asyncio
async def test_a_store_written_by_an_older_bot_gets_the_new_columns(tmp_path: Path) -> None:
    """A file from before the epochs opens: the columns are added, its lease row is kept."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE runs (run_id VARCHAR(64) PRIMARY KEY, site VARCHAR(16) NOT NULL,
                open_site VARCHAR(16) UNIQUE, status VARCHAR(16) NOT NULL,
                version INTEGER NOT NULL, started_at VARCHAR(40) NOT NULL,
                updated_at VARCHAR(40) NOT NULL, snapshot TEXT NOT NULL);
            CREATE TABLE events (run_id VARCHAR(64) NOT NULL REFERENCES runs (run_id),
                seq INTEGER NOT NULL, type VARCHAR(40) NOT NULL, v INTEGER NOT NULL,
                at VARCHAR(40) NOT NULL, actor VARCHAR(64) NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (run_id, seq));
            CREATE TABLE leases (name VARCHAR(64) PRIMARY KEY, holder VARCHAR(200) NOT NULL,
                expires_at VARCHAR(40) NOT NULL);
            INSERT INTO leases VALUES ('run', 'old-host pid 9 [ab]', '2026-01-01T00:00:00+00:00');
            """
        )
    store = await Store.open(sqlite_url(str(path)))
    try:
        held = await store.lease("run")
        assert held is not None
        assert (held.holder, held.epoch) == ("old-host pid 9 [ab]", 0)
        assert await store.take_lease("run", "new", T0, TTL) is None  # expired long ago
        assert store.lease_epoch == 1
        await store.start(start_command(), T0)
    finally:
        await store.aclose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT DISTINCT epoch FROM events").fetchall() == [(1,)]
