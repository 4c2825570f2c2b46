"""Simulated ArgoCD: syncs that wait for image pulls, apps that settle Healthy (or not).

Syncing a ``telescope`` application recreates its namespace's Jobs and its CSCs come up, one
by one, in STANDBY (the site's auto-enabled ones ENABLED); syncing ``love`` brings LOVE back.
The apps' pods say what they are doing as the real resource tree does: ``ContainerCreating``
while their images are pulled, ``ErrImagePull`` / ``ImagePullBackOff`` when the pull is slow
(the ``slow-pull`` fault: the kubelet goes on pulling whatever happens to the sync), then
``Running``, or ``CrashLoopBackOff`` for a degraded app.
"""

from __future__ import annotations

import zlib
from typing import Any

from integrations.argocd import AppStatus, Pod
from integrations.errors import IntegrationError
from integrations.images import AppImages
from integrations.sim.catalog import LOVE_DEPLOYMENTS
from integrations.sim.images import REGISTRY, app_images, start_delay, tag_of
from integrations.sim.part import Core, Part
from integrations.sim.world import World, spread

SLOW_PULL = 55 * 60.0
"""Seconds a ``slow-pull`` app's images take to pull."""
BACKING_OFF = 600.0
"""Seconds of a slow pull before its pods show the kubelet backing off (ImagePullBackOff)."""

DIFF = {
    "science-platform": ["Application argocd/nublado", "Application argocd/sasquatch"],
    "nublado": ["ConfigMap nublado/nublado-controller-config", "Deployment nublado/controller"],
    "sasquatch": [
        "ConfigMap sasquatch/sasquatch-telegraf-ess",
        "Deployment sasquatch/sasquatch-kafka-connect",
        "KafkaTopic sasquatch/lsst.sal.ess.logevent-summarystate",
    ],
}
"""What each application has out of sync (a telescope app: its Jobs' new image tags)."""


class SimArgoCD(Part):
    """The ArgoCD server of the simulated site."""

    system = "ArgoCD"

    def __init__(self, core: Core) -> None:
        """Syncs this client started are remembered, to terminate them on cancel."""
        super().__init__(core)
        self._mine: set[str] = set()

    def _app(self, world: World, app: str) -> dict[str, object]:
        if app not in world.doc["apps"]:
            raise IntegrationError(
                self.system,
                f'applications.argoproj.io "{app}" not found',
                host=world.site.fqdn,
                status=404,
            )
        found: dict[str, object] = world.doc["apps"][app]
        return found

    async def apps(self, project: str) -> list[str]:
        """The applications of a project."""
        world = await self._enter()
        return sorted(n for n, a in world.doc["apps"].items() if a["project"] == project)

    async def status(self, app: str) -> AppStatus:
        """Sync, health and operation of one application."""
        state = self._app(await self._enter(), app)
        return AppStatus(
            name=app,
            sync=str(state["sync"]),
            health=str(state["health"]),
            operation=str(state["op"]) if state["op"] else None,
            message=str(state["message"]),
        )

    async def diff(self, app: str) -> list[str]:
        """The out-of-sync resources."""
        world = await self._enter()
        if self._app(world, app)["sync"] == "Synced":
            return []
        jobs = world.doc["jobs"].get(app, [])
        return DIFF.get(app, [f"Job {app}/{job}" for job in jobs] or [f"Deployment {app}/{app}"])

    async def sync(self, app: str, *, prune: bool) -> bool:
        """Start the sync (``False``: one already runs, followed as the real client does).

        Its effects play out over the image pulls and start-ups.
        """
        del prune
        world = await self._enter()
        state = self._app(world, app)
        if state["op"] == "Running":
            return False
        now = self._core.now()
        tag = f"sync:{app}"
        pulled = now + start_delay(world, app, now)  # the pull model: integrations/sim/images
        began = now
        if app in world.faults("slow-pull"):  # an earlier sync's pull goes on: the kubelet's
            earlier = float(str(state.get("pull_until", 0)))
            pulled = earlier if earlier > now else now + SLOW_PULL
            began = float(str(state["pull_from"])) if earlier > now else now
        state.update(op="Running", message="waiting for image pulls")
        synced = {"op": "Succeeded", "sync": "Synced", "health": "Progressing", "message": ""}
        world.schedule(pulled, "app", app, synced, tag)
        degraded = app in world.faults("app-degraded")
        cscs = [ref for ref, spec in world.specs.items() if spec.where == app]
        if cscs:
            world.schedule(pulled, "jobs", app, [world.specs[r].job for r in cscs], tag)
            world.start_cscs(cscs[1:] if degraded else cscs, pulled, tag)
        if app == "love":
            world.schedule(pulled, "deployments", "love", list(LOVE_DEPLOYMENTS), tag)
        settled = pulled + spread(app + "/settle", 30, 90)
        state.update(pull_from=began, pull_until=pulled, settle_at=settled)
        if degraded:
            pod = f"{cscs[0].split(':')[0].lower()}-7f9c4" if cscs else f"{app}-7f9c4"
            end = {"health": "Degraded",
                   "message": f"Pod {app}/{pod}: back-off restarting failed container"}  # fmt: skip
        else:
            end = {"health": "Healthy"}
        world.schedule(settled, "app", app, end, tag)
        self._mine.add(app)
        await self._core.save()
        return True

    async def pods(self, app: str) -> list[Pod]:
        """The app's pods, as its resource tree would show them now."""
        world = await self._enter()
        state = self._app(world, app)
        reason, containers, health, message = _pod_state(world, app, state, self._core.now())
        return [
            Pod(app, name, reason, containers, health, message.format(pod=name))
            for name in _pod_names(world, app)
        ]

    async def images(self, app: str, revision: str | None) -> AppImages:
        """The images of the app's manifests at the release (any revision names the release)."""
        del revision
        world = await self._enter()
        self._app(world, app)
        return AppImages(app, app_images(world, app, tag_of(world)))

    async def terminate(self, app: str) -> None:
        """``DELETE .../operation``: the running sync stops where it is."""
        world = await self._enter()
        state = self._app(world, app)
        if state["op"] == "Running":
            world.drop(f"sync:{app}")
            state.update(op="Failed", message="Operation terminated")
        self._mine.discard(app)
        await self._core.save()

    async def cancel(self) -> None:
        """Terminate every sync this client started that still runs."""
        self._release_held()
        for app in list(self._mine):
            await self.terminate(app)


def _pod_names(world: World, app: str) -> list[str]:
    """One pod per CSC Job of the app, per LOVE Deployment, or one for the app."""
    jobs = [spec.job for spec in world.specs.values() if spec.where == app]
    bases = jobs or (list(LOVE_DEPLOYMENTS) if app == "love" else [app])
    return [f"{base}-{zlib.crc32(base.encode()) % 0xFFFFF:05x}" for base in bases]


def _pod_state(
    world: World, app: str, state: dict[str, Any], now: float
) -> tuple[str, str, str, str]:
    """(reason, containers, health, message) of the app's pods at ``now``.

    A CSC runs as a Job (its pod's restart policy is not Always), so gitops-engine calls its
    pod Progressing while it waits on its image; a Deployment's pod backing off is Degraded.
    """
    if "pull_until" not in state:  # never synced here: the old release runs
        return "Running", "1/1", "Healthy", ""
    if now < state["pull_until"]:
        if now - state["pull_from"] < BACKING_OFF or app not in world.faults("slow-pull"):
            return "ContainerCreating", "0/1", "Progressing", ""
        reason = "ErrImagePull" if int(now // 60) % 5 == 0 else "ImagePullBackOff"
        jobs = any(spec.where == app for spec in world.specs.values())
        said = f'Back-off pulling image "{REGISTRY}/{app}"'
        return reason, "0/1", "Progressing" if jobs else "Degraded", "" if jobs else said
    if now < state["settle_at"]:
        return "Running", "0/1", "Progressing", ""
    if app in world.faults("app-degraded"):
        said = "back-off 40s restarting failed container=csc pod={pod}"
        return "CrashLoopBackOff", "0/1", "Degraded", said
    return "Running", "1/1", "Healthy", ""
