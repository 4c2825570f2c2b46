"""One site as its fakes share it: LOVE, ArgoCD, Kubernetes, the camera hosts and the EFD agree.

The fakes of ``tests/support/fakes`` are independent servers, and the sshd and influxd of
``tests/support`` are real ones; a real site is one world, in which what one system does shows
in the others. :class:`World` holds that world (which CSC instances run, in which summary
state), hears what happens through the fakes' hooks, and keeps the real InfluxDB saying it in
the EFD's own shape (``tests/support/influxdb.py``), so that the real EFD client judges the test
site as it judges the summit. Its rules follow the simulated observatory's
(``integrations/sim``), in real time:

- a script running in the LOVE fake acts on the CSCs: ``system_wide_shutdown.py`` sends every
  running CSC but the ScriptQueues and the ignored ones OFFLINE, its ``start_with`` first and
  its ``end_with`` last; ``set_summary_state.py`` sends each entry of its ``data`` to its state
  (``Name:*``: every running index). A CSC that does not run makes the script fail (the real
  one times out waiting for it), unless it was to go OFFLINE anyway;
- a salobj CSC sent OFFLINE exits: most publish OFFLINE first, every third one (fixed by its
  name) exits still reading STANDBY, so that only its silence says it is down; a camera CSC
  lives in its OCS bridge and keeps beating in OFFLINE until the bridge stops;
- a CSC that does not run does not answer LOVE commands (the LOVE fake's ``down``: a 504);
- a Job deleted in the Kubernetes fake stops its CSC at once (killed: nothing published);
- a sync of a ``telescope`` application that succeeds in the ArgoCD fake creates the app's Jobs
  again and starts its CSCs in their end state (ENABLED for the site's ``auto_enabled``, else
  STANDBY); syncing ``love`` restores LOVE's Deployments;
- a camera bridge started on the sshd (its ``systemctl`` double's state file) starts its camera
  CSC in STANDBY (the camera team makes it available); stopped, the camera CSC goes silent.

Every running CSC beats once a second (``lsst.sal.<CSC>.logevent_heartbeat``); every change of
state is a ``lsst.sal.<CSC>.logevent_summaryState`` point. Index 0 is written as a component that
is not indexed (no ``salIndex`` field), the others with ``salIndex``, as ts_xml does. Telegraf's
topics carry no tags, so two points of one topic with the same timestamp would overwrite each
other: each point of a topic gets a millisecond of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import SecretStr

from bot.config.sites import SiteConfig
from integrations.base import no_report
from integrations.efd import SummaryState
from integrations.sim.catalog import LOVE_DEPLOYMENTS, NUBLADO_USERS, CscSpec
from integrations.ssh import SshHosts, UnitResult
from tests.support.fakes.argocd import FakeApp, FakeArgoCD
from tests.support.fakes.kube import FakeKube
from tests.support.fakes.love import FakeLove, FakeScript
from tests.support.influxdb import Influxd, heartbeat_line, summary_state_line
from tests.support.observatory import Announcements
from tests.support.sshd import Sshd

BEAT = 1.0
"""Seconds between two heartbeats of a running CSC (salobj's ``HEARTBEAT_INTERVAL``)."""

OCPS_LABELS = ("atocps", "ccocps", "raocps")
"""The ``csc`` label of the OCPS Jobs in ``uws``, by index - 1 (what cleanup_all selects)."""

USER_JOB = "uws-job-ab12"
"""A user's UWS Job in ``uws``: not the cleanup's, it must stay."""

NUBLADO_LABEL = {"argocd.argoproj.io/instance": "nublado-users"}

_COMMANDED = {
    "cmd_enable": SummaryState.ENABLED,
    "cmd_disable": SummaryState.DISABLED,
    "cmd_standby": SummaryState.STANDBY,
    "cmd_start": SummaryState.DISABLED,
    "cmd_exitControl": SummaryState.OFFLINE,
}
"""The state each generic state command leaves a CSC in (salobj ``base_csc.py``)."""


@dataclass
class Csc:
    """One CSC instance of the world."""

    spec: CscSpec
    state: SummaryState
    beating: bool = True

    @property
    def in_bridge(self) -> bool:
        """A camera CSC, run by its OCS bridge on an mcm machine."""
        return self.spec.where.startswith("bridge:")


@dataclass
class World:
    """The test site's CSCs, coupled to the fakes and written to the EFD while :meth:`run` runs.

    Build it, :meth:`furnish` the servers, :meth:`start`; :meth:`stop` at the end. ``commanded``
    lists what the scripts commanded, in order; ``killed`` the CSCs whose Job was deleted while
    they ran.
    """

    site: SiteConfig
    specs: Sequence[CscSpec]
    efd: Influxd
    database: str
    love: FakeLove
    argocd: FakeArgoCD
    kube: FakeKube
    sshd: Sshd
    initial: SummaryState = SummaryState.ENABLED
    cscs: dict[str, Csc] = field(init=False)
    commanded: list[tuple[str, SummaryState]] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    _units: dict[str, str | None] = field(default_factory=dict)
    _stamps: dict[str, int] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        """Every instance runs, in ``initial``; the fakes' hooks now lead here."""
        self.cscs = {spec.ref: Csc(spec, self.initial) for spec in self.specs}
        self.love.on_run = self.script_runs
        self.love.on_command = self.commanded_directly
        self.argocd.on_operation_end = self.operation_ended
        self.kube.on_delete = self.deleted

    # ------------------------------------------------------------------ the site's parts

    def furnish(self) -> None:
        """Give the fakes what the site runs: Jobs and Deployments, apps, bridge units."""
        for spec in self.specs:
            if not spec.where.startswith("bridge:"):
                self._add_job(spec)
        self.kube.add_job("uws", USER_JOB, labels={"type": "uws-job"})
        self._add_love()
        self.kube.add("horizontalpodautoscalers", "love", "love-manager-frontend")
        self.kube.add("deployments", "kafka-producers", "kafka-producer-auxtel")
        for user in NUBLADO_USERS[:3]:
            self.kube.add_namespace(f"nublado-{user}", NUBLADO_LABEL)
        self.argocd.add("science-platform", project="default")
        self.argocd.add("nublado", project="science-platform")
        self.argocd.add("sasquatch", project="science-platform")
        for app in self.site.argocd_projects["telescope"]:
            self.argocd.add(app)
        for bridge in self.site.camera_bridges:
            self.sshd.set_unit(bridge.unit, "active")
            self._units[bridge.unit] = "active"

    def _add_job(self, spec: CscSpec) -> None:
        labels = {"csc": spec.job}
        if spec.name == "OCPS":
            labels = {"csc": OCPS_LABELS[spec.index - 1]}
        self.kube.add_job(spec.where, spec.job, labels=labels)

    def _add_love(self) -> None:
        for name in LOVE_DEPLOYMENTS:
            self.kube.add("deployments", "love", name)

    def end_state(self, ref: str) -> SummaryState:
        """The state a CSC comes up in after a deployment."""
        return SummaryState.ENABLED if ref in self.site.auto_enabled else SummaryState.STANDBY

    def running(self) -> list[str]:
        """The instances beating now."""
        return [ref for ref, csc in self.cscs.items() if csc.beating]

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Publish every instance's state, beat once, and go on beating in the background."""
        await self._write([self._state_line(csc) for csc in self.cscs.values()])
        await self._beat()
        self._task = asyncio.create_task(self.run(), name="world")

    @property
    def task(self) -> asyncio.Task[None]:
        """The background task (it ends only by an error, which it raises)."""
        if self._task is None:
            raise RuntimeError("the world is not started")
        return self._task

    async def run(self) -> None:
        """Once a second: follow the bridges, then beat."""
        while True:
            await asyncio.sleep(BEAT)
            await self._follow_bridges()
            await self._beat()

    async def stop(self) -> None:
        """Stop beating (an error that ended the task is raised)."""
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        task.result()

    # ------------------------------------------------------------------ the hooks

    async def script_runs(self, script: FakeScript) -> None:
        """LOVE: what the running script does to the CSCs (a failure fails the script)."""
        config: dict[str, Any] = yaml.safe_load(script.config) or {}
        if script.path == "system_wide_shutdown.py":
            await self._shutdown(config)
        elif script.path == "set_summary_state.py":
            for entry in config["data"]:
                state = SummaryState[str(entry[1]).upper()]
                for ref in self._refs(str(entry[0])):
                    await self._command(ref, state)

    async def commanded_directly(self, command: dict[str, Any]) -> None:
        """LOVE: a generic state command sent to one CSC through ``cmd/``."""
        state = _COMMANDED.get(command["cmd"])
        if state is not None:
            await self._command(f"{command['csc']}:{command['salindex']}", state)

    async def operation_ended(self, app: FakeApp) -> None:
        """ArgoCD: a synced ``telescope`` app's Jobs come back and its CSCs start."""
        if app.phase != "Succeeded":
            return
        if app.name == "love":
            self._add_love()
        if app.project != "telescope":
            return
        for spec in self.specs:
            if spec.where == app.name:
                self._add_job(spec)
                await self._up(spec.ref, self.end_state(spec.ref))

    async def deleted(self, resource: str, namespace: str, name: str) -> None:
        """Kubernetes: a deleted Job's pod goes, and its CSC with it (nothing published)."""
        if resource != "jobs":
            return
        for ref, csc in self.cscs.items():
            if csc.spec.where == namespace and csc.spec.job == name and csc.beating:
                self.killed.append(ref)
                self._down(ref)

    # ------------------------------------------------------------------ rules

    async def _shutdown(self, config: dict[str, Any]) -> None:
        ignore = set(config.get("ignore", []))
        first, last = config.get("start_with", []), config.get("end_with", [])

        def rank(ref: str) -> int:
            name = ref.partition(":")[0]
            return 0 if name in first else 2 if name in last else 1

        targets = [
            ref
            for ref, csc in self.cscs.items()
            if csc.beating
            and csc.spec.name not in ignore
            and csc.spec.name != "ScriptQueue"
            and csc.state is not SummaryState.OFFLINE
        ]
        for ref in sorted(targets, key=rank):
            await self._command(ref, SummaryState.OFFLINE)

    def _refs(self, target: str) -> list[str]:
        """``Name:index``, ``Name`` (index 0) or ``Name:*`` (every running index)."""
        name, _, index = target.partition(":")
        if index == "*":
            return [r for r, c in self.cscs.items() if c.spec.name == name and c.beating]
        return [f"{name}:{index or 0}"]

    async def _command(self, ref: str, state: SummaryState) -> None:
        self.commanded.append((ref, state))
        csc = self.cscs.get(ref)
        if csc is None or not csc.beating:
            if state is SummaryState.OFFLINE:
                return  # already gone: the script notes it and goes on
            raise RuntimeError(f"{ref} did not respond: no heartbeat")
        if state is not SummaryState.OFFLINE:
            await self._publish(csc, state)
            return
        if csc.in_bridge:  # the bridge keeps the camera CSC beating, OFFLINE
            await self._publish(csc, SummaryState.OFFLINE)
            return
        if csc.state is not SummaryState.STANDBY:
            await self._publish(csc, SummaryState.STANDBY)
        if zlib.crc32(ref.encode()) % 3:  # two in three say OFFLINE before they exit
            await self._publish(csc, SummaryState.OFFLINE)
        self._down(ref)
        if csc.spec.name == "ScriptQueue":  # it closes, terminating its scripts (close_tasks)
            await self.love.queue_exits(csc.spec.index)

    async def _up(self, ref: str, state: SummaryState) -> None:
        """The CSC starts: it publishes its state and beats at once."""
        csc = self.cscs[ref]
        csc.beating = True
        self.love.down.discard(ref)
        if csc.spec.name == "ScriptQueue":
            await self.love.queue_starts(csc.spec.index)
        await self._publish(csc, state)
        await self._write([self._beat_line(csc)])

    def _down(self, ref: str) -> None:
        """The CSC is gone: no more heartbeats, and LOVE's commands to it time out."""
        self.cscs[ref].beating = False
        self.love.down.add(ref)

    async def _follow_bridges(self) -> None:
        """A bridge unit that changed state on the mcm host takes its camera CSC along."""
        for bridge in self.site.camera_bridges:
            now = self.sshd.unit_state(bridge.unit)
            if now == self._units.get(bridge.unit):
                continue
            self._units[bridge.unit] = now
            ref = f"{bridge.camera}:0"
            if ref not in self.cscs:
                continue
            if now == "active":
                await self._up(ref, SummaryState.STANDBY)
            else:
                self._down(ref)

    # ------------------------------------------------------------------ the EFD

    async def _publish(self, csc: Csc, state: SummaryState) -> None:
        csc.state = state
        await self._write([self._state_line(csc)])

    async def _beat(self) -> None:
        lines = [self._beat_line(csc) for csc in self.cscs.values() if csc.beating]
        if lines:
            await self._write(lines)

    def _stamp(self, topic: str) -> int:
        """Now in epoch ms, but later than every earlier point of ``topic``."""
        stamp = max(int(time.time() * 1000), self._stamps.get(topic, 0) + 1)
        self._stamps[topic] = stamp
        return stamp

    def _beat_line(self, csc: Csc) -> str:
        name = csc.spec.name
        return heartbeat_line(name, csc.spec.index or None, self._stamp(f"{name}.heartbeat"))

    def _state_line(self, csc: Csc) -> str:
        name, state = csc.spec.name, int(csc.state)
        stamp = self._stamp(f"{name}.summaryState")
        return summary_state_line(name, csc.spec.index or None, state, stamp)

    async def _write(self, lines: list[str]) -> None:
        await self.efd.write(self.database, lines)


@dataclass
class SiteAnnouncements(Announcements):
    """Records what is posted (as :class:`Announcements`); people answer some announcements.

    ``answers`` maps an announcement key to what its audience then does; each answer runs in
    the background (posting does not wait for people) and is kept in ``answered``.
    """

    answers: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = field(default_factory=dict)
    answered: list[asyncio.Task[Any]] = field(default_factory=list)

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Record it; its audience answers."""
        await super().announce(
            site=site, key=key, text=text, audiences=audiences, acknowledge=acknowledge
        )
        answer = self.answers.get(key)
        if answer is not None:
            self.answered.append(asyncio.create_task(answer(), name=f"answer {key}"))


class CameraTeam:
    """The camera upgrade team: at the Stage 2 call they start their bridges over SSH."""

    def __init__(self, site: SiteConfig, sshd: Sshd) -> None:
        """Their own client and key for the site's mcm hosts, all served by ``sshd``."""
        hosts = sorted({b.host for b in site.camera_bridges})
        self._site = site
        self._hosts = SshHosts(
            hosts=hosts,
            username=sshd.user,
            client_key=SecretStr(sshd.client_key),
            known_hosts=sshd.known_hosts(*hosts),
            addresses=dict.fromkeys(hosts, ("127.0.0.1", sshd.port)),
            connect_timeout=5.0,
            command_timeout=10.0,
        )

    async def start_bridges(self) -> list[UnitResult]:
        """``sudo systemctl start`` every bridge of the site; each unit's state after."""
        return await self._hosts.systemctl("start", self._site.bridge_units(), no_report)
