"""A site's simulated observatory wired as the engine's systems, kept in the store.

Shared by ``upgrade-bot demo`` (the terminal) and ``upgrade-bot run --simulate`` (a rehearsal
in a real Slack workspace): the observatory's whole state is a document in the store, saved
as it changes, so either resumes against the same observatory after a restart. The simulated
camera team answers the Stage 2 announcement by starting the cameras, as the real one does;
in a system restart, a simulated person on the mcm hosts runs the CCS commands when the step
that asks for them starts (:class:`CcsOperator`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.config.sites import ServiceUnit, SiteConfig
from bot.engine.changes import Change, Listener, RunChanged
from bot.engine.runners import SiteSystems
from integrations.announce import Announcer, Notice
from integrations.clock import Clock, VirtualClock
from integrations.sim import Release, SimObservatory, SimSite
from state.camera_actions import CcsSetAvailable
from state.events import RunStarted, StepStarted
from state.names import Site
from state.store import Store
from state.stored import Busy

CLOCK_KEY = "sim/clock"
"""Where a simulated clock's time is kept in the store, so a restart goes on from it."""

CAMERA_TEAM_DELAY = 900.0
"""Seconds the simulated camera team takes after "proceed to Stage 2" to start the bridges."""

CCS_WORK = 180.0
"""Seconds the simulated person takes to log in to the first mcm host and make its bridge
available (each next camera a minute or two later)."""


STAND_INS: dict[str, object] = {
    "keep_enabled": ("ESS:*", "GIS:0", "Watcher:0"),
    "bare_metal": (ServiceUnit(host="bare-metal.simulated", unit="ts-services.service"),),
    "config_repos": ("lsst-ts/ts_config_ocs", "lsst-ts/ts_config_mttcs", "lsst-ts/ts_config_attcs"),
    "config_branch": "{cycle}",
}
"""The simulated observatory's own values for what a site's configuration leaves unset.

They stand in for facts the reference pages do not give, so a rehearsal runs every step; a real
run never sees them (it does those steps by hand until the configuration sets them).
"""


def rehearsal_sites(
    sites: Mapping[Site, SiteConfig], *, audiences: bool = True
) -> dict[Site, SiteConfig]:
    """The sites as a rehearsal has them: the stand-ins where a field is unset.

    ``audiences=False``: without the audiences beyond the site channel (the camera team...),
    whom a rehearsal in the real workspace must not call unless configured to.
    """
    return {
        name: site.model_copy(
            update={key: value for key, value in STAND_INS.items() if getattr(site, key) is None}
            | ({} if audiences else {"audiences": {}})
        )
        for name, site in sites.items()
    }


def sim_site(site: SiteConfig) -> SimSite:
    """The simulated observatory's view of a site's configuration (with its stand-ins)."""
    site = rehearsal_sites({site.name: site})[site.name]
    return SimSite(
        name=site.name,
        fqdn=site.fqdn,
        cluster=site.cluster,
        scriptqueues=site.scriptqueues,
        ignore=site.ignore,
        auto_enabled=site.auto_enabled,
        camera_bridges=tuple((b.camera, b.host, b.unit) for b in site.camera_bridges),
        bare_metal=tuple((u.host, u.unit) for u in site.bare_metal or ()),
        config_repos=site.config_repos or (),
        config_branch=site.config_branch or "{cycle}",
        telescope_apps=site.argocd_projects.get("telescope", ()),
    )


class CameraTeam:
    """Passes announcements on; after the Stage 2 call, the camera team starts the bridges."""

    def __init__(self, announcer: Announcer, observatory: SimObservatory) -> None:
        """Announce through ``announcer``."""
        self._announcer = announcer
        self._observatory = observatory

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Announce, then play the camera team's part."""
        await self._announcer.announce(
            site=site, key=key, text=text, audiences=audiences, acknowledge=acknowledge
        )
        if key == "camera-stage-2":
            await self._observatory.camera_team_starts_bridges(after=CAMERA_TEAM_DELAY)

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Notices are passed on as they are."""
        await self._announcer.tell(site=site, notice=notice)

    async def direct(self, *, user: str, text: str) -> None:
        """Direct messages are passed on as they are."""
        await self._announcer.direct(user=user, text=text)


async def simulated_site(
    site: SiteConfig,
    *,
    clock: Clock,
    store: Store,
    release: Release,
    announcer: Announcer,
) -> tuple[SimObservatory, SiteSystems]:
    """The site's observatory (the saved one, or a new one) and its systems."""
    key = f"sim/{site.name}"
    saved = await store.get_blob(key)

    async def persist(state: dict[str, object]) -> None:
        await store.put_blob(key, json.dumps(state))

    observatory = SimObservatory(
        site=sim_site(site),
        release=release,
        clock=clock,
        state=json.loads(saved) if saved else None,
        persist=persist,
    )
    if saved is None:
        await persist(observatory.world.doc)
    systems = SiteSystems(
        love=observatory.love,
        efd=observatory.efd,
        hosts=observatory.hosts,
        cluster=observatory.cluster,
        github=observatory.github,
        argocd=observatory.argocd,
        announcer=CameraTeam(announcer, observatory),
    )
    return observatory, systems


class CcsOperator:
    """A person on the mcm hosts: at a ``ccs.set_available`` step, they run the CCS commands."""

    def __init__(self, observatories: Mapping[Site, SimObservatory]) -> None:
        """One observatory per site."""
        self._observatories = observatories

    async def __call__(self, change: Change) -> None:
        """The engine's listener: a step that asks for the CCS commands started."""
        if not isinstance(change, RunChanged):
            return
        for event in change.events:
            state = change.run.step(event.step_id) if isinstance(event, StepStarted) else None
            if state is not None and isinstance(state.step.action, CcsSetAvailable):
                await self._observatories[change.run.site].ccs_set_available(after=CCS_WORK)


REHEARSAL = Release(cycle="rehearsal", phalanx_branch="tickets/rehearsal")
"""What the simulated GitHub holds in a ``--simulate`` rehearsal until a run names its own."""


class Rehearsal:
    """In a rehearsal, the simulated GitHub holds the cycle and branch each run names.

    The simulated person on the mcm hosts plays their part too (:class:`CcsOperator`).
    """

    def __init__(self, observatories: Mapping[Site, SimObservatory]) -> None:
        """One observatory per site."""
        self._observatories = observatories
        self._ccs = CcsOperator(observatories)

    async def __call__(self, change: Change) -> None:
        """The engine's listener: a run started; a CCS step started."""
        await self._ccs(change)
        if isinstance(change, RunChanged) and any(isinstance(e, RunStarted) for e in change.events):
            run = change.run
            release = Release(
                cycle=run.cycle or REHEARSAL.cycle,
                phalanx_branch=run.phalanx_branch or REHEARSAL.phalanx_branch,
            )
            await self._observatories[run.site].set_release(release)


async def resume_clock(clock: VirtualClock, store: Store) -> None:
    """Begin where the store's simulated time had got to, never before its runs' last event.

    The time is kept on every change (:func:`keep_time`); a kill between a run's event and that
    write leaves it a moment behind, so the runs' own ``changed_at`` count too.
    """
    times = [run.changed_at or run.started_at for run in await store.recent(limit=10)]
    saved = await store.get_blob(CLOCK_KEY)
    if saved:
        times.append(datetime.fromisoformat(saved))
    if times:
        clock.begin_at(max(times))


def keep_time(clock: Clock, store: Store) -> Listener:
    """An engine listener that keeps the simulated time in the store at every change."""

    async def keep(_change: Change) -> None:
        await store.put_blob(CLOCK_KEY, clock.now().isoformat())

    return keep


class HeldAnnouncer:
    """In a rehearsal, simulated time holds still while an announcement is being posted.

    Posting to Slack is real I/O the virtual clock cannot see; an announce step's timeout is
    simulated time, so without the hold a slow post on a loaded machine would let minutes of
    simulated time pass and time the step out (the store holds time the same way).
    """

    def __init__(self, announcer: Announcer, busy: Busy) -> None:
        """Pass every call to ``announcer``, inside ``busy``."""
        self._announcer = announcer
        self._busy = busy

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Announce, time held."""
        with self._busy():
            await self._announcer.announce(
                site=site, key=key, text=text, audiences=audiences, acknowledge=acknowledge
            )

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Post the notice, time held."""
        with self._busy():
            await self._announcer.tell(site=site, notice=notice)

    async def direct(self, *, user: str, text: str) -> None:
        """Send the direct message, time held."""
        with self._busy():
            await self._announcer.direct(user=user, text=text)
