"""A clock for runners driven against real-time fakes over loopback.

The fakes of ArgoCD and GitHub move in real time (their operations end after real
milliseconds), so a runner polling them needs a clock whose sleeps are real but short: its
``poll: 10s`` sleeps a tenth of a second at ``factor`` 100. Nothing is measured with it; the
runner only waits until the fake says the operation ended. Everything simulated runs on
:class:`integrations.clock.VirtualClock` instead.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class ShortSleeps:
    """The wall clock's time; sleeps shortened ``factor`` times."""

    def __init__(self, factor: float) -> None:
        self._factor = factor

    def now(self) -> datetime:
        """The real time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """A real sleep, ``factor`` times shorter."""
        await asyncio.sleep(max(0.0, seconds) / self._factor)
