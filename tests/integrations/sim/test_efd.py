"""The simulated EFD: last summary states and heartbeat ages, judged by silence."""

from __future__ import annotations

import pytest

from integrations.efd import HEARTBEAT_SILENCE, SummaryState
from integrations.sim import SimObservatory
from tests.integrations.sim.conftest import ManualClock, alive, reading


@pytest.mark.asyncio
async def test_fresh_reading_at_start(any_site: SimObservatory, clock: ManualClock) -> None:
    """At the start the EFD is fresh and hears every CSC within the last second."""
    states = await any_site.efd.states()
    world = any_site.world
    assert states.fresh
    assert states.at == clock.now()
    assert set(states.cscs) == set(world.specs)
    for ref, csc in states.cscs.items():
        assert csc.ref == ref
        assert csc.alive
        assert csc.heartbeat_age is not None
        assert 0.0 <= csc.heartbeat_age < 1.0
        assert csc.summary_state is world.state(ref)


@pytest.mark.asyncio
async def test_beating_stays_young(summit: SimObservatory, clock: ManualClock) -> None:
    """A running CSC beats every second: however far the clock goes, its age stays under 1 s."""
    for _ in range(5):
        clock.advance(3600)
        ages = [c.heartbeat_age for c in (await summit.efd.states()).cscs.values()]
        assert all(age is not None and age < 1.0 for age in ages)


@pytest.mark.asyncio
@pytest.mark.parametrize(("ref", "last"), [("ATMCS:0", "STANDBY"), ("ESS:1", "OFFLINE")])
async def test_exited_csc_goes_silent_keeping_its_last_state(
    summit: SimObservatory, clock: ManualClock, ref: str, last: str
) -> None:
    """After exitControl the age grows with the clock; the state is the last one published."""
    name, _, index = ref.partition(":")
    assert (await reading(summit, ref)).summary_state is SummaryState.STANDBY
    await summit.love.command(csc=name, index=int(index), command="exitControl")
    clock.advance(10)
    first = await reading(summit, ref)
    assert first.heartbeat_age is not None
    clock.advance(250)
    later = await reading(summit, ref)
    assert later.heartbeat_age == pytest.approx(first.heartbeat_age + 250)
    assert not later.alive
    assert later.summary_state is SummaryState[last]
    assert ref not in await alive(summit)
    assert len(await alive(summit)) == 149


@pytest.mark.asyncio
async def test_alive_means_heard_within_the_silence_limit(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """A CSC killed now counts as running until ten seconds of silence, not after."""
    summit.world.schedule(clock.now().timestamp(), "exit", "ATDome:0")
    clock.advance(HEARTBEAT_SILENCE)
    assert (await reading(summit, "ATDome:0")).heartbeat_age == pytest.approx(HEARTBEAT_SILENCE)
    clock.advance(0.5)
    assert not (await reading(summit, "ATDome:0")).alive


@pytest.mark.asyncio
async def test_efd_stale(summit: SimObservatory, clock: ManualClock) -> None:
    """With efd-stale the reading is not fresh and every CSC's age grows with the clock."""
    await summit.inject("efd-stale")
    assert not (await summit.efd.states()).fresh
    clock.advance(60)
    first = await summit.efd.states()
    assert not first.fresh
    assert all(c.heartbeat_age is not None and c.heartbeat_age >= 60 for c in first.cscs.values())
    assert not any(c.alive for c in first.cscs.values())
    clock.advance(120)
    later = await summit.efd.states()
    for ref, csc in later.cscs.items():
        before = first.cscs[ref].heartbeat_age
        assert before is not None
        assert csc.heartbeat_age is not None
        assert csc.heartbeat_age - before == pytest.approx(120, abs=1.0)


@pytest.mark.asyncio
async def test_efd_stale_hides_later_states(summit: SimObservatory, clock: ManualClock) -> None:
    """An EFD that stopped receiving data cannot know a state published afterwards."""
    assert (await reading(summit, "ATDome:0")).summary_state is SummaryState.STANDBY
    await summit.inject("efd-stale")
    await summit.love.command(csc="ATDome", index=0, command="start")
    clock.advance(10)
    assert summit.world.state("ATDome:0") is SummaryState.DISABLED
    assert (await reading(summit, "ATDome:0")).summary_state is SummaryState.STANDBY
