"""Simulated hosts: ``systemctl stop|start`` of the camera bridges and bare-metal services.

Stopping a bridge silences its camera CSC; starting it brings the camera CSC up OFFLINE, in
its PUBLISH_ONLY substate: someone must still make it available from CCS and send it
``enterControl`` (the camera team in a cycle upgrade, the deployment team in a system
restart). A stuck bridge does what systemd does when a stop times out: the job fails after
``TimeoutStopSec`` and the unit stays active.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from integrations.base import Report
from integrations.sim.part import Part
from integrations.sim.world import World, spread
from integrations.ssh import Unit, UnitResult

TIMEOUT_STOP = 90.0
"""systemd's default ``TimeoutStopSec``."""


class SimHosts(Part):
    """The site's hosts, reached over (simulated) SSH."""

    system = "SSH"

    async def systemctl(
        self, verb: Literal["stop", "start"], units: Sequence[Unit], report: Report
    ) -> list[UnitResult]:
        """Each unit on its own host in parallel; each one's state after."""
        world = await self._enter()
        done: list[UnitResult] = []

        async def one(unit: Unit) -> UnitResult:
            result = await self._one(world, verb, unit)
            done.append(result)
            await report(f"{len(done)}/{len(units)} unit(s) {verb}: {unit} {result.active}")
            return result

        results = await asyncio.gather(*(one(u) for u in units))
        await self._core.save()
        return list(results)

    async def _one(self, world: World, verb: Literal["stop", "start"], unit: Unit) -> UnitResult:
        key = f"{unit.host}:{unit.unit}"
        if key not in world.doc["units"]:
            await self._core.clock.sleep(1)
            return UnitResult(unit, "inactive", f"exit status 5: Unit {unit.unit} not loaded.")
        camera = world.site.camera_of(key)
        if verb == "stop" and camera in world.faults("bridge-stuck"):
            await self._core.clock.sleep(TIMEOUT_STOP)
            return UnitResult(
                unit,
                "active",
                f"exit status 1: Job for {unit.unit} failed because a timeout was exceeded. "
                f'See "systemctl status {unit.unit}" and "journalctl -xeu {unit.unit}" '
                "for details.",
            )
        await self._core.clock.sleep(spread(key + verb, 3, 15))
        self.set_unit(world, key, verb)
        return UnitResult(unit, world.doc["units"][key])

    def set_unit(self, world: World, key: str, verb: Literal["stop", "start"]) -> None:
        """The unit stops or starts now; its camera CSC follows."""
        now = self._core.now()
        before = world.doc["units"][key]
        world.doc["units"][key] = "inactive" if verb == "stop" else "active"
        if before == world.doc["units"][key]:  # systemd does nothing to a unit already there
            return
        camera = world.site.camera_of(key)
        ref = f"{camera}:0"
        if camera is None or ref not in world.doc["cscs"]:
            return
        if verb == "stop":
            world.schedule(now, "exit", ref)
            world.schedule(now, "detail", ref, None)
        else:
            world.bridge_started(key, now, f"unit:{key}")
