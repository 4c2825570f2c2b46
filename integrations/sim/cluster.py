"""Simulated Kubernetes: what lsst-ts/k8s-admin's cleanup scripts find and delete.

Deleting a CSC's Job (with propagation, so its pod goes too) stops the CSC if it still ran;
deleting LOVE's Deployments takes LOVE down until ArgoCD syncs it back. The pre-pull
DaemonSet fills the nodes' image caches as ``integrations/sim/images.py`` models it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from integrations.base import Report
from integrations.kube import Deletion, Failure, NodePull, Prepull, PrepullState
from integrations.sim.catalog import CLUSTERS
from integrations.sim.images import NODES, schedule
from integrations.sim.part import Part
from integrations.sim.world import World

JOB_NAMESPACES = (
    "auxtel", "calsys", "calsys-lab", "control-system-test", "eas", "envsys", "maintel",
    "simonyitel", "obssys", "dds-test",
)  # fmt: skip
"""``cleanup_all`` deletes every Job in these namespaces (missing ones are harmless)."""
OCPS_JOBS = {"ocps-1", "ocps-2", "ocps-3"}
"""``cleanup_all`` deletes only the OCPS Jobs in ``uws`` (``-l "csc in (...)"``)."""
ROUND_TRIP = 0.2
"""Seconds for the API server to answer one DELETE.

A deletion is not a wait for the object's pods: with ``propagationPolicy: Background`` (what
the client sends, as ``kubectl delete`` does) the API server removes the Job or Deployment at
once and the garbage collector deletes its pods afterwards; a Namespace DELETE answers with
the Namespace in phase ``Terminating`` and the namespace controller empties it afterwards.
Each pod then gets its termination grace period (PodSpec ``terminationGracePeriodSeconds``,
"Defaults to 30 seconds", Kubernetes API reference, core/v1 PodSpec) between SIGTERM and
SIGKILL; a salobj CSC exits on SIGTERM. So a cleanup of ~150 objects takes seconds, not
minutes (``kubectl delete job --all`` returns as soon as the API server has accepted them).
"""
PARALLEL = 8
"""The real client's deletions at once (``KubeCluster``'s default ``parallel``)."""


class SimCluster(Part):
    """The site's Kubernetes API server."""

    system = "Kubernetes"

    async def identity(self) -> str:
        """The cluster's name, or another site's with ``wrong-cluster``."""
        world = await self._enter()
        if world.has_fault("wrong-cluster"):
            return next(c for c in CLUSTERS if c != world.site.cluster)
        return world.site.cluster

    async def plan_cleanup(
        self, scope: Literal["all", "nublado"], *, daemonsets: bool
    ) -> list[Deletion]:
        """What ``cleanup_all`` (or ``cleanup_nublado``) would delete now."""
        del daemonsets  # no ospl-daemon namespace at any site any more: nothing to add
        world = await self._enter()
        if scope == "nublado":
            return [Deletion("Namespace", ns) for ns in world.doc["nublado"]]
        jobs = world.doc["jobs"]
        plan = [Deletion("Job", job, ns) for ns in JOB_NAMESPACES for job in jobs.get(ns, [])]
        plan += [Deletion("Job", job, "uws") for job in jobs.get("uws", []) if job in OCPS_JOBS]
        plan += [
            Deletion("Deployment", d, "love") for d in world.doc["deployments"].get("love", [])
        ]
        plan += [Deletion("Job", job, "love") for job in jobs.get("love", [])]
        plan += [
            Deletion("HorizontalPodAutoscaler", h, "love")
            for h in world.doc["hpas"].get("love", [])
        ]
        return plan

    async def delete(self, deletions: Sequence[Deletion], report: Report) -> None:
        """Delete them, :data:`PARALLEL` per API round trip, as the real client does."""
        await self._enter()
        for n, deletion in enumerate(deletions, 1):
            if (n - 1) % PARALLEL == 0:  # one round trip per batch the client sends at once
                await self._core.clock.sleep(ROUND_TRIP)
            self._remove(self._core.look(), deletion)
            if n % 10 == 0 or n == len(deletions):  # saved and reported in batches
                await self._core.save()
                await report(f"{n}/{len(deletions)} deleted ({deletion})")

    async def start_prepull(self, prepull: Prepull) -> None:
        """The DaemonSet's pods pull the images one after another (``sim/images.py``'s model)."""
        world = await self._enter()
        world.doc["prepull"] = {
            **schedule(world, prepull.images, self._core.now()),
            "name": f"{prepull.namespace}/{prepull.name}",
        }
        await self._core.save()

    async def prepull_state(self, namespace: str, name: str) -> PrepullState:
        """Every node alike: what is pulled by now, what fails."""
        world = await self._enter()
        prepull = world.doc.get("prepull")
        if (
            not prepull
            or prepull["removed"] is not None
            or prepull["name"] != f"{namespace}/{name}"
        ):
            return PrepullState(exists=False, desired=0)
        now = self._core.now()
        pulled = tuple(i for i in prepull["images"] if (prepull["ready"][i] or now + 1) <= now)
        failing = tuple(
            Failure(image, "ErrImagePull" if int(now // 60) % 5 == 0 else "ImagePullBackOff",
                    f'Back-off pulling image "{image}"')
            for image, at in prepull["failed"].items() if at <= now
        )  # fmt: skip
        done = len(pulled) == len(prepull["images"])
        nodes = tuple(
            NodePull(f"{world.site.cluster}{n:02d}", pulled, failing, done)
            for n in range(1, NODES + 1)
        )
        return PrepullState(exists=True, desired=NODES, nodes=nodes)

    async def stop_prepull(self, namespace: str, name: str) -> None:
        """The DaemonSet goes: what the nodes pulled stays in their caches."""
        world = await self._enter()
        prepull = world.doc.get("prepull")
        if prepull and prepull["name"] == f"{namespace}/{name}" and prepull["removed"] is None:
            prepull["removed"] = self._core.now()
            await self._core.save()

    async def prepull_rights(self, namespace: str) -> list[str]:
        """The simulated account has every right."""
        del namespace
        await self._enter()
        return []

    def _remove(self, world: World, deletion: Deletion) -> None:
        ns = deletion.namespace or ""
        if deletion.kind == "Namespace":
            world.doc["nublado"] = [n for n in world.doc["nublado"] if n != deletion.name]
            return
        if deletion.kind == "HorizontalPodAutoscaler":
            world.doc["hpas"][ns] = [h for h in world.doc["hpas"].get(ns, []) if h != deletion.name]
            return
        kind = {"Job": "jobs", "Deployment": "deployments"}.get(deletion.kind)
        if kind is None:  # nothing of that kind here (no ospl-daemon DaemonSets): already gone
            return
        world.doc[kind][ns] = [o for o in world.doc[kind].get(ns, []) if o != deletion.name]
        if deletion.kind == "Job":
            now = self._core.now()
            for ref, spec in world.specs.items():
                if spec.where == ns and spec.job == deletion.name and world.beating(ref):
                    world.schedule(now, "exit", ref)
