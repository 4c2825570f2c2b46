"""Simulated ArgoCD: syncs that wait for image pulls, apps that settle Healthy (or not).

Syncing a ``telescope`` application recreates its namespace's Jobs and its CSCs come up, one
by one, in STANDBY (the site's auto-enabled ones ENABLED); syncing ``love`` brings LOVE back.
"""

from __future__ import annotations

from integrations.argocd import AppStatus
from integrations.errors import IntegrationError
from integrations.sim.catalog import LOVE_DEPLOYMENTS
from integrations.sim.part import Core, Part
from integrations.sim.world import World, spread

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

    async def sync(self, app: str, *, prune: bool) -> None:
        """Start the sync; its effects play out over the image pulls and start-ups."""
        del prune
        world = await self._enter()
        state = self._app(world, app)
        if state["op"] == "Running":
            raise IntegrationError(
                self.system, "another operation is already in progress", status=400
            )
        now = self._core.now()
        tag = f"sync:{app}"
        pulled = now + spread(app + "/pull", 90, 240)
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
        if degraded:
            pod = f"{cscs[0].split(':')[0].lower()}-7f9c4" if cscs else f"{app}-7f9c4"
            end = {"health": "Degraded",
                   "message": f"Pod {app}/{pod}: back-off restarting failed container"}  # fmt: skip
        else:
            end = {"health": "Healthy"}
        world.schedule(settled, "app", app, end, tag)
        self._mine.add(app)
        await self._core.save()

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
