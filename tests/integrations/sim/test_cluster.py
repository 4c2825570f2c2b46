"""Simulated Kubernetes: the cluster's identity and what the k8s-admin cleanups delete."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.errors import IntegrationError
from integrations.kube import Deletion
from integrations.sim import SimObservatory
from integrations.sim.catalog import CLUSTERS, LOVE_DEPLOYMENTS, NUBLADO_USERS, SiteName
from integrations.sim.cluster import JOB_NAMESPACES, OCPS_JOBS
from tests.integrations.sim.conftest import Build, ManualClock, Progress, alive


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("site", "cluster"), [("summit", "yagan"), ("tts", "pillan"), ("bts", "manke")]
)
async def test_identity(build: Build, site: SiteName, cluster: str) -> None:
    """Each site's API server is its own cluster; with wrong-cluster, another site's."""
    observatory = build(site)
    assert await observatory.cluster.identity() == cluster
    await observatory.inject("wrong-cluster")
    other = await observatory.cluster.identity()
    assert other != cluster
    assert other in CLUSTERS


@pytest.mark.asyncio
async def test_plan_all(summit: SimObservatory) -> None:
    """cleanup_all: every CSC Job by namespace, OCPS in uws, LOVE's Deployments and HPA."""
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert len(plan) == len(set(plan))
    jobs = [d for d in plan if d.kind == "Job"]
    world = summit.world
    expected = {
        Deletion("Job", spec.job, spec.where)
        for spec in world.specs.values()
        if spec.where != "crio" and not spec.where.startswith("bridge:")
    }
    assert set(jobs) == expected
    assert len(jobs) == 145
    assert Counter(d.namespace for d in jobs) == {
        "envsys": 77, "auxtel": 19, "simonyitel": 19, "calsys": 16, "obssys": 8, "uws": 3,
        "control-system-test": 3,
    }  # fmt: skip
    assert {d.namespace for d in jobs} <= {*JOB_NAMESPACES, "uws"}
    assert {d.name for d in jobs if d.namespace == "uws"} == OCPS_JOBS
    assert Deletion("Job", "mtdome", "simonyitel") in jobs
    assert Deletion("Job", "ess-101", "envsys") in jobs
    rest = [d for d in plan if d.kind != "Job"]
    assert rest == [
        *(Deletion("Deployment", name, "love") for name in LOVE_DEPLOYMENTS),
        Deletion("HorizontalPodAutoscaler", "love-manager-frontend", "love"),
    ]
    assert str(rest[-1]) == "HorizontalPodAutoscaler love/love-manager-frontend"
    assert await summit.cluster.plan_cleanup("all", daemonsets=True) == plan


@pytest.mark.asyncio
async def test_plan_all_keeps_other_uws_jobs(summit: SimObservatory) -> None:
    """In uws only the OCPS Jobs go (cleanup_all selects them by label)."""
    summit.world.doc["jobs"]["uws"].append("uws-api-server-cleanup")
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert {d.name for d in plan if d.namespace == "uws"} == OCPS_JOBS


@pytest.mark.asyncio
async def test_plan_nublado(summit: SimObservatory) -> None:
    """cleanup_nublado: the users' lab Namespaces, nothing else."""
    plan = await summit.cluster.plan_cleanup("nublado", daemonsets=False)
    assert plan == [Deletion("Namespace", f"nublado-{user}") for user in NUBLADO_USERS]
    assert len(plan) == 12
    assert str(plan[0]) == "Namespace nublado-adam"


@pytest.mark.asyncio
async def test_delete_all(summit: SimObservatory, clock: ManualClock, progress: Progress) -> None:
    """Deleting the plan empties it, stops every CSC in a Job and takes LOVE down."""
    await summit.love.ping()
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    await summit.cluster.delete(plan, progress)
    assert await summit.cluster.plan_cleanup("all", daemonsets=False) == []
    assert len(progress.lines) == 16
    assert progress.lines[0].startswith("10/153 deleted (Job ")
    assert (
        progress.lines[-1] == "153/153 deleted (HorizontalPodAutoscaler love/love-manager-frontend)"
    )
    clock.advance(11)
    assert await alive(summit) == {
        "MTM1M3:0", "MTM1M3TS:0", "ATCamera:0", "MTCamera:0", "CCCamera:0"
    }  # fmt: skip
    with pytest.raises(IntegrationError) as caught:
        await summit.love.ping()
    assert caught.value.status == 503


@pytest.mark.asyncio
async def test_delete_takes_seconds_not_minutes(summit: SimObservatory, clock: ManualClock) -> None:
    """An API round trip per batch of eight DELETEs: the summit's whole cleanup in seconds.

    The pods' termination grace period (30 s by default) runs after the DELETE answered.
    """
    start = clock.now()
    await summit.cluster.delete(
        [Deletion("Job", "atdome", "auxtel"), Deletion("Namespace", "nublado-adam")], Progress()
    )
    assert (clock.now() - start).total_seconds() == 0.2
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert len(plan) > 100
    start = clock.now()
    await summit.cluster.delete(plan, Progress())
    assert (clock.now() - start).total_seconds() < 10


@pytest.mark.asyncio
async def test_delete_nublado(summit: SimObservatory) -> None:
    """The users' Namespaces go; the CSCs are untouched."""
    plan = await summit.cluster.plan_cleanup("nublado", daemonsets=False)
    await summit.cluster.delete(plan, Progress())
    assert await summit.cluster.plan_cleanup("nublado", daemonsets=False) == []
    assert len(await summit.cluster.plan_cleanup("all", daemonsets=False)) == 153
    assert len(await alive(summit)) == 150


@pytest.mark.asyncio
async def test_deleting_a_job_stops_its_csc(summit: SimObservatory, clock: ManualClock) -> None:
    """A deleted Job takes its pod, and the CSC in it, along; the others run on."""
    await summit.cluster.delete([Deletion("Job", "ess-101", "envsys")], Progress())
    clock.advance(11)
    up = await alive(summit)
    assert "ESS:101" not in up
    assert len(up) == 149
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert Deletion("Job", "ess-101", "envsys") not in plan
    assert Deletion("Job", "ess-102", "envsys") in plan


@pytest.mark.asyncio
async def test_deleting_what_is_gone_is_fine(summit: SimObservatory, clock: ManualClock) -> None:
    """A Job or Namespace deleted twice, or never there, is no error."""
    job = Deletion("Job", "atdome", "auxtel")
    await summit.cluster.delete([job, job, Deletion("Job", "nothing", "eas")], Progress())
    await summit.cluster.delete([Deletion("Namespace", "nublado-nobody")], Progress())
    clock.advance(11)
    assert len(await alive(summit)) == 149


@pytest.mark.asyncio
async def test_deleting_love_deployments(summit: SimObservatory) -> None:
    """Without its Deployments LOVE does not answer."""
    await summit.love.ping()
    await summit.cluster.delete(
        [Deletion("Deployment", name, "love") for name in LOVE_DEPLOYMENTS], Progress()
    )
    with pytest.raises(IntegrationError) as caught:
        await summit.love.ping()
    assert caught.value.system == "LOVE"
    assert caught.value.status == 503
    assert caught.value.host == "summit-lsp.lsst.codes"


@pytest.mark.asyncio
async def test_deleting_a_daemonset_is_fine(summit: SimObservatory) -> None:
    """A DaemonSet that is not there (no ospl-daemon any more) is deleted without error."""
    await summit.cluster.delete([Deletion("DaemonSet", "ospl-daemon", "ospl-daemon")], Progress())
    assert len(await alive(summit)) == 150
