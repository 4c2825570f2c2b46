"""Simulated hosts: systemctl on the camera bridges and bare-metal services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.efd import OfflineDetailedState, SummaryState
from integrations.errors import IntegrationError
from integrations.sim import SimObservatory
from integrations.sim.hosts import TIMEOUT_STOP
from integrations.sim.world import BRIDGE_UP
from integrations.ssh import Unit, UnitResult
from tests.integrations.sim.conftest import T0, ManualClock, Progress, alive, reading, site_of

BRIDGES = tuple(Unit(host, unit) for _, host, unit in site_of("summit").camera_bridges)
CAMERAS = {"ATCamera:0", "MTCamera:0", "CCCamera:0"}
AT_BRIDGE = Unit("auxtel-mcm.cp.lsst.org", "ats-ocs-bridge.service")


@pytest.mark.asyncio
async def test_stop_bridges_silences_the_cameras(
    summit: SimObservatory, clock: ManualClock, progress: Progress
) -> None:
    """Stopping the bridges leaves them inactive and their camera CSCs stop beating."""
    results = await summit.hosts.systemctl("stop", BRIDGES, progress)
    assert results == [UnitResult(unit, "inactive") for unit in BRIDGES]
    assert len(progress.lines) == 3
    assert progress.lines[-1].startswith("3/3 unit(s) stop: ")
    assert all(" inactive" in line for line in progress.lines)
    assert summit.stopped_units() == sorted(str(unit) for unit in BRIDGES)
    clock.advance(11)
    up = await alive(summit)
    assert not up & CAMERAS
    assert len(up) == 147
    assert (await reading(summit, "ATCamera:0")).summary_state is SummaryState.DISABLED


@pytest.mark.asyncio
async def test_start_bridge_brings_the_camera_back(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """A started bridge is active at once; its camera CSC soon beats, OFFLINE, PUBLISH_ONLY.

    It goes no further by itself: CCS must make it available first, then ``enterControl``.
    """
    await summit.hosts.systemctl("stop", [AT_BRIDGE], Progress())
    clock.advance(30)
    results = await summit.hosts.systemctl("start", [AT_BRIDGE], Progress())
    assert results == [UnitResult(AT_BRIDGE, "active")]
    assert summit.stopped_units() == []
    clock.advance(BRIDGE_UP - 1)
    assert not (await reading(summit, "ATCamera:0")).alive
    clock.advance(1)
    camera = await reading(summit, "ATCamera:0")
    assert camera.alive
    assert camera.summary_state is SummaryState.OFFLINE
    assert await summit.efd.offline_detailed(["ATCamera"]) == {
        "ATCamera": OfflineDetailedState.PUBLISH_ONLY
    }
    clock.advance(3600)
    assert (await reading(summit, "ATCamera:0")).summary_state is SummaryState.OFFLINE


@pytest.mark.asyncio
async def test_camera_start_up_in_its_stages(summit: SimObservatory, clock: ManualClock) -> None:
    """Bridge started, CCS setAvailable, enterControl through LOVE: STANDBY."""
    await summit.hosts.systemctl("stop", [AT_BRIDGE], Progress())
    clock.advance(30)
    await summit.hosts.systemctl("start", [AT_BRIDGE], Progress())
    clock.advance(BRIDGE_UP)
    with pytest.raises(IntegrationError, match="not available \\(CCS: setAvailable first\\)"):
        await summit.love.command(csc="ATCamera", index=0, command="enterControl")
    await summit.ccs_set_available(after=60)
    clock.advance(60)
    assert (await summit.efd.offline_detailed(["ATCamera", "MTCamera"]))["ATCamera"] is (
        OfflineDetailedState.AVAILABLE
    )
    ack = await summit.love.command(csc="ATCamera", index=0, command="enterControl")
    assert ack == "Done"
    camera = await reading(summit, "ATCamera:0")
    assert (camera.alive, camera.summary_state) == (True, SummaryState.STANDBY)
    with pytest.raises(IntegrationError, match="ATCamera:0 is in STANDBY"):
        await summit.love.command(csc="ATCamera", index=0, command="enterControl")


@pytest.mark.asyncio
async def test_systemctl_takes_seconds(summit: SimObservatory, clock: ManualClock) -> None:
    """Each stop takes between 3 and 15 seconds of clock."""
    await summit.hosts.systemctl("stop", [AT_BRIDGE], Progress())
    assert timedelta(seconds=3) <= clock.now() - T0 <= timedelta(seconds=15)


@pytest.mark.asyncio
async def test_unknown_unit(summit: SimObservatory) -> None:
    """A unit the host does not have is reported as systemd does: not loaded."""
    unit = Unit("auxtel-mcm.cp.lsst.org", "no-such.service")
    results = await summit.hosts.systemctl("stop", [unit, AT_BRIDGE], Progress())
    assert results == [
        UnitResult(unit, "inactive", "exit status 5: Unit no-such.service not loaded."),
        UnitResult(AT_BRIDGE, "inactive"),
    ]


@pytest.mark.asyncio
async def test_stuck_bridge(summit: SimObservatory, clock: ManualClock) -> None:
    """A stuck bridge times out and stays active; the others stop."""
    await summit.inject("bridge-stuck:ATCamera")
    results = await summit.hosts.systemctl("stop", BRIDGES, Progress())
    assert clock.now() - T0 >= timedelta(seconds=TIMEOUT_STOP)
    stuck = results[0]
    assert stuck.unit == AT_BRIDGE
    assert stuck.active == "active"
    assert stuck.error is not None
    assert "timeout was exceeded" in stuck.error
    assert "systemctl status ats-ocs-bridge.service" in stuck.error
    assert [(r.active, r.error) for r in results[1:]] == [("inactive", None)] * 2
    clock.advance(11)
    assert await alive(summit) & CAMERAS == {"ATCamera:0"}
    assert summit.stopped_units() == sorted(str(unit) for unit in BRIDGES[1:])


@pytest.mark.asyncio
async def test_bare_metal(summit: SimObservatory) -> None:
    """Bare-metal services stop and start like the bridges, with no CSC attached here."""
    unit = Unit("bare-metal.simulated", "ts-services.service")  # the simulated stand-in
    assert await summit.hosts.systemctl("stop", [unit], Progress()) == [
        UnitResult(unit, "inactive")
    ]
    assert summit.stopped_units() == [str(unit)]
    assert await summit.hosts.systemctl("start", [unit], Progress()) == [UnitResult(unit, "active")]
    assert len(await alive(summit)) == 150


@pytest.mark.asyncio
async def test_stopping_a_stopped_bridge_keeps_its_camera_silent(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """A retried stop does not make a silent camera CSC look alive."""
    await summit.hosts.systemctl("stop", [AT_BRIDGE], Progress())
    clock.advance(60)
    assert not (await reading(summit, "ATCamera:0")).alive
    await summit.hosts.systemctl("stop", [AT_BRIDGE], Progress())
    camera = await reading(summit, "ATCamera:0")
    assert not camera.alive
    assert camera.heartbeat_age is not None
    assert camera.heartbeat_age > 60


@pytest.mark.asyncio
async def test_starting_an_active_bridge_changes_nothing(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """``systemctl start`` of a running unit is a no-op: the camera keeps its state."""
    assert (await reading(summit, "MTCamera:0")).summary_state is SummaryState.DISABLED
    unit = Unit("lsstcam-mcm.cp.lsst.org", "ocs-bridge.service")
    assert await summit.hosts.systemctl("start", [unit], Progress()) == [UnitResult(unit, "active")]
    clock.advance(BRIDGE_UP + 60)
    assert (await reading(summit, "MTCamera:0")).summary_state is SummaryState.DISABLED
