"""A clock the tests move by hand, and the three sites' simulated observatories on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config.sites import default_sites
from bot.wiring.simulated import sim_site
from integrations.efd import CscState
from integrations.sim import Release, SimObservatory, SimSite
from integrations.sim.catalog import SiteName
from integrations.sim.part import Persist

T0 = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
"""When every test's observatory is created (a night in March, in UTC)."""

RELEASE = Release(cycle="c0040", phalanx_branch="tickets/DM-48000")
"""The upgrade every test deploys."""


class ManualClock:
    """Virtual time: it moves only when a test advances it or an operation sleeps on it."""

    def __init__(self, start: datetime = T0) -> None:
        self._now = start

    def now(self) -> datetime:
        """The current virtual time (aware, UTC)."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (an aware datetime)."""
        if when.tzinfo is None:
            raise ValueError("the clock keeps aware datetimes only")
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward."""
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass at once, then give the other tasks one turn."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class Progress:
    """A progress callback that keeps every line it is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, text: str) -> None:
        """Keep the line."""
        self.lines.append(text)


Build = Callable[..., SimObservatory]
"""``build(site, state=None, persist=None)``: a simulated observatory on the test's clock."""


def site_of(name: SiteName) -> SimSite:
    """The simulated observatory's view of a site as bot/config/data/sites.yaml configures it."""
    return sim_site(default_sites()[name])


@pytest.fixture
def clock() -> ManualClock:
    """A fresh virtual clock at :data:`T0`."""
    return ManualClock()


@pytest.fixture
def build(clock: ManualClock) -> Build:
    """Make observatories on the test's clock (new, or from a saved document)."""

    def make(
        name: SiteName, *, state: dict[str, Any] | None = None, persist: Persist | None = None
    ) -> SimObservatory:
        return SimObservatory(
            site=site_of(name), release=RELEASE, clock=clock, state=state, persist=persist
        )

    return make


@pytest.fixture
def summit(build: Build) -> SimObservatory:
    """The summit just before its upgrade."""
    return build("summit")


@pytest.fixture
def tts(build: Build) -> SimObservatory:
    """The Tucson test stand just before its upgrade."""
    return build("tts")


@pytest.fixture
def bts(build: Build) -> SimObservatory:
    """The base test stand just before its upgrade."""
    return build("bts")


@pytest.fixture(params=["summit", "tts", "bts"])
def any_site(request: pytest.FixtureRequest, build: Build) -> SimObservatory:
    """Each site in turn."""
    name: SiteName = request.param
    return build(name)


@pytest.fixture
def progress() -> Progress:
    """A list-appending progress callback."""
    return Progress()


async def alive(observatory: SimObservatory) -> set[str]:
    """The CSC instances the EFD hears now."""
    return {ref for ref, csc in (await observatory.efd.states()).cscs.items() if csc.alive}


async def reading(observatory: SimObservatory, ref: str) -> CscState:
    """What the EFD says of one CSC instance now."""
    return (await observatory.efd.states()).cscs[ref]
