"""The simulated observatory as a whole: armed hangs, saving and resuming, the camera team."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from integrations.efd import SummaryState
from integrations.errors import IntegrationError
from integrations.kube import Deletion
from integrations.sim import SimObservatory
from integrations.sim.world import SCHEMA, spread
from integrations.ssh import Unit
from tests.integrations.sim.conftest import (
    T0,
    Build,
    ManualClock,
    Progress,
    alive,
    reading,
    site_of,
)

HUNG = 0.05
"""Real seconds a hung call is given to show it does not return."""


class Saved:
    """A persist callback that keeps the last document as JSON text, as the demo's store does."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.saves = 0

    async def __call__(self, doc: dict[str, Any]) -> None:
        """Keep the document."""
        self.text = json.dumps(doc)
        self.saves += 1

    def doc(self) -> dict[str, Any]:
        """The last saved document, read back."""
        assert self.text is not None
        loaded: dict[str, Any] = json.loads(self.text)
        return loaded


def test_parts(summit: SimObservatory) -> None:
    """The six systems the engine gets, sharing one world."""
    assert summit.parts() == (
        summit.love, summit.efd, summit.hosts, summit.cluster, summit.github, summit.argocd
    )  # fmt: skip
    assert [part.system for part in summit.parts()] == [
        "LOVE", "EFD", "SSH", "Kubernetes", "GitHub", "ArgoCD"
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_armed_hang_until_cancel(summit: SimObservatory) -> None:
    """An armed system's next call hangs until its cancel(), which ends it with an error."""
    summit.arm_hang(summit.argocd)
    call = asyncio.create_task(summit.argocd.apps("telescope"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call), HUNG)
    assert not call.done()
    await summit.github.ping()  # the other systems answer meanwhile
    await summit.argocd.cancel()
    with pytest.raises(IntegrationError) as caught:
        await call
    assert caught.value.system == "ArgoCD"
    assert caught.value.message == "operation cancelled while hung"
    assert "auxtel" in await asyncio.wait_for(summit.argocd.apps("telescope"), HUNG)


@pytest.mark.asyncio
async def test_hang_of_love_ended_by_cancel(summit: SimObservatory) -> None:
    """A hung script call ends at cancel() without queueing anything; the next one queues."""
    summit.arm_hang(summit.love)
    call = asyncio.create_task(
        summit.love.run_script(
            queue=1, path="set_summary_state.py", standard=True,
            config="data: [[ATDome:0, DISABLED]]", description="test", report=Progress(),
        )
    )  # fmt: skip
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call), HUNG)
    await summit.love.cancel()
    with pytest.raises(IntegrationError, match="operation cancelled while hung"):
        await call
    assert summit.world.doc["scripts"] == {}
    await asyncio.wait_for(summit.love.ping(), HUNG)


@pytest.mark.asyncio
async def test_hang_ends_with_the_task(summit: SimObservatory) -> None:
    """A hung call also ends when its task is cancelled (a step's timeout); then all is normal."""
    summit.arm_hang(summit.efd)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(summit.efd.states(), HUNG)
    states = await asyncio.wait_for(summit.efd.states(), HUNG)
    assert states.fresh
    await summit.efd.cancel()
    assert summit.efd._held == set()


def test_arm_hang_of_a_stranger(summit: SimObservatory, build: Build) -> None:
    """Only this observatory's own systems can be armed."""
    with pytest.raises(ValueError, match="is not a system of this observatory"):
        summit.arm_hang(build("summit").love)
    with pytest.raises(ValueError, match="is not a system of this observatory"):
        summit.arm_hang(object())


@pytest.mark.asyncio
async def test_resume_from_saved_state(build: Build, clock: ManualClock) -> None:
    """A new observatory from the saved JSON carries on: what was scheduled still happens."""
    saved = Saved()
    first = build("summit", persist=saved)
    await first.inject("app-degraded:auxtel")
    assert saved.saves == 1
    plan = await first.cluster.plan_cleanup("all", daemonsets=False)
    await first.cluster.delete(plan, Progress())
    await first.argocd.sync("auxtel", prune=True)
    await first.hosts.systemctl(
        "stop", [Unit("auxtel-mcm.cp.lsst.org", "ats-ocs-bridge.service")], Progress()
    )
    assert saved.doc()["pending"]

    second = build("summit", state=saved.doc(), persist=saved)
    assert second.world.doc["faults"] == ["app-degraded:auxtel"]
    with pytest.raises(IntegrationError):
        await second.love.ping()
    clock.advance(3600)
    states = await second.efd.states()
    auxtel = {r for r, s in second.world.specs.items() if s.where == "auxtel"}
    assert {r for r in auxtel if states.cscs[r].alive} == auxtel - {"ATAOS:0"}
    assert states.cscs["ATDome:0"].summary_state is SummaryState.STANDBY
    assert not states.cscs["ATCamera:0"].alive
    assert (await second.argocd.status("auxtel")).health == "Degraded"
    assert second.stopped_units() == ["auxtel-mcm.cp.lsst.org:ats-ocs-bridge.service"]
    after = await second.cluster.plan_cleanup("all", daemonsets=False)
    assert {(d.kind, d.namespace) for d in after} == {("Job", "auxtel")}
    assert len(after) == 19
    assert second.world.doc["pending"] == []


@pytest.mark.asyncio
async def test_resume_mid_script(build: Build, clock: ManualClock) -> None:
    """A shutdown saved as it was queued plays out in the resumed observatory."""
    saved = Saved()
    first = build("summit", persist=saved)
    call = asyncio.create_task(
        first.love.run_script(
            queue=1, path="system_wide_shutdown.py", standard=True,
            config="{user: lead, reason: test, ignore: [MTM1M3TS, MTM1M3]}",
            description="test", report=Progress(),
        )
    )  # fmt: skip
    for _ in range(100):
        if saved.text is not None:
            break
        await asyncio.sleep(0)
    assert saved.text is not None
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    second = build("summit", state=saved.doc())
    clock.advance(3600)
    assert second.world.doc["scripts"]["100001"]["state"] == "DONE"
    assert await alive(second) == {
        "MTM1M3:0", "MTM1M3TS:0", "ScriptQueue:1", "ScriptQueue:2", "ScriptQueue:3",
        "ATCamera:0", "MTCamera:0", "CCCamera:0",
    }  # fmt: skip


@pytest.mark.asyncio
async def test_saved_state_is_json(summit: SimObservatory, build: Build) -> None:
    """The whole document survives JSON unchanged (the demo keeps it as text)."""
    saved = Saved()
    observatory = build("tts", persist=saved)
    await observatory.argocd.sync("obssys", prune=True)
    assert saved.doc() == observatory.world.doc
    assert saved.doc()["schema"] == SCHEMA
    assert summit.world.doc["schema"] == SCHEMA


@pytest.mark.parametrize("schema", [SCHEMA + 1, 0, None, "1"])
def test_other_schema_refused(build: Build, schema: object) -> None:
    """A document of another schema version is refused, not misread."""
    doc = json.loads(json.dumps(build("bts").world.doc))
    if schema is None:
        del doc["schema"]
    else:
        doc["schema"] = schema
    with pytest.raises(ValueError, match=f"schema {schema!r}, this version reads {SCHEMA}"):
        build("bts", state=doc)


def test_new_world_starts_at_the_clock(summit: SimObservatory) -> None:
    """A new site's heartbeats, PR timings and schedule start from the clock's now."""
    doc = summit.world.doc
    now = T0.timestamp()
    assert {c["last_beat"] for c in doc["cscs"].values()} == {now}
    assert doc["pr"]["checks_at"] == now + 900
    assert doc["pr"]["merged_at"] == now + 3000
    assert doc["pending"] == []


@pytest.mark.asyncio
async def test_camera_team_starts_bridges(summit: SimObservatory, clock: ManualClock) -> None:
    """After the bridges were stopped, the camera team's Stage 2: cameras OFFLINE, then STANDBY."""
    units = [Unit(h, u) for _, h, u in site_of("summit").camera_bridges]
    await summit.hosts.systemctl("stop", units, Progress())
    await summit.camera_team_starts_bridges(after=900)
    clock.advance(899)
    assert len(summit.stopped_units()) == 3
    clock.advance(1)
    assert summit.stopped_units() == []
    assert not (await reading(summit, "MTCamera:0")).alive
    clock.advance(60)
    assert (await reading(summit, "MTCamera:0")).summary_state is SummaryState.OFFLINE
    clock.advance(120)
    for camera in ("ATCamera:0", "MTCamera:0", "CCCamera:0"):
        csc = await reading(summit, camera)
        assert csc.alive
        assert csc.summary_state is SummaryState.STANDBY


@pytest.mark.asyncio
async def test_look_applies_due_effects_only(summit: SimObservatory, clock: ManualClock) -> None:
    """Nothing runs in the background: effects apply when their time has come and one looks."""
    await summit.cluster.delete([Deletion("Job", "mtdome", "simonyitel")], Progress())
    await summit.argocd.sync("simonyitel", prune=True)
    due = clock.now().timestamp() + spread("simonyitel/pull", 90, 240)
    pending = summit.world.doc["pending"]
    assert pending
    assert min(p[0] for p in pending) == pytest.approx(due)
    assert all(p[5] == "sync:simonyitel" for p in pending)
    clock.advance(3600)
    assert summit.world.doc["pending"] == []
    assert summit.world.beating("MTDome:0")
