"""A rehearsal's wiring: simulated time holds still while Slack is being posted to."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.wiring.simulated import HeldAnnouncer
from integrations.announce import Notice
from integrations.clock import VirtualClock

T0 = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


class SlowSlack:
    """An announcer whose posts take real time (a loaded machine, a slow network)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.seen: list[float] = []

    async def _post(self) -> None:
        before = self.clock.now()
        await asyncio.sleep(0.2)
        self.seen.append((self.clock.now() - before).total_seconds())

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """A post that takes real time."""
        del site, key, text, audiences, acknowledge
        await self._post()

    async def tell(self, *, site: str, notice: Notice) -> None:
        """A post that takes real time."""
        del site, notice
        await self._post()

    async def direct(self, *, user: str, text: str) -> None:
        """A post that takes real time."""
        del user, text
        await self._post()


@pytest.mark.asyncio
async def test_no_simulated_time_passes_while_an_announcement_is_posted() -> None:
    """A sleeper due in a second waits: the post takes real time but no simulated time."""
    async with VirtualClock(origin=T0) as clock:
        slack = SlowSlack(clock)
        held = HeldAnnouncer(slack, clock.busy)
        sleeper = asyncio.create_task(clock.sleep(1))
        await held.announce(site="summit", key="k", text="t", audiences=(), acknowledge=False)
        await held.tell(site="summit", notice=Notice("run", "k", "t", in_thread=True))
        await held.direct(user="U0", text="t")
        assert slack.seen == [0.0, 0.0, 0.0]
        assert not sleeper.done()
        await sleeper


@pytest.mark.asyncio
async def test_without_the_hold_simulated_time_runs_on_during_a_post() -> None:
    """The same post unheld: the sleeper's second passes meanwhile (why the hold is needed)."""
    async with VirtualClock(origin=T0) as clock:
        slack = SlowSlack(clock)
        sleeper = asyncio.create_task(clock.sleep(1))
        await slack.announce(site="summit", key="k", text="t", audiences=(), acknowledge=False)
        assert slack.seen == [1.0]
        assert sleeper.done()
