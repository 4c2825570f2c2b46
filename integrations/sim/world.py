"""The simulated observatory's state and its clock-driven changes, as plain data.

Nothing here runs in the background: an operation *schedules* its effects at clock times (this
CSC publishes STANDBY at 03:12:05 and stops beating at 03:12:08), and every look at the world
first applies what is due. So the state is one JSON document (kept in the store, so a killed
demo resumes against the same observatory), time can run at any speed, and cancelling an
operation is dropping its scheduled effects.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from integrations.efd import OfflineDetailedState, SummaryState
from integrations.sim.catalog import (
    LOVE_DEPLOYMENTS,
    NUBLADO_USERS,
    OTHER_APPS,
    CscSpec,
    SiteName,
    cscs,
)
from integrations.sim.faults import Fault

SCHEMA = 1
"""Version of the JSON document; a document of another version is refused, not misread."""


BRIDGE_UP = 30.0
"""Seconds from an OCS bridge's start to its camera CSC beating (OFFLINE, PUBLISH_ONLY)."""


def spread(key: str, low: float, high: float) -> float:
    """A duration between ``low`` and ``high`` that is the same for ``key`` in every run."""
    return low + (zlib.crc32(key.encode()) % 1000) / 1000 * (high - low)


_REPLACED = {"unit": "units", "jobs": "jobs", "deployments": "deployments"}
"""Scheduled operations that replace a value: operation -> the document's collection."""
_CSC_OPS = frozenset({"state", "exit", "start", "detail"})
"""Scheduled operations on one CSC instance."""


def _apply_csc(csc: dict[str, Any], at: float, op: str, value: Any) -> None:  # noqa: ANN401  # a JSON value
    """A CSC changes: its state; it exits (silent) or starts; a camera's offline substate."""
    if op == "state":
        csc["state"] = value
    elif op == "exit":
        if value is not None:
            csc["state"] = value
        csc.update(beat=False, last_beat=at)
    elif op == "start":
        csc.update(state=value, beat=True, last_beat=at)
    elif value is None or csc["beat"]:  # detail: CCS answers a running bridge only
        csc["offline"] = value


@dataclass(frozen=True, slots=True)
class SimSite:
    """What the simulated observatory needs to know of its site (from the site configuration)."""

    name: SiteName
    fqdn: str
    cluster: str
    scriptqueues: tuple[int, ...]
    ignore: tuple[str, ...]
    auto_enabled: tuple[str, ...]
    camera_bridges: tuple[tuple[str, str, str], ...]
    """(camera, host, unit) of each OCS bridge."""
    bare_metal: tuple[tuple[str, str], ...]
    """(host, unit) of each bare-metal service."""
    config_repos: tuple[str, ...] = ()
    config_branch: str = "{cycle}"
    """The configuration repositories' branch, ``{cycle}`` filled in with the release's."""
    telescope_apps: tuple[str, ...] = ()
    """The ``telescope`` ArgoCD project's applications (application name = namespace)."""

    def bridge_of(self, camera: str) -> str | None:
        """The ``host:unit`` key of a camera's bridge."""
        return next((f"{h}:{u}" for c, h, u in self.camera_bridges if c == camera), None)

    def camera_of(self, unit_key: str) -> str | None:
        """The camera whose bridge is ``host:unit``."""
        return next((c for c, h, u in self.camera_bridges if f"{h}:{u}" == unit_key), None)


@dataclass(frozen=True, slots=True)
class Release:
    """The upgrade being deployed: what GitHub holds for it."""

    cycle: str
    phalanx_branch: str
    phalanx_repo: str = "lsst-sqre/phalanx"
    pr_number: int = 5123


@dataclass
class World:
    """The whole simulated site at one moment, and what is scheduled to happen to it."""

    site: SimSite
    doc: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ creation and loading

    @classmethod
    def create(cls, site: SimSite, release: Release, now: float) -> World:
        """A site in the middle of normal operation, just before the upgrade."""
        specs = cls._specs(site)
        states: dict[str, Any] = {}
        for spec in specs:
            if spec.ref in site.auto_enabled or spec.name in {"MTM1M3TS", "Watcher"}:
                state = SummaryState.ENABLED
            elif spec.name == "MTM1M3" or spec.where.startswith("bridge:"):
                state = SummaryState.DISABLED
            else:
                state = [SummaryState.STANDBY, SummaryState.DISABLED, SummaryState.ENABLED][
                    int(spread(spec.ref, 0, 2.99))
                ]
            states[spec.ref] = {"state": int(state), "beat": True, "last_beat": now}
        jobs: dict[str, list[str]] = {}
        for spec in specs:
            if not spec.where.startswith("bridge:") and spec.where != "crio":
                jobs.setdefault(spec.where, []).append(spec.job)
        apps = {
            name: {"project": "telescope" if name in site.telescope_apps else "default",
                   "sync": "OutOfSync", "health": "Healthy", "op": None, "message": ""}
            for name in (*OTHER_APPS, *site.telescope_apps)
        }  # fmt: skip
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "cscs": states,
            "pending": [],
            "seq": 0,
            "units": {f"{h}:{u}": "active" for _, h, u in site.camera_bridges}
            | {f"{h}:{u}": "active" for h, u in site.bare_metal},
            "jobs": jobs,
            "deployments": {"love": list(LOVE_DEPLOYMENTS)},
            "hpas": {"love": ["love-manager-frontend"]},
            "nublado": [f"nublado-{user}" for user in NUBLADO_USERS],
            "apps": apps,
            "scripts": {},
            "next_script": 100_001,
            "faults": [],
            "stale_since": None,
        }
        world = cls(site, doc)
        world.release(release, now)
        return world

    def release(self, release: Release, now: float) -> None:
        """What GitHub holds for the upgrade, from ``now``.

        Its Phalanx PR (checks pass in 15 minutes, a person merges it at 50) and the
        configuration repositories' branches.
        """
        self.doc["pr"] = {
            "repo": release.phalanx_repo,
            "number": release.pr_number,
            "branch": release.phalanx_branch,
            "checks_at": now + 900,
            "merged_at": now + 3000,
            "merged": False,
        }
        self.doc["cycle"] = release.cycle  # the new images' tag
        branch = self.site.config_branch.format(cycle=release.cycle)
        self.doc["branches"] = {repo: [branch] for repo in self.site.config_repos}

    @classmethod
    def load(cls, site: SimSite, doc: dict[str, Any]) -> World:
        """The world as it was saved."""
        if doc.get("schema") != SCHEMA:
            raise ValueError(
                f"saved simulated observatory has schema {doc.get('schema')!r}, this version "
                f"reads {SCHEMA}: start the demo with a new --db"
            )
        return cls(site, doc)

    @staticmethod
    def _specs(site: SimSite) -> list[CscSpec]:
        return cscs(site.name, tuple(camera for camera, _, _ in site.camera_bridges))

    @property
    def specs(self) -> dict[str, CscSpec]:
        """Every CSC instance of the site, by ``Name:index``."""
        return {spec.ref: spec for spec in self._specs(self.site)}

    # ------------------------------------------------------------------ faults

    def faults(self, kind: str) -> set[str]:
        """The targets of the injected faults of ``kind``."""
        return {f.partition(":")[2] for f in self.doc["faults"] if f.partition(":")[0] == kind}

    def has_fault(self, kind: str) -> bool:
        """Whether a fault of ``kind`` is injected."""
        return any(f.partition(":")[0] == kind for f in self.doc["faults"])

    def inject(self, fault: Fault, now: float) -> None:
        """Add a fault, refusing targets the site does not have."""
        target = fault.target
        if fault.kind in {"csc-fault", "csc-stuck"} and target not in self.doc["cscs"]:
            raise ValueError(f"{fault}: {self.site.name} has no CSC {target}")
        if fault.kind == "bridge-stuck" and self.site.bridge_of(target) is None:
            cameras = ", ".join(c for c, _, _ in self.site.camera_bridges)
            raise ValueError(f"{fault}: {self.site.name} has bridges for {cameras} only")
        if (
            fault.kind in {"app-degraded", "slow-pull", "prepull-fail"}
            and target not in self.doc["apps"]
        ):
            raise ValueError(f"{fault}: no ArgoCD application {target} at {self.site.name}")
        if fault.kind == "efd-stale":  # what the EFD received last, kept from now on
            self.doc["stale_since"] = now
            self.doc["stale_states"] = {ref: c["state"] for ref, c in self.doc["cscs"].items()}
        self.doc["faults"].append(str(fault))

    # ------------------------------------------------------------------ time

    def schedule(
        self,
        at: float,
        op: str,
        target: str,
        value: Any = None,  # noqa: ANN401  # a JSON value of the document
        tag: str = "",
    ) -> None:
        """Make ``op`` happen to ``target`` at clock time ``at`` (seconds since the epoch)."""
        self.doc["seq"] += 1
        self.doc["pending"].append([at, self.doc["seq"], op, target, value, tag])
        self.doc["pending"].sort(key=lambda p: (p[0], p[1]))

    def drop(self, tag: str) -> int:
        """Forget what an operation had scheduled (it was stopped); how many effects."""
        before = len(self.doc["pending"])
        self.doc["pending"] = [p for p in self.doc["pending"] if p[5] != tag]
        return before - len(self.doc["pending"])

    def advance(self, now: float) -> bool:
        """Apply everything due by ``now``; whether anything changed."""
        pending = self.doc["pending"]
        changed = False
        while pending and pending[0][0] <= now:
            at, _, op, target, value, _ = pending.pop(0)
            self._apply(at, op, target, value)
            changed = True
        return changed

    def _apply(self, at: float, op: str, target: str, value: Any) -> None:  # noqa: ANN401  # a JSON value
        if op in _CSC_OPS:
            _apply_csc(self.doc["cscs"][target], at, op, value)
            if op == "exit" and target.startswith("ScriptQueue:"):
                self._queue_exits(int(target.partition(":")[2]))
        elif op in _REPLACED:
            self.doc[_REPLACED[op]][target] = value
        elif op == "app":
            self.doc["apps"][target].update(value)
        elif op == "script":
            script = self.doc["scripts"][target]
            script.update(value)
            if value.get("state") == "FAILED":  # ts_scriptqueue pauses; the script stays current
                self.paused()[str(script["queue"])] = target
        else:  # a document written by a newer version
            raise ValueError(f"unknown scheduled operation {op!r}")

    def _queue_exits(self, queue: int) -> None:
        """A ScriptQueue leaving for OFFLINE closes and terminates the scripts it holds.

        ts_scriptqueue ``ScriptQueue.close_tasks`` -> ``QueueModel.close`` -> ``terminate_all``:
        the script that sent the queue OFFLINE goes with it, and is never seen DONE.
        """
        for index, script in self.doc["scripts"].items():
            if script["queue"] == queue and script["state"] in {"RUNNING", "WAITING"}:
                self.drop(f"script:{index}")
                script.update(
                    state="TERMINATED",
                    message=f"terminated: ScriptQueue {queue} exited (ts_scriptqueue close_tasks)",
                )
        self.paused().pop(str(queue), None)

    def scripts_beating(self) -> list[str]:
        """The scripts loaded in a queue (waiting or running): each beats as ``Script``."""
        return [
            index
            for index, script in self.doc["scripts"].items()
            if script["state"] in {"RUNNING", "WAITING"}
        ]

    # ------------------------------------------------------------------ reading

    def beating(self, ref: str) -> bool:
        """Whether the CSC instance runs (sends heartbeats)."""
        csc = self.doc["cscs"].get(ref)
        return bool(csc and csc["beat"])

    def state(self, ref: str) -> SummaryState | None:
        """The CSC's last published summary state."""
        csc = self.doc["cscs"].get(ref)
        return SummaryState(csc["state"]) if csc and csc["state"] is not None else None

    def paused(self) -> dict[str, str]:
        """The paused ScriptQueues: queue -> the failed script that paused it."""
        paused: dict[str, str] = self.doc.setdefault("paused", {})
        return paused

    def love_up(self) -> bool:
        """LOVE answers: not made unreachable, and its Deployments exist."""
        deployments = self.doc["deployments"].get("love", [])
        return not self.has_fault("love-down") and "love-nginx" in deployments

    def end_state(self, ref: str) -> SummaryState:
        """The state a CSC comes up in: STANDBY, ENABLED for the site's auto-enabled ones."""
        if ref in self.faults("csc-fault"):
            return SummaryState.FAULT
        if ref in self.site.auto_enabled:
            return SummaryState.ENABLED
        return SummaryState.STANDBY

    # ------------------------------------------------------------------ shared effects

    def send_offline(self, ref: str, at: float, tag: str) -> float:
        """Schedule the CSC's way down (standby, exitControl); when it is gone."""
        spec = self.specs[ref]
        took = spread(ref, 2.0, 6.0)
        if spec.where.startswith("bridge:"):  # the bridge keeps beating; OFFLINE is a state
            self.schedule(at + took, "state", ref, int(SummaryState.OFFLINE), tag)
            return at + took
        if self.state(ref) is not SummaryState.STANDBY:
            self.schedule(at + took / 2, "state", ref, int(SummaryState.STANDBY), tag)
        # A salobj CSC exits as it goes OFFLINE: a third of them publish it first.
        last = int(SummaryState.OFFLINE) if spread(ref + "/last", 0, 3) < 1 else None
        self.schedule(at + took, "exit", ref, last, tag)
        return at + took

    def bridge_started(self, unit_key: str, at: float, tag: str) -> float:
        """A camera's OCS bridge started at ``at``: its CSC comes up OFFLINE, PUBLISH_ONLY.

        Until CCS's ``setAvailable`` (:meth:`set_available`) it takes no ``enterControl``.
        When it is up (or ``at`` if the bridge has no camera CSC here).
        """
        camera = self.site.camera_of(unit_key)
        ref = f"{camera}:0"
        if camera is None or ref not in self.doc["cscs"]:
            return at
        up = at + BRIDGE_UP
        self.schedule(up, "start", ref, int(SummaryState.OFFLINE), tag)
        self.schedule(up, "detail", ref, int(OfflineDetailedState.PUBLISH_ONLY), tag)
        return up

    def set_available(self, ref: str, at: float, tag: str) -> None:
        """CCS ``setAvailable --withLock`` at ``at``: the camera CSC becomes AVAILABLE."""
        self.schedule(at, "detail", ref, int(OfflineDetailedState.AVAILABLE), tag)

    def start_cscs(self, refs: list[str], at: float, tag: str) -> None:
        """Schedule CSCs to come up (image pull, start-up) in their end state."""
        for ref in refs:
            self.schedule(
                at + spread(ref + "/up", 20, 150), "start", ref, int(self.end_state(ref)), tag
            )
