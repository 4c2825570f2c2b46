"""The engine's ticks on simulated time: when something is due, not every real second.

In the demo and in rehearsals the engine runs on a :class:`integrations.clock.VirtualClock`.
The pacer wakes :meth:`bot.engine.engine.Engine.tick` right after a run changed (a run just
ended posts its summary), at the next moment something is due (:meth:`Engine.next_due`: a
deadline, a timeout, a reminder, the downtime watch's next read), and at least every
:data:`GAP` of simulated time as a safety net. Its sleeps are the clock's, so simulated time
jumps straight to the next due moment.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.engine.changes import Change, RunChanged

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from integrations.clock import Clock

GAP = 60.0
"""Simulated seconds between two ticks at most (nothing is ever later than this)."""
STEP = 1.0
"""Simulated seconds between two ticks at least, unless a run changed (as the real ticker)."""


class Pacer:
    """Ticks the engine on its simulated clock. :meth:`start`, then :meth:`aclose`."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        """Follow ``engine``'s changes; sleep on ``clock``."""
        self._engine = engine
        self._clock = clock
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        engine.subscribe(self._on_change)

    async def _on_change(self, change: Change) -> None:
        if isinstance(change, RunChanged):
            self._changed.set()

    def start(self) -> None:
        """Start ticking (needs a running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="pacer")

    async def aclose(self) -> None:
        """Stop ticking; a tick under way is let finish (it records what it did)."""
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            await task

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.clear()
            await self._engine.tick()
            if self._changed.is_set():  # the tick changed a run: look again at once
                continue
            due = await self._engine.next_due()
            wait = GAP if due is None else (due - self._clock.now()).total_seconds()
            await self._sleep(min(max(wait, STEP), GAP))

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock, or less if a run changes meanwhile."""
        waits = [
            asyncio.ensure_future(self._clock.sleep(seconds)),
            asyncio.ensure_future(self._changed.wait()),
            asyncio.ensure_future(self._stop.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
