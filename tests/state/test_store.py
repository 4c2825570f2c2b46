"""The durable store on a SQLite file and a real PostgreSQL: replay, races, recovery, versions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from state.commands import ActionSucceeded, Approve, MarkDone, Pause, Skip
from state.errors import RunAlreadyActive, RunError, StaleCommand
from state.events import StepStarted
from state.evolve import replay
from state.run import RunStatus, StepStatus
from state.store import Store
from state.store_url import sqlite_url
from state.stored import StoreError, VersionConflict
from tests.support.runs import LEAD, T0, at, start_command


@pytest_asyncio.fixture
async def db(database_url: str) -> str:
    """The URL of a fresh store (each test runs on SQLite and on PostgreSQL)."""
    return database_url


@pytest_asyncio.fixture
async def store(db: str) -> AsyncIterator[Store]:
    """A store on that file."""
    store = await Store.open(db)
    yield store
    await store.aclose()


@pytest_asyncio.fixture
async def second(db: str) -> AsyncIterator[Store]:
    """A second store on the same file: another connection, as another process would have."""
    store = await Store.open(db)
    yield store
    await store.aclose()


async def at_sync(store: Store) -> None:
    """Bring run-1 to its ``sync`` step, awaiting approval."""
    await store.start(start_command(), T0)
    await store.apply("run-1", ActionSucceeded("check", 1), at(1))
    run = await store.get("run-1")
    manual = run.step("manual")
    assert manual is not None
    await store.apply(
        "run-1", MarkDone(LEAD, "manual", manual.revision, note="done by hand"), at(2)
    )


async def sync_revision(store: Store) -> int:
    """The revision of the sync step as stored."""
    sync = (await store.get("run-1")).step("sync")
    assert sync is not None
    return sync.revision


@pytest.mark.asyncio
async def test_replay_of_stored_events_equals_stored_snapshot(store: Store) -> None:
    """What is stored replays to exactly the stored snapshot, across a reopen of the file."""
    await at_sync(store)
    await store.apply("run-1", Approve(LEAD, "sync", await sync_revision(store)), at(3))
    stored = await store.get("run-1")
    events = await store.events("run-1")
    assert replay(events) == stored
    assert stored.version == len(events) == 7
    assert [e.v for e in events] == [1] * 7


@pytest.mark.asyncio
async def test_snapshot_survives_reopening(db: str, store: Store) -> None:
    """A new process opening the file sees the same run."""
    await at_sync(store)
    before = await store.get("run-1")
    reopened = await Store.open(db)
    try:
        assert await reopened.get("run-1") == before
        assert [r.run_id for r in await reopened.open_runs()] == ["run-1"]
    finally:
        await reopened.aclose()


@pytest.mark.asyncio
async def test_same_click_from_two_connections_applies_once(store: Store, second: Store) -> None:
    """Two connections approve the same step at once: one attempt starts, the other is a no-op."""
    await at_sync(store)
    approve = Approve(LEAD, "sync", await sync_revision(store))
    results = await asyncio.gather(
        store.apply("run-1", approve, at(3)), second.apply("run-1", approve, at(3))
    )
    assert sorted(len(events) for _, events in results) == [0, 1]
    started = [e for e in await store.events("run-1") if isinstance(e, StepStarted)]
    assert [(e.step_id, e.attempt) for e in started] == [("check", 1), ("manual", 1), ("sync", 1)]


@pytest.mark.asyncio
async def test_different_clicks_from_two_connections_one_wins(store: Store, second: Store) -> None:
    """Approve and Skip of the same step at once: exactly one applies, the other is stale."""
    await at_sync(store)
    revision = await sync_revision(store)
    results = await asyncio.gather(
        store.apply("run-1", Approve(LEAD, "sync", revision), at(3)),
        second.apply("run-1", Skip(LEAD, "sync", revision, reason="not now"), at(3)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], StaleCommand)
    sync = (await store.get("run-1")).step("sync")
    assert sync is not None
    assert sync.status in {StepStatus.RUNNING, StepStatus.SKIPPED}
    assert replay(await store.events("run-1")) == await store.get("run-1")


@pytest.mark.asyncio
async def test_save_with_old_version_conflicts(store: Store) -> None:
    """The optimistic lock: a save decided on an old version is refused and writes nothing."""
    run, _ = await store.start(start_command(), T0)
    after, events = await store.apply("run-1", Pause(LEAD), at(1))
    with pytest.raises(VersionConflict):
        await store.save(run.version, after, events)
    assert len(await store.events("run-1")) == after.version


@pytest.mark.asyncio
async def test_one_open_run_per_site_across_connections(store: Store, second: Store) -> None:
    """Two starts for one site at once: one run opens, the other is refused by name."""
    results = await asyncio.gather(
        store.start(start_command("run-a"), T0),
        second.start(start_command("run-b"), T0),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], RunAlreadyActive)
    assert len(await store.open_runs()) == 1


@pytest.mark.asyncio
async def test_sites_are_independent(store: Store) -> None:
    """Each site has its own open run."""
    for site in ("summit", "tts", "bts"):
        await store.start(start_command(f"run-{site}", site), T0)
    assert sorted(r.site for r in await store.open_runs()) == ["bts", "summit", "tts"]
    open_tts = await store.open_run("tts")
    assert open_tts is not None
    assert open_tts.run_id == "run-tts"


@pytest.mark.asyncio
async def test_site_can_start_again_after_its_run_ended(store: Store) -> None:
    """An ended run frees its site."""
    from state.commands import Abort  # noqa: PLC0415  # only here

    await store.start(start_command("run-1"), T0)
    await store.apply("run-1", Abort(LEAD, "rehearsal over"), at(1))
    assert await store.open_run("tts") is None
    await store.start(start_command("run-2"), at(2))
    assert [r.run_id for r in await store.recent("tts")] == ["run-2", "run-1"]
    assert (await store.get("run-1")).status is RunStatus.ABORTED


@pytest.mark.asyncio
async def test_recover_interrupts_running_steps_once(store: Store) -> None:
    """At start-up a running step becomes interrupted (an event), once, and is not re-run."""
    await at_sync(store)
    await store.apply("run-1", Approve(LEAD, "sync", await sync_revision(store)), at(3))
    changed = await store.recover(at(10))
    assert [r.run_id for r in changed] == ["run-1"]
    sync = (await store.get("run-1")).step("sync")
    assert sync is not None
    assert (sync.status, sync.attempt) == (StepStatus.INTERRUPTED, 1)
    assert await store.recover(at(11)) == []
    assert (await store.events("run-1"))[-1].type == "step.interrupted"


@pytest.mark.asyncio
async def test_progress_is_kept_apart_from_history(store: Store) -> None:
    """Progress is overwritten in place and never becomes an event."""
    await store.start(start_command(), T0)
    before = len(await store.events("run-1"))
    await store.set_progress("run-1", "check", 1, "3/7 reachable", at(1))
    await store.set_progress("run-1", "check", 1, "7/7 reachable", at(2))
    progress = await store.progress("run-1")
    assert progress["check"].text == "7/7 reachable"
    assert progress["check"].at == at(2)
    assert len(await store.events("run-1")) == before
    await store.clear_progress("run-1", "check")
    assert await store.progress("run-1") == {}


@pytest.mark.asyncio
async def test_unknown_run_is_a_clear_error(store: Store) -> None:
    """Asking for a run that does not exist says so."""
    with pytest.raises(RunError, match="no run 'nope'"):
        await store.get("nope")


@pytest.mark.asyncio
async def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    """A path that cannot hold a database gives a StoreError naming it."""
    with pytest.raises(StoreError, match="cannot be made: directory"):
        await Store.open(sqlite_url(str(tmp_path / "missing-dir" / "runs.db")))


@pytest.mark.asyncio
async def test_blobs_are_kept_and_replaced(db: str, store: Store) -> None:
    """A named document survives reopening and is replaced, not duplicated."""
    assert await store.get_blob("sim/tts") is None
    await store.put_blob("sim/tts", '{"a": 1}')
    await store.put_blob("sim/tts", '{"a": 2}')
    reopened = await Store.open(db)
    try:
        assert await reopened.get_blob("sim/tts") == '{"a": 2}'
    finally:
        await reopened.aclose()


@pytest.mark.asyncio
async def test_one_process_holds_the_lease(db: str) -> None:
    """Two stores on one database: one holds the lease, the other is told who; expiry frees it."""
    first, second = await Store.open(db), await Store.open(db)
    ttl = timedelta(seconds=30)
    try:
        assert await first.take_lease("run", "host-a pid 1", T0, ttl) is None
        taken = await second.take_lease("run", "host-b pid 2", T0 + timedelta(seconds=10), ttl)
        assert taken == f"host-a pid 1, until {(T0 + ttl).isoformat()}"
        assert (
            await first.take_lease("run", "host-a pid 1", T0 + timedelta(seconds=20), ttl) is None
        )
        later = T0 + timedelta(seconds=51)  # renewed at +20: held until +50
        assert await second.take_lease("run", "host-b pid 2", later, ttl) is None
        assert await first.take_lease("run", "host-a pid 1", later, ttl) is not None
        await second.release_lease("run", "host-b pid 2")
        assert await first.take_lease("run", "host-a pid 1", later, ttl) is None
    finally:
        await first.aclose()
        await second.aclose()
