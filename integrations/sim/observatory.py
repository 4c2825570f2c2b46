"""One simulated site: its systems, behind the same interfaces as the real clients.

The engine gets ``observatory.love``, ``.efd``, ``.hosts``, ``.cluster``, ``.github`` and
``.argocd`` and cannot tell them from the real ones; the demo also plays the camera team
(``camera_team_starts_bridges``) and injects faults.
"""

from __future__ import annotations

from typing import Any, Literal

from integrations.clock import Clock
from integrations.efd import SummaryState
from integrations.sim.argocd import SimArgoCD
from integrations.sim.cluster import SimCluster
from integrations.sim.efd import SimEfd
from integrations.sim.faults import Fault, parse_fault
from integrations.sim.github import SimGitHub
from integrations.sim.hosts import SimHosts
from integrations.sim.love import SimLove
from integrations.sim.part import Core, Part, Persist
from integrations.sim.world import Release, SimSite, World, spread


class SimObservatory:
    """The simulated systems of one site, sharing one world."""

    def __init__(
        self,
        *,
        site: SimSite,
        release: Release,
        clock: Clock,
        state: dict[str, Any] | None = None,
        persist: Persist | None = None,
    ) -> None:
        """A new site just before its upgrade, or the saved ``state`` of one."""
        now = clock.now().timestamp()
        world = World.load(site, state) if state is not None else World.create(site, release, now)
        self._core = Core(world, clock, persist)
        self.love = SimLove(self._core)
        self.efd = SimEfd(self._core)
        self.hosts = SimHosts(self._core)
        self.cluster = SimCluster(self._core)
        self.github = SimGitHub(self._core)
        self.argocd = SimArgoCD(self._core)

    @property
    def world(self) -> World:
        """The site's state brought up to now (for tests and the demo's own checks)."""
        return self._core.look()

    def parts(self) -> tuple[Part, ...]:
        """Every simulated system."""
        return (self.love, self.efd, self.hosts, self.cluster, self.github, self.argocd)

    async def inject(self, fault: Fault | str) -> None:
        """Make something go wrong, from now on."""
        parsed = parse_fault(fault) if isinstance(fault, str) else fault
        self._core.look().inject(parsed, self._core.now())
        await self._core.save()

    async def set_release(self, release: Release) -> None:
        """A run of another cycle or branch starts (a rehearsal names its own): GitHub holds it."""
        self._core.look().release(release, self._core.now())
        await self._core.save()

    def arm_hang(self, system: object) -> None:
        """The next operation of ``system`` (one of :meth:`parts`) hangs until cancelled."""
        for part in self.parts():
            if part is system:
                part.arm_hang()
                return
        raise ValueError(f"{system!r} is not a system of this observatory")

    async def camera_team_starts_bridges(self, *, after: float) -> None:
        """The camera team's Stage 2, ``after`` seconds from now: the whole camera start-up.

        Each OCS bridge started, made available from CCS, its camera CSC sent ``enterControl``
        (STANDBY), a few minutes apart.
        """
        world = self._core.look()
        at = self._core.now() + after
        for camera, host, unit in world.site.camera_bridges:
            key = f"{host}:{unit}"
            world.schedule(at, "unit", key, "active", "camera-team")
            up = world.bridge_started(key, at, "camera-team")
            ref = f"{camera}:0"
            if ref in world.doc["cscs"]:
                world.set_available(ref, up + 90, "camera-team")
                world.schedule(up + 120, "state", ref, int(SummaryState.STANDBY), "camera-team")
        await self._core.save()

    async def ccs_set_available(self, *, after: float) -> None:
        """Someone on each mcm host runs the CCS commands, the first ``after`` seconds from now.

        ``ccs-shell``, ``set target <bridge>``, ``setAvailable --withLock``, ``exit``: each
        camera whose bridge runs becomes AVAILABLE (one host after the other).
        """
        world = self._core.look()
        at = self._core.now() + after
        for camera, _, _ in world.site.camera_bridges:
            ref = f"{camera}:0"
            if ref in world.doc["cscs"]:
                world.set_available(ref, at, "ccs")
                at += spread(ref + "/ccs", 60, 150)
        await self._core.save()

    def stopped_units(self) -> list[str]:
        """``host:unit`` of the units not active (for the demo's summary of the site)."""
        return sorted(k for k, v in self._core.look().doc["units"].items() if v != "active")


UnitVerb = Literal["stop", "start"]
