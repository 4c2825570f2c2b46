"""Time, as the engine and the simulated observatory see it.

Production runs on the wall clock. The demo runs the same code on a *scaled* clock: a 30-minute
deadline passes in seconds, yet every timestamp recorded in the store reads like the real
procedure (a step "took 12 minutes"), so the summary and the report are realistic.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


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


class ScaledClock:
    """Time running ``speed`` times faster than the wall clock, from ``origin``."""

    def __init__(self, *, speed: float, origin: datetime | None = None) -> None:
        """Start at ``origin`` (default: now), e.g. where a resumed demo had got to."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = origin or datetime.now(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        """The scaled time."""
        return self._origin + timedelta(seconds=(time.monotonic() - self._started) * self.speed)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds / speed`` of real time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)
