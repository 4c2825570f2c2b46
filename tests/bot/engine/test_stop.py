"""The engine stops gracefully, and only the bot that holds the store's lease starts actions.

Against the simulated observatory: a step whose action ends within the grace records its
outcome; one that does not is recorded as interrupted by the stopping engine itself; a bot
whose lease was taken just after a step was recorded never starts that step's action.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.engine.changes import Change, RunChanged
from integrations.clock import VirtualClock
from state.commands import AddNote, Approve
from state.events import Event, StepInterrupted, StepStarted, StepSucceeded
from state.procedure import parse_procedure
from state.run import StepStatus
from state.store import Store
from state.store_url import sqlite_url
from state.stored import LeaseLost
from tests.support.observatory import Harness, harness
from tests.support.procedures import WAIVED

SYNC = (
    """
name: sync
steps:
  - id: preflight
    title: Pre-flight
    phase: shutdown
    action: {type: preflight.check, timeout: 2m}
  - id: sync-nublado
    title: Sync nublado
    phase: deployment
    needs_approval: true
    action: {type: argocd.sync, apps: [nublado], expected: 20m}
"""
    + WAIVED
)

TTL = timedelta(seconds=30)


@pytest_asyncio.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """An engine on a store that holds the lease, with a simulated summit, on simulated time."""
    clock = VirtualClock()
    clock.start()
    made = await harness(tmp_path, parse_procedure(SYNC, "sync"), clock, ["summit"])
    assert await made.store.take_lease("run", "this bot", datetime.now(UTC), TTL) is None
    yield made
    await made.engine.aclose()
    await clock.aclose()
    await made.store.aclose()


def of(h: Harness, kind: type[Event], step_id: str) -> list[Event]:
    """The events of ``kind`` about ``step_id`` the engine told its listeners."""
    return [e for _, e in h.events if isinstance(e, kind) and getattr(e, "step_id", "") == step_id]


@pytest.mark.asyncio
async def test_a_step_that_ends_within_the_grace_records_its_outcome(h: Harness) -> None:
    """Stopped while the pre-flight runs: it finishes, succeeds, and nothing new starts."""
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    assert of(h, StepStarted, "preflight")
    await h.engine.stop(grace=30)
    assert of(h, StepSucceeded, "preflight")
    assert not of(h, StepInterrupted, "preflight")
    state = (await h.store.get(run.run_id)).step("sync-nublado")
    assert state is not None
    assert state.status is StepStatus.AWAITING_APPROVAL


@pytest.mark.asyncio
async def test_a_step_still_running_after_the_grace_is_interrupted_by_the_engine(
    h: Harness,
) -> None:
    """A sync that hangs: after the grace the engine cuts it off and records it interrupted."""
    observatory = h.observatories["summit"]
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.wait_for(lambda: of(h, StepSucceeded, "preflight"))
    observatory.arm_hang(observatory.argocd)  # its next call: the sync's
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "sync-nublado", 1))
    await h.wait_for(lambda: observatory.argocd._held)  # the sync call hangs
    await h.engine.stop(grace=0.2)
    [interrupted] = of(h, StepInterrupted, "sync-nublado")
    assert interrupted.actor == "bot"
    state = (await h.store.get(run.run_id)).step("sync-nublado")
    assert state is not None
    assert (state.status, state.attempt) == (StepStatus.INTERRUPTED, 1)
    assert h.engine.following() == []


@pytest.mark.asyncio
async def test_a_bot_that_lost_the_lease_starts_no_action(h: Harness, tmp_path: Path) -> None:
    """A standby takes over right after the approval is stored: the sync is never called."""
    standby = await Store.open(sqlite_url(str(tmp_path / "engine.db")))

    async def take_over(change: Change) -> None:
        if isinstance(change, RunChanged) and any(
            isinstance(e, StepStarted) and e.step_id == "sync-nublado" for e in change.events
        ):
            later = datetime.now(UTC) + TTL + timedelta(seconds=1)
            assert await standby.take_lease("run", "the standby", later, TTL) is None

    h.engine.subscribe(take_over)
    observatory = h.observatories["summit"]
    try:
        run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
        await h.wait_for(lambda: of(h, StepSucceeded, "preflight"))
        assert (await observatory.argocd.status("nublado")).operation is None
        with pytest.raises(LeaseLost, match="now held by the standby"):
            await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "sync-nublado", 1))
        assert h.engine.following() == []
        assert (await observatory.argocd.status("nublado")).operation is None  # never synced
        lead = h.engine.actor("U_LEAD")
        with pytest.raises(LeaseLost):  # and nothing more is written
            await h.engine.execute(run.run_id, AddNote(lead, "still there?"))
    finally:
        await standby.aclose()


@pytest.mark.asyncio
async def test_a_step_started_as_the_bot_stops_is_interrupted_not_begun(h: Harness) -> None:
    """The stop begins while an approval is applied: it waits for it; the step is not run."""
    stopping: list[asyncio.Task[None]] = []
    recorded: list[bool] = []  # when the stop ended: was the step recorded interrupted?
    step = "sync-nublado"

    async def stop_now(change: Change) -> None:
        if (
            not stopping
            and isinstance(change, RunChanged)
            and any(
                isinstance(e, StepStarted) and e.step_id == "sync-nublado" for e in change.events
            )
        ):
            stop = asyncio.create_task(h.engine.stop(grace=5))
            stop.add_done_callback(lambda _: recorded.append(bool(of(h, StepInterrupted, step))))
            stopping.append(stop)
            await asyncio.sleep(0)  # the stop begins while the command is under way

    h.engine.subscribe(stop_now)
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.wait_for(lambda: of(h, StepSucceeded, "preflight"))
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "sync-nublado", 1))
    await asyncio.wait_for(stopping[0], 10)
    assert recorded == [True]
    [interrupted] = of(h, StepInterrupted, "sync-nublado")
    assert interrupted.actor == "bot"
    assert (await h.observatories["summit"].argocd.status("nublado")).operation is None
