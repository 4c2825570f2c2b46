"""Patience at work: a sync past its expected time is the lead's to decide, never the bot's.

Against the simulated observatory on a clock moved by hand: the engine's ``tick`` past the
expected time makes the step overdue, reads what the apps' pods are doing, tells the lead,
and stops nothing; each of the lead's three choices then does what it says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from integrations.clock import VirtualClock
from state.commands import Approve, Cancel, KeepWaiting, MarkDone
from state.events import StepFailed, StepOverdue, StepWaitExtended
from state.procedure import parse_procedure
from state.run import Run, StepState, StepStatus
from tests.bot.engine.test_engine import SYNC
from tests.support.observatory import Harness, harness
from tests.support.procedures import WAIVED

PULL_REQUEST = (
    """
name: pull request
steps:
  - id: phalanx-pr
    title: Phalanx pull request merged
    phase: configuration
    action: {type: github.pull_request, expected: 1m}
"""
    + WAIVED
)


@pytest_asyncio.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The summit on a clock moved by hand, running the one-sync procedure."""
    clock = VirtualClock()
    h = await harness(tmp_path, parse_procedure(SYNC, "sync"), clock, ("summit",))
    yield h
    await h.engine.aclose()
    await h.store.aclose()


def clock_of(h: Harness) -> VirtualClock:
    clock = h.engine._clock
    assert isinstance(clock, VirtualClock)
    return clock


async def step(h: Harness, run: Run, step_id: str = "sync-nublado") -> StepState:
    state = (await h.store.get(run.run_id)).step(step_id)
    assert state is not None
    return state


async def approved(h: Harness) -> Run:
    """A summit run whose lead approved the nublado sync."""
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "sync-nublado", 1))
    return run


async def past(h: Harness, minutes: float) -> None:
    """Move the clock ``minutes`` on and let the engine do what is due."""
    await clock_of(h).advance(minutes * 60)
    await h.engine.tick()


async def hung(h: Harness) -> Run:
    """A run whose sync hangs (approved; the sync call never answers)."""
    argocd = h.observatories["summit"].argocd
    argocd.arm_hang()
    run = await approved(h)
    await h.wait_for(lambda: argocd._held)
    return run


@pytest.mark.asyncio
async def test_a_hung_sync_is_never_stopped_it_becomes_overdue(h: Harness) -> None:
    """Past its expected time: overdue, the lead told in the thread, the operation untouched."""
    argocd = h.observatories["summit"].argocd
    run = await hung(h)
    assert await h.engine.next_due() == run.started_at + timedelta(minutes=20)

    await past(h, 21)

    state = await step(h, run)
    assert (state.status, state.overdue) == (StepStatus.OVERDUE, 1)
    assert argocd._held  # nothing was stopped
    assert not any(isinstance(e, StepFailed) for _, e in h.events)
    [(site, notice)] = h.announcements.notices
    assert (site, notice.key, notice.in_thread, notice.mention) == (
        "summit", "overdue:sync-nublado#1.1", True, ("U_LEAD",),
    )  # fmt: skip
    assert notice.text.startswith(
        ":hourglass_flowing_sand: <@U_LEAD> *Sync nublado* (Summit) is taking longer than "
        "expected: 20m expected, running for 21m. Nothing was stopped"
    )
    assert "Now in ArgoCD:\nnublado: OutOfSync, Healthy" in notice.text
    assert "*Cancel* (terminates the running syncs in ArgoCD)" in notice.text
    # Nothing more until the lead decides, but one reminder if they do not.
    assert await h.engine.next_due() == clock_of(h).now() + timedelta(minutes=20)
    await past(h, 30)
    assert [n.key for _, n in h.announcements.notices] == [
        "overdue:sync-nublado#1.1",
        f"remind:sync-nublado:{state.revision}",
    ]
    assert "keep waiting, cancel it or mark it done (with a note)" in (
        h.announcements.notices[1][1].text
    )


@pytest.mark.asyncio
async def test_keep_waiting_then_cancel_stops_the_operation(h: Harness) -> None:
    """Keep waiting: another 20 minutes, told again then; Cancel: the hung sync is stopped."""
    argocd = h.observatories["summit"].argocd
    run = await hung(h)
    await past(h, 21)
    lead = h.engine.actor("U_LEAD")

    revision = (await step(h, run)).revision
    await h.engine.execute(run.run_id, KeepWaiting(lead, "sync-nublado", revision))

    state = await step(h, run)
    assert state.status is StepStatus.RUNNING
    assert state.overdue_at == clock_of(h).now() + timedelta(minutes=20)
    assert any(isinstance(e, StepWaitExtended) for _, e in h.events)
    await past(h, 19)
    assert (await step(h, run)).status is StepStatus.RUNNING
    await past(h, 2)
    state = await step(h, run)
    assert (state.status, state.overdue) == (StepStatus.OVERDUE, 2)
    assert [n.key for _, n in h.announcements.notices] == [
        "overdue:sync-nublado#1.1",
        "overdue:sync-nublado#1.2",
    ]

    await h.engine.execute(run.run_id, Cancel(lead, "sync-nublado", state.revision))

    assert not argocd._held  # the lead's cancel stopped it
    failed = next(e for _, e in h.events if isinstance(e, StepFailed))
    assert (failed.cancelled, failed.actor) == (True, "U_LEAD")


@pytest.mark.asyncio
async def test_a_slow_pull_shows_the_pods_and_patience_pays(h: Harness) -> None:
    """Images pulled slowly: the pods back off, the lead keeps waiting, the sync succeeds."""
    await h.observatories["summit"].inject("slow-pull:nublado")
    run = await approved(h)
    await past(h, 21)
    overdue = next(e for _, e in h.events if isinstance(e, StepOverdue))
    assert "nublado: OutOfSync, Healthy, operation Running: waiting for image pulls" in overdue.seen
    assert "  Pod nublado/nublado-" in overdue.seen
    assert ": ImagePullBackOff (0/1) Back-off pulling image" in overdue.seen or (
        ": ErrImagePull (0/1)" in overdue.seen
    )
    for _ in range(40):  # the pull ends at 55 minutes, the app settles after: keep waiting
        state = await step(h, run)
        if state.status is StepStatus.OVERDUE:
            lead = h.engine.actor("U_LEAD")
            await h.engine.execute(run.run_id, KeepWaiting(lead, "sync-nublado", state.revision))
        await past(h, 1)
    state = await step(h, run)
    assert state.status is StepStatus.SUCCEEDED
    assert state.outcome == "1 app(s) Synced and Healthy: nublado"
    keys = [n.key for _, n in h.announcements.notices]
    assert [k for k in keys if k.startswith("overdue:")] == [
        "overdue:sync-nublado#1.1",  # at 20 minutes
        "overdue:sync-nublado#1.2",  # at 41: still pulling, the lead waits again
    ]


@pytest.mark.asyncio
async def test_mark_done_stops_following_and_leaves_the_sync_to_argocd(h: Harness) -> None:
    """Marked done with a note: the run goes on; ArgoCD's operation is not terminated."""
    observatory = h.observatories["summit"]
    await observatory.inject("slow-pull:nublado")
    run = await approved(h)
    await past(h, 21)
    state = await step(h, run)
    note = "nublado's images are still pulling; I follow it in ArgoCD"

    await h.engine.execute(
        run.run_id, MarkDone(h.engine.actor("U_LEAD"), "sync-nublado", state.revision, note=note)
    )

    state = await step(h, run)
    assert (state.status, state.reason) == (StepStatus.DONE_BY_HAND, note)
    assert h.engine.following() == []  # no longer followed
    assert observatory.world.doc["apps"]["nublado"]["op"] == "Running"  # not terminated
    await past(h, 40)
    assert observatory.world.doc["apps"]["nublado"]["op"] == "Succeeded"  # it went on


@pytest.mark.asyncio
async def test_the_pull_request_wait_is_patient_too(tmp_path: Path) -> None:
    """Nobody merged it in the expected time: the lead is told where it stands on GitHub."""
    clock = VirtualClock()
    h = await harness(tmp_path, parse_procedure(PULL_REQUEST, "pr"), clock, ("summit",))
    try:
        run = await h.engine.open_run(
            "U_LEAD", "summit", "cycle-upgrade", phalanx_branch="tickets/DM-48000"
        )
        await clock.advance(2 * 60)
        await h.engine.tick()
        state = (await h.store.get(run.run_id)).step("phalanx-pr")
        assert state is not None
        assert state.status is StepStatus.OVERDUE
        [(_, notice)] = h.announcements.notices
        assert "Now on GitHub: lsst-sqre/phalanx#5123 open, checks pending (https://" in (
            notice.text
        )
        assert "*Cancel* (stops waiting for the pull request (nothing on GitHub changes))" in (
            notice.text
        )
    finally:
        await h.engine.aclose()
        await h.store.aclose()


def test_a_sync_started_before_patience_becomes_overdue_at_its_timeout() -> None:
    """A running sync with a ``timeout_at`` (stored before): due as overdue, never stopped."""
    sync = parse_procedure(SYNC, "sync").steps[0]
    started = StepState(step=sync, status=StepStatus.RUNNING, attempt=1)
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    legacy = started.model_copy(update={"timeout_at": at})
    assert legacy.expected_end() == at
    assert started.model_copy(update={"overdue_at": at}).expected_end() == at
    overdue = legacy.model_copy(update={"status": StepStatus.OVERDUE})
    assert overdue.expected_end() is None  # told already: the lead decides
