"""Simulated EFD: every CSC's last summary state and heartbeat age, as the real queries give them.

A CSC that exited stops beating and keeps its last published state (often STANDBY); once the
EFD stops receiving data (``efd-stale``) every age keeps growing and the reading is not fresh.
The scripts loaded in the queues beat too (``lsst.sal.Script``): heard, set apart, never CSCs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from integrations.efd import CscState, OfflineDetailedState, SiteStates, SummaryState
from integrations.sim.part import Part
from integrations.sim.world import spread

BEAT = 1.0
"""A running CSC beats every second: its last heartbeat is at most this old."""
SCRIPT_BEAT = 5.0
"""A SAL script beats every 5 s while it is loaded (ts_salobj ``base_script.py``)."""


class SimEfd(Part):
    """The EFD of the simulated site."""

    system = "EFD"

    async def states(self) -> SiteStates:
        """One reading of every CSC instance."""
        world = await self._enter()
        now = self._core.now()
        stale_since = world.doc["stale_since"]
        heard_until = now if stale_since is None else min(now, stale_since)
        components: list[CscState] = []
        for index in world.scripts_beating():  # a SAL script beats every 5 s while loaded
            last = heard_until - spread(f"Script:{index}{int(now)}", 0, SCRIPT_BEAT)
            components.append(CscState("Script", int(index), None, max(0.0, now - last)))
        for ref, csc in world.doc["cscs"].items():
            name, _, index = ref.partition(":")
            if csc["beat"]:
                last = heard_until - spread(ref + str(int(now)), 0, BEAT)
            else:
                last = min(csc["last_beat"], heard_until)
            received = csc["state"] if stale_since is None else world.doc["stale_states"][ref]
            state = SummaryState(received) if received is not None else None
            components.append(CscState(name, int(index), state, max(0.0, now - last)))
        return SiteStates.read(
            at=datetime.fromtimestamp(now, UTC), fresh=stale_since is None, components=components
        )

    async def offline_detailed(self, cscs: Sequence[str]) -> dict[str, OfflineDetailedState]:
        """The camera CSCs' last ``offlineDetailedState`` (absent: never published)."""
        world = await self._enter()
        found = {name: world.doc["cscs"].get(f"{name}:0", {}).get("offline") for name in cscs}
        return {name: OfflineDetailedState(value) for name, value in found.items() if value}
