"""The scheduler: APScheduler's only job here is to wake :meth:`bot.engine.Engine.tick`.

Every deadline and timeout is data in the store, so the scheduler holds no state of its own:
a restart loses nothing and, since the machine ignores outcomes for attempts that ended,
nothing fires twice.

Stopping lets a tick under way finish instead of cancelling it: APScheduler's
``AsyncIOExecutor.shutdown`` cancels the job tasks still pending, and its job runner logs a
cancelled job as a failure with its traceback (APScheduler 3.11,
``apscheduler/executors/asyncio.py`` and ``base.py: run_coroutine_job``). So :meth:`Ticker.aclose`
pauses the scheduler, lets the tick under way end (a tick submitted meanwhile returns at
once), and only then shuts it down, with nothing left to cancel.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.engine.engine import Engine

log = structlog.get_logger("upgrade_bot.ticker")


class Ticker:
    """Wakes the engine's ``tick`` every ``interval`` seconds (of real time)."""

    def __init__(self, *, engine: Engine, interval: float = 1.0) -> None:
        """``interval``: 1 s in production; the demo, on a fast clock, ticks more often."""
        self._engine = engine
        self._busy = asyncio.Lock()
        self._closing = False
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
        if self._closing:
            return
        async with self._busy:
            try:
                await self._engine.tick()
            except Exception:  # the next tick tries again; a lost lease stops the bot elsewhere
                log.exception("Tick failed")

    def start(self) -> None:
        """Start waking the engine (needs a running event loop)."""
        self._scheduler.start()

    async def aclose(self) -> None:
        """Stop waking the engine, and let a tick under way finish (the store stays usable)."""
        self._closing = True
        if not self._scheduler.running:
            return
        self._scheduler.pause()  # no new tick is submitted
        async with self._busy:  # the tick under way ends
            await asyncio.sleep(0)  # a tick submitted just before the pause runs, and returns
        self._scheduler.shutdown(wait=False)
