"""The virtual clock: time moves only when nothing simulated is ready, whatever the machine does."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from integrations.clock import VirtualClock

T0 = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


def seconds(clock: VirtualClock) -> float:
    return (clock.now() - T0).total_seconds()


@pytest.mark.asyncio
async def test_sleepers_wake_in_time_order_at_their_own_time() -> None:
    """Three sleepers: each wakes with the clock at its own due time, in order."""
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        woke.append((name, seconds(clock)))

    async with VirtualClock(origin=T0) as clock:
        await asyncio.gather(sleeper("c", 3600), sleeper("a", 5), sleeper("b", 60))
    assert woke == [("a", 5.0), ("b", 60.0), ("c", 3600.0)]


@pytest.mark.asyncio
async def test_time_stands_still_while_the_store_is_busy_in_a_thread() -> None:
    """A call held busy (a store statement in a thread) keeps a due sleeper asleep."""
    async with VirtualClock(origin=T0) as clock:
        seen: list[float] = []

        def slow_write() -> None:
            time.sleep(0.3)  # a slow disk on a loaded machine

        async def write() -> None:
            with clock.busy():
                seen.append(seconds(clock))
                await asyncio.to_thread(slow_write)
                seen.append(seconds(clock))

        sleeper = asyncio.create_task(clock.sleep(1))
        await write()
        await sleeper
    assert seen == [0.0, 0.0]
    assert seconds(clock) == 1.0


@pytest.mark.asyncio
async def test_time_stands_still_while_any_task_has_work_ready() -> None:
    """A task that yields a thousand times sees no time pass while a sleeper waits."""
    async with VirtualClock(origin=T0) as clock:
        sleeper = asyncio.create_task(clock.sleep(30))
        for _ in range(1000):
            await asyncio.sleep(0)
            assert seconds(clock) == 0.0
        await sleeper
    assert seconds(clock) == 30.0


@pytest.mark.asyncio
async def test_the_same_simulation_gives_the_same_trace_whatever_the_threads_take() -> None:
    """Tasks that sleep, and write through threads of random real length: one trace, twice.

    The writes take turns as the store's do on a virtual clock (one statement at a time).
    """

    async def simulate(seed: int) -> list[tuple[str, float]]:
        real = random.Random(seed)  # noqa: S311  # jitter, not security
        trace: list[tuple[str, float]] = []
        turn = asyncio.Lock()
        async with VirtualClock(origin=T0) as clock:

            async def worker(name: str, naps: list[float]) -> None:
                for nap in naps:
                    async with turn:
                        with clock.busy():
                            await asyncio.to_thread(time.sleep, real.uniform(0, 0.01))
                    trace.append((name, seconds(clock)))
                    await clock.sleep(nap)

            await asyncio.gather(
                worker("a", [10, 10, 10]), worker("b", [15, 5, 1]), worker("c", [7, 7, 7])
            )
        return trace

    assert await simulate(1) == await simulate(2)


@pytest.mark.asyncio
async def test_a_speed_bound_keeps_time_from_running_ahead_of_the_wall() -> None:
    """At x100, ten simulated seconds take at least a tenth of a real second."""
    async with VirtualClock(origin=T0, speed=100) as clock:
        began = time.monotonic()
        await clock.sleep(10)
    assert time.monotonic() - began >= 0.1


@pytest.mark.asyncio
async def test_an_earlier_sleeper_comes_first_even_while_the_clock_waits_for_the_wall() -> None:
    """Waiting (speed bound) for a far sleeper, a new, nearer one is woken first."""
    async with VirtualClock(origin=T0, speed=1000) as clock:
        far = asyncio.create_task(clock.sleep(3600))  # 3.6 s of real time at x1000
        await asyncio.sleep(0.05)
        await clock.sleep(1)
        assert seconds(clock) == 1.0
        assert not far.done()
        far.cancel()


@pytest.mark.asyncio
async def test_a_cancelled_sleeper_moves_nothing() -> None:
    """A sleep cancelled early does not drag time to its due moment."""
    async with VirtualClock(origin=T0) as clock:
        early = asyncio.create_task(clock.sleep(100))
        await asyncio.sleep(0)
        early.cancel()
        await clock.sleep(5)
        await asyncio.sleep(0)
    assert seconds(clock) == 5.0


@pytest.mark.asyncio
async def test_a_hand_moved_clock_wakes_each_sleeper_at_its_time() -> None:
    """Not started, the clock moves only when the test advances it; sleepers wake on the way."""
    clock = VirtualClock(origin=T0)
    woke: list[float] = []

    async def nap(delay: float) -> None:
        await clock.sleep(delay)
        woke.append(seconds(clock))

    tasks = [asyncio.create_task(nap(d)) for d in (5, 50, 500)]
    await clock.advance(60)
    assert woke == [5.0, 50.0]
    assert seconds(clock) == 60.0
    await clock.advance(1000)
    assert woke == [5.0, 50.0, 500.0]
    await asyncio.gather(*tasks)


@pytest.mark.asyncio
async def test_a_saved_time_is_where_a_resumed_clock_begins() -> None:
    """``begin_at`` before start; once running, the clock refuses to be set."""
    clock = VirtualClock(origin=T0)
    clock.begin_at(T0 + timedelta(hours=2))
    assert seconds(clock) == 7200.0
    async with clock:
        with pytest.raises(RuntimeError, match="only moves forward"):
            clock.begin_at(T0)


def test_speed_must_be_positive() -> None:
    """A zero, negative or infinite speed is refused."""
    for speed in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive"):
            VirtualClock(speed=speed)


@pytest.mark.asyncio
async def test_time_waits_for_a_hold_released_from_another_task() -> None:
    """Two holders interleaved: time moves only once both are done."""
    async with VirtualClock(origin=T0) as clock:
        gate = threading.Event()

        async def hold(wait: float) -> float:
            with clock.busy():
                await asyncio.to_thread(gate.wait, wait)
                return seconds(clock)

        sleeper = asyncio.create_task(clock.sleep(1))
        first = asyncio.create_task(hold(0.2))
        second = asyncio.create_task(hold(0.2))
        await asyncio.sleep(0.05)
        assert not sleeper.done()
        gate.set()
        assert await first == 0.0
        assert await second == 0.0
        await sleeper
