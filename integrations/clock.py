"""Time, as the engine and the simulated observatory see it.

Production runs on the wall clock. Everything simulated (the demo, a rehearsal in Slack, the
tests) runs on a :class:`VirtualClock`: simulated time that moves only when nothing simulated
has work to do, and then jumps to the next wake-up, as a discrete-event simulation does. A
30-minute deadline passes in no time, every timestamp in the store reads like the real
procedure (a step "took 12 minutes"), and the outcome of a simulated run is a function of its
inputs, not of how busy the machine is: a loaded machine makes the run take longer in wall
time, never in simulated time.

Why not a library that replaces the event loop's clock (``looptime``, ``aiotools``'
``VirtualClock``, ``timeless_loop``): those make *every* timer of the loop virtual, so Slack's
Socket Mode pings, aiohttp's timeouts and the store's 30-second lease would run at simulated
speed too; and they advance time whenever the loop would sleep, even while a thread is
writing to SQLite, which is the very non-determinism this clock removes. Here only what is
simulated is on virtual time; Slack, HTTP timeouts and the lease stay on real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, Self


class Clock(Protocol):
    """Now, and sleeping, in the same time."""

    def now(self) -> datetime:
        """The current time (timezone-aware, UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class WallClock:
    """The real time."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(seconds)


FALLBACK_YIELDS = 64
"""Turns given to the other tasks before time moves, on an event loop whose queue of ready
callbacks cannot be read (CPython's can: ``_ready``)."""


class VirtualClock:
    """Simulated time that moves only when nothing simulated is ready to run.

    Time jumps to the earliest pending :meth:`sleep` once (1) no call the clock can see is in
    flight (:meth:`busy`: a store statement in its thread, say) and (2) the event loop has no
    callback ready to run. Sleepers due at the same instant wake in the order they slept.
    ``speed`` bounds it for people watching: simulated time never runs more than ``speed``
    times faster than the wall clock, jump by jump (a jump of a minute at ``speed`` 60 waits
    until a second has passed since the previous jump; a machine that was busy does not make
    the next jumps burst to catch up). ``None``: as fast as the CPU allows. Use it as an async
    context manager, or :meth:`start` and :meth:`aclose`.
    """

    def __init__(self, *, origin: datetime | None = None, speed: float | None = None) -> None:
        """Start at ``origin`` (default: now), e.g. where a resumed demo had got to."""
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError("speed must be a positive number, or None for no bound")
        self.speed = speed
        self._now = (origin or datetime.now(UTC)).astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._holds = 0
        self._changed = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._last_jump = time.monotonic()

    def now(self) -> datetime:
        """The simulated time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of simulated time have passed (at least one turn of the loop)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        due = self._now + timedelta(seconds=seconds)
        heapq.heappush(self._sleepers, (due, next(self._order), woken))
        self._poke()
        try:
            await woken
        finally:
            woken.cancel()  # a sleeper cancelled early is dropped when it comes due

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Hold time still while a call the loop cannot see runs (a store statement)."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self._poke()

    def begin_at(self, when: datetime) -> None:
        """Before :meth:`start`: begin at ``when`` (a resumed demo goes on from its saved time)."""
        if self._driver is not None:
            raise RuntimeError("the clock is running: it only moves forward by itself")
        if when.tzinfo is None:
            raise ValueError("the clock keeps aware datetimes only")
        self._now = when.astimezone(UTC)

    async def advance(self, seconds: float) -> None:
        """A test's hand on a clock that is not started: move ``seconds`` forward.

        Each sleeper due on the way wakes at its own time, and what it sets off settles before
        time moves on, exactly as when the clock moves by itself.
        """
        if self._driver is not None:
            raise RuntimeError("the clock moves by itself: advance it only when not started")
        target = self._now + timedelta(seconds=seconds)
        loop = asyncio.get_running_loop()
        await self._quiet(loop)
        while (due := self._next_due()) is not None and due <= target:
            self._now = max(self._now, due)
            self._wake_due()
            await self._quiet(loop)
        self._now = max(self._now, target)

    def start(self) -> None:
        """Start moving time (needs a running event loop)."""
        if self._driver is None:
            self._last_jump = time.monotonic()
            self._driver = asyncio.get_running_loop().create_task(
                self._drive(), name="virtual clock"
            )

    async def aclose(self) -> None:
        """Stop moving time; the sleepers still waiting stay asleep."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)

    async def __aenter__(self) -> Self:
        """Started."""
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stopped."""
        await self.aclose()

    # ------------------------------------------------------------------ the driver

    def _poke(self) -> None:
        self._changed.set()

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._quiet(loop)
            due = self._next_due()
            if due is None:
                await self._wait_change()
                continue
            early = self._wall_wait(due)
            if early > 0:  # the speed bound: wait, unless something earlier comes up
                await self._wait_change(limit=early)
                continue
            self._now = max(self._now, due)
            self._last_jump = time.monotonic()
            self._wake_due()

    def _wake_due(self) -> None:
        """Wake every sleeper due by now, in the order they are due (then slept)."""
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, woken = heapq.heappop(self._sleepers)
            if not woken.done():
                woken.set_result(None)

    async def _quiet(self, loop: asyncio.AbstractEventLoop) -> None:
        """Return once nothing the clock can see is in flight and no other callback is ready."""
        ready = getattr(loop, "_ready", None)
        yields = 0
        while True:
            if self._held():
                await self._wait_change()
                yields = 0
                continue
            await asyncio.sleep(0)  # the others' turn: what they make ready runs before us
            yields += 1
            if self._held():
                continue
            if (not ready) if ready is not None else yields >= FALLBACK_YIELDS:
                return

    def _held(self) -> bool:
        return self._holds > 0

    def _next_due(self) -> datetime | None:
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def _wall_wait(self, due: datetime) -> float:
        """Real seconds to wait before ``due`` may be reached under the speed bound."""
        if self.speed is None:
            return 0.0
        jump = (due - self._now).total_seconds() / self.speed
        return self._last_jump + jump - time.monotonic()

    async def _wait_change(self, *, limit: float | None = None) -> None:
        """Wait until a sleeper comes or a hold ends (at most ``limit`` real seconds)."""
        self._changed.clear()
        try:
            async with asyncio.timeout(limit):
                await self._changed.wait()
        except TimeoutError:
            return
