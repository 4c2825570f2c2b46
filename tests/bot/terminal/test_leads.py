"""The simulated lead decides as a careful person would, and never retries for ever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config.procedures import load_procedure
from bot.terminal.leads import INTERRUPTED_ATTEMPTS, SimulatedLead
from integrations.clock import VirtualClock
from state.commands import MarkDone, Retry
from state.events import StepInterrupted
from state.run import StepStatus
from tests.support.observatory import Harness, harness


@pytest_asyncio.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """An engine with a simulated summit, its time moved by hand (not at all here)."""
    clock = VirtualClock()
    made = await harness(tmp_path, load_procedure(None), clock, ["summit"])
    yield made
    await made.engine.aclose()
    await clock.aclose()
    await made.store.aclose()


@pytest.mark.asyncio
async def test_an_interrupted_step_is_retried_then_marked_done_saying_so(h: Harness) -> None:
    """Interrupted again and again (a demo killed at the same place): a bound, then by hand."""
    lead = SimulatedLead(engine=h.engine, clock=VirtualClock(), user="demo-lead")
    run = await h.engine.open_run("demo-lead", "summit", "cycle-upgrade")
    step = run.step("shutdown-cscs")
    assert step is not None
    decisions = []
    for attempt in range(1, INTERRUPTED_ATTEMPTS + 1):
        state = step.model_copy(update={"status": StepStatus.INTERRUPTED, "attempt": attempt})
        event = StepInterrupted(at=run.started_at, actor="bot", step_id=step.id, attempt=attempt)
        decision = lead.decide(state, event)
        assert decision is not None
        decisions.append(decision[1](state))
    assert [type(d) for d in decisions] == [Retry] * (INTERRUPTED_ATTEMPTS - 1) + [MarkDone]
    last = decisions[-1]
    assert isinstance(last, MarkDone)
    assert last.note == (
        f"done by hand after {INTERRUPTED_ATTEMPTS} interrupted attempts (the simulated lead "
        "retries an interrupted step no more)"
    )
