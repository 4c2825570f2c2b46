"""The camera start-up of a system restart, through its stages.

Against the simulated observatory (the bridges, CCS availability and the camera CSCs' states
it models), and through the real LOVE client against the LOVE fake (``enterControl`` on LOVE's
``cmd/`` endpoint) with the real EFD client reading a real influxd.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from bot.config.sites import default_sites
from bot.engine.engine import Engine
from bot.engine.runners import SiteSystems
from bot.wiring.simulated import CcsOperator, sim_site
from integrations.clock import VirtualClock
from integrations.efd import EfdClient, OfflineDetailedState, SummaryState
from integrations.love import LoveClient
from integrations.sim import SimObservatory
from state.commands import Approve
from state.procedure import parse_procedure
from state.run import Run, StepState, StepStatus
from state.store import Store
from state.store_url import sqlite_url
from tests.support.fakes.love import FakeLove
from tests.support.influxdb import (
    Influxd,
    heartbeat_line,
    module_influxd,
    offline_detailed_line,
    summary_state_line,
)
from tests.support.observatory import RELEASE, Announcements, Harness, harness
from tests.support.procedures import WAIVED
from tests.support.waiting import until

CAMERAS = (
    """
name: cameras
steps:
  - id: camera-startup
    title: Start the camera bridges
    phase: deployment
    kinds: [system-restart]
    needs_approval: true
    action: {type: ssh.systemctl, hosts: camera-bridges, verb: start, timeout: 5m}
  - id: camera-ccs-available
    title: Make the bridges available in CCS
    phase: deployment
    kinds: [system-restart]
    action: {type: ccs.set_available, expected: 15m}
  - id: camera-enter-control
    title: Send the camera CSCs enterControl
    phase: deployment
    kinds: [system-restart]
    needs_approval: true
    action: {type: love.enter_control, timeout: 10m}
"""
    + WAIVED
)
LEAD = "U_LEAD"


async def step(h: Harness | Tts, run: Run, step_id: str) -> StepState:
    state = (await h.store.get(run.run_id)).step(step_id)
    assert state is not None
    return state


async def reaches(h: Harness | Tts, run: Run, step_id: str, status: StepStatus) -> StepState:
    """Wait until the step is in ``status``; it then."""

    async def there() -> bool:
        return (await step(h, run, step_id)).status is status

    await until(there, 20)
    return await step(h, run, step_id)


async def approve(h: Harness | Tts, run: Run, step_id: str) -> None:
    state = await reaches(h, run, step_id, StepStatus.AWAITING_APPROVAL)
    await h.engine.execute(run.run_id, Approve(h.engine.actor(LEAD), step_id, state.revision))


@pytest_asyncio.fixture
async def bts(tmp_path: Path) -> AsyncIterator[Harness]:
    """The base test stand after its shutdown (bridges stopped), on a clock moving by itself."""
    clock = VirtualClock()
    clock.start()
    h = await harness(tmp_path, parse_procedure(CAMERAS, "cameras"), clock, ("bts",))
    observatory = h.observatories["bts"]

    async def report(_line: str) -> None:
        pass

    site = default_sites()["bts"]
    await observatory.hosts.systemctl("stop", site.bridge_units(), report)
    yield h
    await h.engine.aclose()
    await clock.aclose()
    await h.store.aclose()


@pytest.mark.asyncio
async def test_the_stages_against_the_simulator(bts: Harness) -> None:
    """Bridges started; the CCS commands shown, confirmed from the EFD; enterControl; STANDBY."""
    h = bts
    h.engine.subscribe(CcsOperator(h.observatories))  # the person on the mcm hosts
    run = await h.engine.open_run(LEAD, "bts", "system-restart")
    await approve(h, run, "camera-startup")

    ccs = await reaches(h, run, "camera-ccs-available", StepStatus.SUCCEEDED)
    shown = "\n".join(t for _, s, t in h.progress if s == "camera-ccs-available")
    assert "0/2 camera(s) available in CCS; waiting for ATCamera, MTCamera:" in shown
    assert (
        "ATCamera on auxtel-mcm.ls.lsst.org, its CSC now OFFLINE, PUBLISH_ONLY, beating:\n"
        "  ccs-shell\n  ccs> set target ats-ocs-bridge\n  ccs> setAvailable --withLock\n"
        "  ccs> exit"
    ) in shown
    assert "ccs> set target lsstcam-ocs-bridge" in shown
    assert ccs.outcome == (
        "2 camera(s) available: ATCamera:0 OFFLINE, AVAILABLE, beating, "
        "MTCamera:0 OFFLINE, AVAILABLE, beating"
    )

    await reaches(h, run, "camera-enter-control", StepStatus.AWAITING_APPROVAL)
    await until(lambda: any(s == "camera-enter-control" for _, s, _ in h.progress))
    preview = next(t for _, s, t in h.progress if s == "camera-enter-control")
    assert preview.endswith(
        "ATCamera:0: now OFFLINE, AVAILABLE, beating\n  MTCamera:0: now OFFLINE, AVAILABLE, beating"
    )
    await approve(h, run, "camera-enter-control")
    done = await reaches(h, run, "camera-enter-control", StepStatus.SUCCEEDED)
    assert done.outcome == (
        "2 camera CSC(s) in STANDBY or beyond; enterControl sent to ATCamera:0, MTCamera:0"
    )
    world = h.observatories["bts"].world
    assert [world.state(c) for c in ("ATCamera:0", "MTCamera:0")] == [SummaryState.STANDBY] * 2


@pytest.mark.asyncio
async def test_nobody_at_the_mcm_hosts_makes_the_ccs_stage_overdue(bts: Harness) -> None:
    """No one runs the CCS commands: past 15 minutes the lead is told where each camera is."""
    h = bts
    run = await h.engine.open_run(LEAD, "bts", "system-restart")
    await approve(h, run, "camera-startup")
    await reaches(h, run, "camera-ccs-available", StepStatus.RUNNING)
    clock = h.engine._clock
    assert isinstance(clock, VirtualClock)
    state = await step(h, run, "camera-ccs-available")
    due = state.overdue_at
    assert due is not None
    await until(lambda: clock.now() > due)
    await h.engine.tick()
    await reaches(h, run, "camera-ccs-available", StepStatus.OVERDUE)
    [(_, notice)] = [n for n in h.announcements.notices if n[1].key.startswith("overdue:")]
    assert "Now in the EFD:\nATCamera:0: OFFLINE, PUBLISH_ONLY, beating\n" in notice.text
    assert "*Cancel* (stops watching for the cameras (nothing on the mcm hosts changes))" in (
        notice.text
    )


# ------------------------------------------------------------ LOVE fake, real EFD


influxd = pytest_asyncio.fixture(scope="module", loop_scope="module")(module_influxd)
"""One real ``influxd`` for the module."""


class Cameras:
    """The Tucson test stand's two camera CSCs as their bridges make them, written to the EFD.

    Each beats (every 0.2 s) in its summary state; ``enterControl`` through LOVE takes one that
    is OFFLINE and AVAILABLE to STANDBY; any other is refused, as the bridge refuses it.
    """

    def __init__(self, influxd: Influxd, db: str) -> None:
        self._influxd = influxd
        self._db = db
        self.states = {"ATCamera": SummaryState.OFFLINE, "CCCamera": SummaryState.OFFLINE}
        self.details = {
            "ATCamera": OfflineDetailedState.AVAILABLE,
            "CCCamera": OfflineDetailedState.PUBLISH_ONLY,
        }
        self._stamp = int(time.time() * 1000)
        self.refuse: set[str] = set()
        """Cameras whose bridge refuses every command (a CCS lock held elsewhere)."""

    def _at(self) -> int:
        self._stamp = max(int(time.time() * 1000), self._stamp + 1)
        return self._stamp

    async def publish(self) -> None:
        """Each camera's summary state and offline substate, as of now."""
        lines = [summary_state_line(c, None, int(s), self._at()) for c, s in self.states.items()]
        lines += [offline_detailed_line(c, int(d), self._at()) for c, d in self.details.items()]
        await self._influxd.write(self._db, lines)

    async def beat(self) -> None:
        """Beat, until cancelled (the bridges run)."""
        while True:
            await self._influxd.write(
                self._db, [heartbeat_line(c, None, self._at()) for c in self.states]
            )
            await asyncio.sleep(0.2)

    async def set_available(self, camera: str) -> None:
        """CCS ``setAvailable`` on the camera's mcm host."""
        self.details[camera] = OfflineDetailedState.AVAILABLE
        await self.publish()

    async def command(self, data: dict[str, Any]) -> None:
        """The camera's answer to a command sent through LOVE (raises: refused)."""
        camera = data["csc"]
        if camera in self.refuse:
            raise RuntimeError("the bridge refused the command")
        if data["cmd"] != "cmd_enterControl":
            return
        if self.states[camera] is not SummaryState.OFFLINE:
            raise RuntimeError(f"enterControl not allowed in {self.states[camera].name}")
        if self.details[camera] is not OfflineDetailedState.AVAILABLE:
            raise RuntimeError("not available: setAvailable first")
        self.states[camera] = SummaryState.STANDBY
        await self.publish()


LOVE_STAGE = (
    """
name: cameras through LOVE
steps:
  - id: camera-startup
    title: Start the camera bridges
    phase: deployment
    needs_approval: true
    action: {type: ssh.systemctl, hosts: camera-bridges, verb: start, timeout: 5m}
  - id: camera-enter-control
    title: Send the camera CSCs enterControl
    phase: deployment
    needs_approval: true
    action: {type: love.enter_control, poll: 1s, timeout: 10m}
"""
    + WAIVED
)


@dataclass
class Tts:
    """The test stand's engine: LOVE and the EFD real clients, the rest simulated."""

    engine: Engine
    store: Store
    love: FakeLove
    cameras: Cameras


@pytest_asyncio.fixture(loop_scope="module")
async def tts(tmp_path: Path, influxd: Influxd) -> AsyncIterator[Tts]:
    """The LOVE fake coupled to the cameras in a real influxd, behind the real clients."""
    db = f"cameras_{tmp_path.name}"
    await influxd.create_database(db)
    cameras = Cameras(influxd, db)
    await cameras.publish()
    love = FakeLove()
    love.on_command = cameras.command
    await love.start()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(influxd.drop_database, db)
        stack.push_async_callback(love.stop)
        clock = VirtualClock()
        await stack.enter_async_context(clock)
        store = await Store.open(sqlite_url(str(tmp_path / "love.db")), busy=clock.busy)
        stack.push_async_callback(store.aclose)
        site = default_sites()["tts"]
        observatory = SimObservatory(site=sim_site(site), release=RELEASE, clock=clock)
        love_client = LoveClient(
            url=love.url, username=love.username, password=SecretStr(love.password), timeout=2.0
        )
        stack.push_async_callback(love_client.aclose)
        efd = EfdClient(url=influxd.url, database=db)
        stack.push_async_callback(efd.aclose)
        systems = SiteSystems(
            love=love_client, efd=efd, hosts=observatory.hosts, cluster=observatory.cluster,
            github=observatory.github, argocd=observatory.argocd, announcer=Announcements(),
        )  # fmt: skip
        engine = Engine(
            store=store,
            procedure=parse_procedure(LOVE_STAGE, "cameras through LOVE"),
            sites=default_sites(),
            systems={"tts": systems},
            clock=clock,
        )
        stack.push_async_callback(engine.aclose)
        beating = asyncio.create_task(cameras.beat())
        stack.callback(beating.cancel)
        await engine.start()
        yield Tts(engine, store, love, cameras)


def sent(love: FakeLove) -> list[tuple[str, int, str, dict[str, Any]]]:
    """The commands LOVE's ``cmd/`` endpoint received for the cameras."""
    return [(c["csc"], c["salindex"], c["cmd"], c["params"]) for c in love.commands]


@pytest.mark.asyncio(loop_scope="module")
async def test_enter_control_through_loves_cmd_endpoint(tts: Tts) -> None:
    """Sent once to each camera once it is available (never before); then both in STANDBY."""
    run = await tts.engine.open_run(LEAD, "tts", "system-restart")
    await approve(tts, run, "camera-startup")
    await approve(tts, run, "camera-enter-control")
    await until(lambda: sent(tts.love) == [("ATCamera", 0, "cmd_enterControl", {})])

    async def waits_for_mtcamera() -> bool:
        lines = [t for s, t in await progress(tts, run) if s == "camera-enter-control"]
        return bool(lines) and "CCCamera:0 OFFLINE, PUBLISH_ONLY, beating" in lines[-1]

    await until(waits_for_mtcamera)
    assert len(sent(tts.love)) == 1  # CCCamera is not available: nothing is sent to it
    await tts.cameras.set_available("CCCamera")  # someone ran setAvailable on its mcm host

    done = await reaches(tts, run, "camera-enter-control", StepStatus.SUCCEEDED)
    assert done.outcome == (
        "2 camera CSC(s) in STANDBY or beyond; enterControl sent to ATCamera:0, CCCamera:0"
    )
    assert sent(tts.love) == [
        ("ATCamera", 0, "cmd_enterControl", {}),
        ("CCCamera", 0, "cmd_enterControl", {}),
    ]
    assert set(tts.cameras.states.values()) == {SummaryState.STANDBY}


@pytest.mark.asyncio(loop_scope="module")
async def test_a_refused_enter_control_fails_the_step_with_loves_answer(tts: Tts) -> None:
    """The bridge refuses: LOVE answers 500, the step fails saying so, for the lead to decide."""
    tts.cameras.refuse.add("ATCamera")
    run = await tts.engine.open_run(LEAD, "tts", "system-restart")
    await approve(tts, run, "camera-startup")
    await approve(tts, run, "camera-enter-control")
    failed = await reaches(tts, run, "camera-enter-control", StepStatus.FAILED)
    assert failed.outcome is not None
    assert failed.outcome.startswith("LOVE (127.0.0.1")
    assert "500" in failed.outcome
    assert tts.cameras.states["ATCamera"] is SummaryState.OFFLINE


async def progress(tts: Tts, run: Run) -> list[tuple[str, str]]:
    """Each step's latest progress line."""
    return [(step_id, p.text) for step_id, p in (await tts.store.progress(run.run_id)).items()]
