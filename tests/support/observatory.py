"""An engine wired to simulated observatories, for tests of the engine at work."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.sites import SiteConfig, default_sites
from bot.engine.changes import Change, RunChanged
from bot.engine.engine import Engine
from bot.engine.runners import SiteSystems
from bot.wiring.simulated import rehearsal_sites, sim_site
from integrations.announce import Notice
from integrations.clock import VirtualClock
from integrations.sim import Release, SimObservatory
from state.events import Event
from state.names import Site
from state.procedure import Procedure
from state.store import Store
from state.store_url import sqlite_url
from tests.support.waiting import until

RELEASE = Release(cycle="c0040", phalanx_branch="tickets/DM-48000")


@dataclass
class Announcements:
    """Records what would be posted."""

    posted: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, Notice]] = field(default_factory=list)
    directs: list[tuple[str, str]] = field(default_factory=list)

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Keep (site, key)."""
        del text, audiences, acknowledge
        self.posted.append((site, key))

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Keep (site, notice)."""
        self.notices.append((site, notice))

    async def direct(self, *, user: str, text: str) -> None:
        """Keep (user, text)."""
        self.directs.append((user, text))


@dataclass
class Harness:
    """The engine, its store, the observatories and everything the engine told its listeners."""

    engine: Engine
    store: Store
    observatories: dict[Site, SimObservatory]
    announcements: Announcements
    events: list[tuple[str, Event]] = field(default_factory=list)
    progress: list[tuple[str, str, str]] = field(default_factory=list)

    async def record(self, change: Change) -> None:
        """The listener: keep every event and progress line."""
        if isinstance(change, RunChanged):
            self.events += [(change.run.run_id, e) for e in change.events]
        else:
            self.progress.append((change.run.run_id, change.step_id, change.text))

    async def wait_for(self, predicate: Callable[[], object], limit: float = 20.0) -> None:
        """Wait (at most ``limit`` real seconds) until ``predicate()`` holds."""
        await until(predicate, limit)


async def harness(
    tmp_path: Path,
    procedure: Procedure,
    clock: VirtualClock,
    sites: Sequence[Site],
    configs: Mapping[Site, SiteConfig] | None = None,
) -> Harness:
    """An engine over a fresh SQLite store with one simulated observatory per site.

    Everything runs on ``clock``: a test starts it to let time move by itself, or moves it by
    hand (:meth:`VirtualClock.advance`). The engine sees ``configs`` (default: the sites with
    the simulated stand-ins where unset, as a rehearsal has them).
    """
    store = await Store.open(sqlite_url(str(tmp_path / "engine.db")), busy=clock.busy)
    configs = configs or rehearsal_sites(default_sites())
    announcements = Announcements()
    observatories = {
        site: SimObservatory(site=sim_site(configs[site]), release=RELEASE, clock=clock)
        for site in sites
    }
    systems = {
        site: SiteSystems(
            love=o.love,
            efd=o.efd,
            hosts=o.hosts,
            cluster=o.cluster,
            github=o.github,
            argocd=o.argocd,
            announcer=announcements,
        )
        for site, o in observatories.items()
    }
    engine = Engine(store=store, procedure=procedure, sites=configs, systems=systems, clock=clock)
    h = Harness(engine, store, observatories, announcements)
    engine.subscribe(h.record)
    await engine.start()
    return h
