"""The engine at work against the simulated observatory: sites in parallel, cancel, time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config.procedures import load_procedure
from bot.config.sites import default_sites
from bot.engine.pacer import Pacer
from bot.terminal.leads import SimulatedLead
from integrations.clock import VirtualClock
from integrations.efd import SummaryState
from state.commands import Approve, Cancel, MarkDone
from state.events import (
    RunCompleted,
    StepAwaitingApproval,
    StepDoneWithIssues,
    StepFailed,
    StepStarted,
    StepSucceeded,
)
from state.names import Site
from state.procedure import Procedure, parse_procedure
from state.run import Run, RunStatus, StepStatus
from tests.support.observatory import Harness, harness
from tests.support.procedures import PREFLIGHT, SCRIPTQUEUES, SHUTDOWN_SCRIPT, WAIVED, procedure

WATCH = (
    """
name: watch
steps:
  - id: preflight
    title: Pre-flight
    phase: shutdown
    action: {type: preflight.check, timeout: 2m}
  - id: watch-offline
    title: Everything OFFLINE
    phase: shutdown
    action: {type: efd.wait_for_states, expect: offline, deadline: 10m, poll: 30s}
"""
    + WAIVED
)

SYNC = (
    """
name: sync
steps:
  - id: sync-nublado
    title: Sync nublado
    phase: deployment
    needs_approval: true
    action: {type: argocd.sync, apps: [nublado], expected: 20m}
"""
    + WAIVED
)

SHUTDOWN = procedure("shutdown", PREFLIGHT, SHUTDOWN_SCRIPT, SCRIPTQUEUES)


Closing = list[tuple[Harness, VirtualClock]]


@pytest_asyncio.fixture
async def closing() -> AsyncIterator[Closing]:
    """Harnesses made in a test (and their clocks), closed after it."""
    made: Closing = []
    yield made
    for h, clock in made:
        await h.engine.aclose()
        await clock.aclose()
        await h.store.aclose()


async def make(
    closing: Closing,
    tmp_path: Path,
    procedure: Procedure,
    sites: Sequence[Site] = ("summit",),
    *,
    moving: bool = False,
) -> tuple[Harness, VirtualClock]:
    """A harness on simulated time: moved by the test's hand, or ``moving`` by itself."""
    clock = VirtualClock()
    if moving:
        clock.start()
    h = await harness(tmp_path, procedure, clock, sites)
    closing.append((h, clock))
    return h, clock


def gone(h: Harness, step_id: str) -> int:
    """How many targets the step's last progress line says are done."""
    lines = [t for _, s, t in h.progress if s == step_id]
    found = re.search(r"(\d+)/\d+ done", lines[-1]) if lines else None
    return int(found.group(1)) if found else 0


def awaiting(h: Harness, step_id: str) -> bool:
    return any(isinstance(e, StepAwaitingApproval) and e.step_id == step_id for _, e in h.events)


def succeeded(h: Harness, step_id: str) -> StepSucceeded | None:
    return next(
        (e for _, e in h.events if isinstance(e, StepSucceeded) and e.step_id == step_id), None
    )


async def shutdown_approved(h: Harness) -> Run:
    """A summit run (the SHUTDOWN procedure) whose lead approved the shutdown script."""
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.wait_for(lambda: awaiting(h, "shutdown-cscs"))
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "shutdown-cscs", 1))
    return run


def started(h: Harness, step_id: str) -> bool:
    return any(isinstance(e, StepStarted) and e.step_id == step_id for _, e in h.events)


@pytest.mark.asyncio
async def test_a_watch_ends_at_its_deadline_from_tick(closing: Closing, tmp_path: Path) -> None:
    """At ``tick(now)`` past the deadline the watch ends naming who is in trouble; no sleep."""
    h, clock = await make(closing, tmp_path, parse_procedure(WATCH, "watch"))
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.wait_for(lambda: started(h, "watch-offline"))
    await h.engine.tick(clock.now() + timedelta(minutes=9))  # before the deadline: nothing
    watch = (await h.store.get(run.run_id)).step("watch-offline")
    assert watch is not None
    assert watch.status is StepStatus.RUNNING

    await h.engine.tick(clock.now() + timedelta(minutes=11))

    run = await h.store.get(run.run_id)
    state = run.step("watch-offline")
    assert state is not None
    assert state.status is StepStatus.DONE_WITH_ISSUES
    issues = next(e for _, e in h.events if isinstance(e, StepDoneWithIssues)).issues
    # 150 beating at the baseline, less the 2 ignored and the 3 ScriptQueues: all still up.
    assert len(issues) == 145
    assert "MTDome:0 " in " ".join(issues)
    assert not any(ref.startswith(("ScriptQueue", "MTM1M3")) for ref in issues)
    assert run.status is RunStatus.COMPLETED
    assert h.engine.following() == []  # the polling runner was stopped


@pytest.mark.asyncio
async def test_a_hung_step_times_out_from_tick_and_its_operation_is_stopped(
    closing: Closing, tmp_path: Path
) -> None:
    """Past the timeout, ``tick`` fails the step and asks the integration to stop.

    The shutdown script is not patient (a sync is: see ``test_patience``): it times out.
    """
    h, clock = await make(closing, tmp_path, parse_procedure(SHUTDOWN, "shutdown"))
    observatory = h.observatories["summit"]
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.wait_for(lambda: awaiting(h, "shutdown-cscs"))  # the pre-flight pinged LOVE
    observatory.arm_hang(observatory.love)
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "shutdown-cscs", 1))
    await h.wait_for(lambda: observatory.love._held)  # the script's call is hanging

    await h.engine.tick(clock.now() + timedelta(minutes=31))

    failed = next(e for _, e in h.events if isinstance(e, StepFailed))
    assert failed.timed_out
    assert failed.error == "timed out after 30m"
    assert not observatory.love._held
    state = (await h.store.get(run.run_id)).step("shutdown-cscs")
    assert state is not None
    assert state.status is StepStatus.FAILED


@pytest.mark.asyncio
async def test_cancel_stops_the_script_in_the_simulated_queue(
    closing: Closing, tmp_path: Path
) -> None:
    """The lead cancels the shutdown midway: the task ends and the script stops for real."""
    h, clock = await make(closing, tmp_path, parse_procedure(SHUTDOWN, "shutdown"))
    observatory = h.observatories["summit"]
    run = await shutdown_approved(h)
    lead = h.engine.actor("U_LEAD")
    while gone(h, "shutdown-cscs") < 10:
        await clock.advance(1)

    await h.engine.execute(run.run_id, Cancel(lead, "shutdown-cscs", 2))

    world = observatory.world
    script = world.doc["scripts"]["100001"]
    assert script["state"] == "STOPPED"
    assert not [p for p in world.doc["pending"] if p[5] == "script:100001"]
    beating = sum(world.beating(ref) for ref in world.doc["cscs"])
    assert 5 < beating < 145  # stopped midway: some went, some did not
    await clock.advance(30)  # nothing more goes down
    assert sum(observatory.world.beating(ref) for ref in world.doc["cscs"]) == beating
    failed = next(e for _, e in h.events if isinstance(e, StepFailed))
    assert failed.cancelled
    assert h.engine.following() == []


async def run_with_lead(h: Harness, site: Site, user: str) -> RunStatus:
    """Open a full run of ``site`` and let a simulated lead take it to the end."""
    lead = SimulatedLead(engine=h.engine, clock=h.engine._clock, user=user)
    h.engine.subscribe(lead)
    if site == "summit":  # the camera team answers the Stage 2 call
        observatory = h.observatories[site]
        await observatory.camera_team_starts_bridges(after=3 * 3600)
    await h.engine.open_run(user, site, "cycle-upgrade", cycle="c0040",
                            phalanx_branch="tickets/DM-48000")  # fmt: skip
    return (await lead.finished).status


@pytest.mark.slow
@pytest.mark.asyncio
async def test_three_sites_run_at_the_same_time(closing: Closing, tmp_path: Path) -> None:
    """Summit, TTS and BTS upgrade side by side, each against its own observatory."""
    h, clock = await make(
        closing, tmp_path, load_procedure(), sites=("summit", "tts", "bts"), moving=True
    )
    ticker = Pacer(engine=h.engine, clock=clock)
    ticker.start()
    try:
        async with asyncio.timeout(120):
            results = await asyncio.gather(
                *(run_with_lead(h, s, f"U_{s}") for s in ("summit", "tts", "bts"))
            )
    finally:
        await ticker.aclose()
    assert results == [RunStatus.COMPLETED] * 3
    runs = {run.site: run for run in await h.store.recent(limit=3)}
    assert {site: len(run.steps) for site, run in runs.items()} == {
        "summit": 25, "tts": 20, "bts": 20,
    }  # fmt: skip
    # The runs overlapped in time: each started before the others ended.
    for run in runs.values():
        for other in runs.values():
            assert run.started_at < (other.ended_at or run.started_at)
    # Each site's announcements were made once, in its own name.
    for site in ("summit", "tts", "bts"):
        keys = [k for s, k in h.announcements.posted if s == site]
        assert keys == [
            "nublado-going-down", "camera-stage-1", "camera-stage-2", "nublado-available",
        ]  # fmt: skip
    # Each observatory went through its own upgrade: ScriptQueues back ENABLED, summit-only
    # bare-metal services handled at the summit only.
    for site, observatory in h.observatories.items():
        world = observatory.world
        assert world.state("ScriptQueue:1") is SummaryState.ENABLED
        assert world.beating("ScriptQueue:1")
        assert world.doc["scripts"], site
    assert h.observatories["summit"].world.doc["units"][
        "bare-metal.simulated:ts-services.service"
    ] == "active"  # fmt: skip
    succeeded = {(r, e.step_id) for r, e in h.events if isinstance(e, StepSucceeded)}
    assert (runs["summit"].run_id, "bare-metal-shutdown") in succeeded
    assert not any(s == "bare-metal-shutdown" for r, s in succeeded if r != runs["summit"].run_id)


@pytest.mark.asyncio
async def test_a_failed_sync_shows_the_apps_live_state(closing: Closing, tmp_path: Path) -> None:
    """After a sync fails (Degraded), the lead sees each app's state now, before Retry."""
    h, _ = await make(closing, tmp_path, parse_procedure(SYNC, "sync"), moving=True)
    await h.observatories["summit"].inject("app-degraded:nublado")
    run = await h.engine.open_run("U_LEAD", "summit", "cycle-upgrade")
    await h.engine.execute(run.run_id, Approve(h.engine.actor("U_LEAD"), "sync-nublado", 1))
    await h.wait_for(lambda: any(t.startswith("Now in ArgoCD:") for _, _, t in h.progress))
    failed = next(e for _, e in h.events if isinstance(e, StepFailed))
    assert "nublado: Degraded" in failed.error
    live = next(t for _, _, t in h.progress if t.startswith("Now in ArgoCD:"))
    assert "nublado: Synced, Degraded, operation Succeeded: Pod nublado/" in live


CONFIG_BRANCHES = """
  - id: config-branches
    title: Configuration branches pushed
    phase: configuration
    instructions: The bot checks each configuration repository.
    action: {type: github.branches, timeout: 2m}
"""


@pytest.mark.asyncio
async def test_a_real_run_does_by_hand_what_its_site_leaves_unset(
    closing: Closing, tmp_path: Path
) -> None:
    """The site does not name its configuration repositories: the bot does not guess them.

    The step waits for the lead as a manual step, saying why and what to do; GitHub is never
    asked; the lead's "Mark done" with a note ends it.
    """
    clock = VirtualClock()
    clock.start()
    h = await harness(
        tmp_path,
        parse_procedure(procedure("unset", PREFLIGHT, CONFIG_BRANCHES), "unset"),
        clock,
        ("tts",),
        configs=default_sites(),  # as configured for a real run: no stand-ins
    )
    closing.append((h, clock))
    asked: list[str] = []
    github = h.observatories["tts"].github
    real_branch_exists = github.branch_exists

    async def branch_exists(repo: str, branch: str) -> bool:
        asked.append(repo)
        return await real_branch_exists(repo, branch)

    github.branch_exists = branch_exists  # type: ignore[method-assign]
    run = await h.engine.open_run("U_LEAD", "tts", "cycle-upgrade", cycle="c0042")
    await h.wait_for(lambda: started(h, "config-branches"))
    state = (await h.store.get(run.run_id)).step("config-branches")
    assert state is not None
    assert state.status is StepStatus.RUNNING
    assert state.step.action.type == "manual"
    assert "the tts configuration does not set config_repos" in state.step.instructions

    await h.engine.execute(
        run.run_id, MarkDone(h.engine.actor("U_LEAD"), "config-branches", 1, note="all pushed")
    )

    await h.wait_for(lambda: any(isinstance(e, RunCompleted) for _, e in h.events))
    assert asked == []
