"""The scheduler: APScheduler's only job here is to wake :meth:`bot.engine.Engine.tick`.

Every deadline and timeout is data in the store, so the scheduler holds no state of its own:
a restart loses nothing and, since the machine ignores outcomes for attempts that ended,
nothing fires twice.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.engine.engine import Engine


class Ticker:
    """Wakes the engine's ``tick`` every ``interval`` seconds (of real time)."""

    def __init__(self, *, engine: Engine, interval: float = 1.0) -> None:
        """``interval``: 1 s in production; the demo, on a fast clock, ticks more often."""
        self._engine = engine
        self._busy = asyncio.Lock()
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=interval,
            id="engine-tick",
            max_instances=1,  # a slow tick (an EFD read at a deadline) is never run twice at once
            coalesce=True,
        )

    async def _tick(self) -> None:
        async with self._busy:
            await self._engine.tick()

    def start(self) -> None:
        """Start waking the engine (needs a running event loop)."""
        self._scheduler.start()

    async def aclose(self) -> None:
        """Stop waking the engine, and let a tick under way finish (the store stays usable)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        async with self._busy:
            pass
