"""The systems of every site a bot drives, and the check that pings them.

Simulated (a rehearsal), or the real clients of the sites configured for real runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog

from bot.config.sites import SiteConfig
from bot.engine.runners import SiteSystems
from bot.engine.runners.preflight import ping_all
from bot.wiring.real import NotConfigured, real_site
from bot.wiring.simulated import REHEARSAL, simulated_site
from integrations.announce import Announcer
from integrations.clock import Clock
from integrations.sim import SimObservatory
from state.names import Site
from state.store import Store

log = structlog.get_logger("upgrade_bot.wiring")


@dataclass
class Wired:
    """Each site's systems, the simulated observatories (a rehearsal), and what closes them."""

    systems: dict[Site, SiteSystems] = field(default_factory=dict)
    observatories: dict[Site, SimObservatory] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close every real client."""
        for close in self.closers:
            await close()

    def check(self, site: Site) -> Awaitable[Mapping[str, str | None]]:
        """``/upgrade check``: ping the site's systems (or say it has none here)."""
        return check_site(self.systems, site)


async def check_site(systems: Mapping[Site, SiteSystems], site: Site) -> Mapping[str, str | None]:
    """Ping every system of ``site``: by name, ``None`` if it answered, else why not."""
    if site not in systems:
        return {"configuration": f"{site} is not configured for real runs on this bot"}
    return await ping_all(systems[site])


async def wire(
    sites: Mapping[Site, SiteConfig],
    *,
    simulate: bool,
    store: Store,
    clock: Clock,
    announcer: Announcer,
) -> Wired:
    """Each site's systems: simulated, or the real clients of the sites configured for them."""
    wired = Wired()
    for name, site in sites.items():
        if simulate:
            wired.observatories[name], wired.systems[name] = await simulated_site(
                site, clock=clock, store=store, release=REHEARSAL, announcer=announcer
            )
            continue
        try:
            real = real_site(site, announcer)
        except NotConfigured as e:  # that site's runs are refused; the others go on
            log.warning("Site not configured for real runs", problem=str(e))
            continue
        wired.systems[name] = real.systems
        wired.closers.append(real.close)
    return wired
