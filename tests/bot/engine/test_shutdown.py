"""The shutdown as a real night has it: stuck CSCs, Scripts that beat, queues that end scripts.

Against the simulated observatory on simulated time (``tests/support/observatory.py``): a CSC
that will not go OFFLINE goes through the stragglers step, named, never "done by hand"; an
empty straggler list asks nothing; the ScriptQueues come down last and succeed by their
heartbeats; a ``cmd_add`` without an answer is followed on Retry, never queued twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from integrations.clock import VirtualClock
from state.commands import Approve, LeaveUp, Retry
from state.events import StepAwaitingApproval, TargetsProposed
from state.procedure import parse_procedure
from state.run import Run, StepStatus
from tests.support.observatory import Harness, harness
from tests.support.procedures import (
    PREFLIGHT,
    SCRIPTQUEUES,
    SHUTDOWN_SCRIPT,
    STRAGGLERS,
    VERIFY_OFFLINE,
    procedure,
)

SHUTDOWN = procedure(
    "shutdown", PREFLIGHT, SHUTDOWN_SCRIPT, VERIFY_OFFLINE, STRAGGLERS, SCRIPTQUEUES
)
NO_STRAGGLERS_STEP = procedure("shutdown", PREFLIGHT, SHUTDOWN_SCRIPT, VERIFY_OFFLINE, SCRIPTQUEUES)
"""The same shutdown without its stragglers step."""

LEAD = "U_LEAD"


@pytest_asyncio.fixture
async def made(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    """Make harnesses on moving simulated time; close them after the test."""
    opened: list[tuple[Harness, VirtualClock]] = []

    async def make(text: str = SHUTDOWN) -> Harness:
        clock = VirtualClock()
        clock.start()
        h = await harness(tmp_path, parse_procedure(text, "test"), clock, ("summit",))
        opened.append((h, clock))
        return h

    yield make
    for h, clock in opened:
        await h.engine.aclose()
        await clock.aclose()
        await h.store.aclose()


async def run_now(h: Harness) -> Run:
    return (await h.store.recent("summit", 1))[0]


async def status_of(h: Harness, step_id: str, status: StepStatus) -> Run:
    """Wait until the step is in ``status``; the run then."""
    found: list[Run] = []

    async def there() -> bool:
        run = await run_now(h)
        state = run.step(step_id)
        if state is not None and state.status is status:
            found.append(run)
        return bool(found)

    await h.wait_for(there)
    return found[0]


async def approve(h: Harness, step_id: str) -> None:
    """The lead approves the step once the bot has what it needs to show."""
    run = await status_of(h, step_id, StepStatus.AWAITING_APPROVAL)
    state = run.step(step_id)
    assert state is not None
    if state.step.action.proposes_targets():  # the proposal first: the lead approves that
        await h.wait_for(lambda: proposed(h, step_id) is not None)
        state = (await run_now(h)).step(step_id)
        assert state is not None
    await h.engine.execute(run.run_id, Approve(h.engine.actor(LEAD), step_id, state.revision))


def proposed(h: Harness, step_id: str) -> tuple[str, ...] | None:
    found = [
        e.targets for _, e in h.events if isinstance(e, TargetsProposed) and e.step_id == step_id
    ]
    return found[-1] if found else None


@pytest.mark.asyncio
async def test_a_stuck_csc_goes_through_the_stragglers_step_named(
    made: Callable[..., object],
) -> None:
    """MTDome will not go: named by the shutdown, proposed, tried, left up by the lead.

    The ScriptQueues step accepts it and is done when the queues' heartbeats stop.
    """
    h: Harness = await made()  # type: ignore[misc]
    observatory = h.observatories["summit"]
    await observatory.inject("csc-stuck:MTDome:0")
    run = await h.engine.open_run(LEAD, "summit", "cycle-upgrade")
    await approve(h, "shutdown-cscs")

    run = await status_of(h, "shutdown-cscs", StepStatus.DONE_WITH_ISSUES)
    shutdown = run.step("shutdown-cscs")
    assert shutdown is not None
    assert len(shutdown.issues) == 1
    assert shutdown.issues[0].startswith("MTDome:0 ")
    assert shutdown.issues[0].endswith(", beating")
    assert "1 CSC(s) did not go OFFLINE (MTDome:0)" in (shutdown.outcome or "")
    assert not (await observatory.love.queue_state(1)).running  # paused: nobody resumed it

    run = await status_of(h, "verify-offline", StepStatus.DONE_WITH_ISSUES)  # no 10 min wait
    verify = run.step("verify-offline")
    assert verify is not None
    assert verify.ended_at is not None
    assert verify.started_at is not None
    assert (verify.ended_at - verify.started_at).total_seconds() < 60

    await h.wait_for(lambda: proposed(h, "offline-stragglers") == ("MTDome:0",))
    await approve(h, "offline-stragglers")
    run = await status_of(h, "offline-stragglers", StepStatus.FAILED)
    stragglers = run.step("offline-stragglers")
    assert stragglers is not None
    assert "MTDome:0 failed to transition to OFFLINE" in (stragglers.outcome or "")
    await h.engine.execute(
        run.run_id, LeaveUp(h.engine.actor(LEAD), "offline-stragglers", stragglers.revision)
    )
    run = await status_of(h, "offline-stragglers", StepStatus.DONE_WITH_ISSUES)
    assert run.left_up == ("MTDome:0",)

    await h.wait_for(
        lambda: any("Left up by the lead's decision: MTDome:0" in t for _, s, t in h.progress)
    )
    await approve(h, "scriptqueues-offline")
    run = await status_of(h, "scriptqueues-offline", StepStatus.SUCCEEDED)
    queues = run.step("scriptqueues-offline")
    assert queues is not None
    assert (queues.outcome or "").startswith(
        "ScriptQueue:3, ScriptQueue:2, ScriptQueue:1 OFFLINE: their heartbeats stopped"
    )
    assert "left up by the lead: MTDome:0" in (queues.outcome or "")
    assert run.status.value == "completed"
    assert not any(s.status is StepStatus.DONE_BY_HAND for s in run.steps)
    world = observatory.world
    assert not any(world.beating(f"ScriptQueue:{q}") for q in (1, 2, 3))
    assert world.beating("MTDome:0")
    script = world.doc["scripts"]["100003"]  # the queues' script: its queue took it along
    assert script["state"] == "TERMINATED"


@pytest.mark.asyncio
async def test_no_straggler_is_nothing_to_do_without_an_approval(
    made: Callable[..., object],
) -> None:
    """Everything went down: the stragglers step records nothing to do, nobody is asked."""
    h: Harness = await made()  # type: ignore[misc]
    run = await h.engine.open_run(LEAD, "summit", "cycle-upgrade")
    await approve(h, "shutdown-cscs")
    run = await status_of(h, "offline-stragglers", StepStatus.SUCCEEDED)
    state = run.step("offline-stragglers")
    assert state is not None
    assert state.outcome == "nothing to do: no CSC is still up"
    assert state.attempt == 0
    assert state.approved_by is None
    assert proposed(h, "offline-stragglers") == ()
    awaiting = [e.step_id for _, e in h.events if isinstance(e, StepAwaitingApproval)]
    assert awaiting == [
        "shutdown-cscs", "offline-stragglers", "scriptqueues-offline",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_the_scriptqueues_step_refuses_while_csc_nobody_decided_on_are_up(
    made: Callable[..., object],
) -> None:
    """Without a stragglers step, a stuck CSC keeps the queues up: the step says which."""
    h: Harness = await made(NO_STRAGGLERS_STEP)  # type: ignore[misc]
    await h.observatories["summit"].inject("csc-stuck:MTDome:0")
    run = await h.engine.open_run(LEAD, "summit", "cycle-upgrade")
    await approve(h, "shutdown-cscs")
    await status_of(h, "verify-offline", StepStatus.DONE_WITH_ISSUES)
    await h.wait_for(
        lambda: any("nobody decided to leave up: MTDome:0" in t for _, s, t in h.progress)
    )
    await approve(h, "scriptqueues-offline")
    run = await status_of(h, "scriptqueues-offline", StepStatus.FAILED)
    state = run.step("scriptqueues-offline")
    assert state is not None
    assert "1 CSC(s) still up that nobody decided to leave up: MTDome:0" in (state.outcome or "")
    assert h.observatories["summit"].world.beating("ScriptQueue:1")  # nothing was sent


@pytest.mark.asyncio
async def test_no_answer_from_love_shows_the_queue_and_the_retry_follows_the_script(
    made: Callable[..., object],
) -> None:
    """cmd_add queued the script but no answer came: the lead sees it in the queue.

    The retry follows that script rather than adding a second one.
    """
    h: Harness = await made()  # type: ignore[misc]
    observatory = h.observatories["summit"]
    await observatory.inject("love-timeout")
    run = await h.engine.open_run(LEAD, "summit", "cycle-upgrade")
    await approve(h, "shutdown-cscs")
    run = await status_of(h, "shutdown-cscs", StepStatus.FAILED)
    failed = run.step("shutdown-cscs")
    assert failed is not None
    assert "may have been queued on ScriptQueue 1" in (failed.outcome or "")
    assert "cmd_showQueue" in (failed.outcome or "")  # the Nublado cell that looks first
    await h.wait_for(
        lambda: any("queued by this step: Retry follows it" in t for _, _, t in h.progress)
    )
    await h.engine.execute(
        run.run_id, Retry(h.engine.actor(LEAD), "shutdown-cscs", failed.revision)
    )
    run = await status_of(h, "shutdown-cscs", StepStatus.SUCCEEDED)
    scripts = observatory.world.doc["scripts"]
    shutdowns = [i for i, s in scripts.items() if s["path"] == "system_wide_shutdown.py"]
    assert shutdowns == ["100001"]
    done = run.step("shutdown-cscs")
    assert done is not None
    assert done.outcome == "system_wide_shutdown.py ended DONE (script 100001 on ScriptQueue 1)"


@pytest.mark.asyncio
async def test_love_unreachable_queues_nothing_and_gives_the_nublado_cell(
    made: Callable[..., object],
) -> None:
    """LOVE refuses the connection: nothing queued, no "maybe", the cell that adds it."""
    h: Harness = await made()  # type: ignore[misc]
    observatory = h.observatories["summit"]
    run = await h.engine.open_run(LEAD, "summit", "cycle-upgrade")
    await status_of(h, "shutdown-cscs", StepStatus.AWAITING_APPROVAL)
    await observatory.inject("love-down")
    await approve(h, "shutdown-cscs")
    run = await status_of(h, "shutdown-cscs", StepStatus.FAILED)
    outcome = run.step("shutdown-cscs").outcome or ""  # type: ignore[union-attr]
    assert "Nothing reached LOVE, so nothing was queued" in outcome
    assert "may" not in outcome.split("```")[0].replace("mark the step", "")
    assert "queue.cmd_add.set_start(" in outcome
    assert "path='system_wide_shutdown.py'" in outcome
    assert observatory.world.doc["scripts"] == {}
