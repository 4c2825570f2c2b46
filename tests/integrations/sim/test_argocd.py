"""Simulated ArgoCD: applications, syncs over image pulls, what they bring back, faults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.argocd import AppStatus
from integrations.efd import SummaryState
from integrations.errors import IntegrationError
from integrations.sim import SimObservatory
from integrations.sim.catalog import LOVE_DEPLOYMENTS, SiteName
from integrations.sim.world import spread
from tests.integrations.sim.conftest import Build, ManualClock, Progress, alive, reading, site_of

EPSILON = 0.01
"""Seconds either side of a scheduled effect (the clock keeps microseconds)."""


def pulled(app: str) -> float:
    """Seconds from a sync to its images pulled (the app Synced, its Jobs back)."""
    return spread(app + "/pull", 90, 240)


def settled(app: str) -> float:
    """Seconds from a sync to its health settled."""
    return pulled(app) + spread(app + "/settle", 30, 90)


async def clean(observatory: SimObservatory, clock: ManualClock) -> None:
    """What cleanup_all does: every CSC Job and LOVE's Deployments go."""
    plan = await observatory.cluster.plan_cleanup("all", daemonsets=False)
    await observatory.cluster.delete(plan, Progress())
    clock.advance(11)


def refs_in(observatory: SimObservatory, app: str) -> list[str]:
    """The CSC instances whose Jobs the app's namespace holds."""
    return [ref for ref, spec in observatory.world.specs.items() if spec.where == app]


@pytest.mark.asyncio
@pytest.mark.parametrize("site", ["summit", "tts", "bts"])
async def test_apps(build: Build, site: SiteName) -> None:
    """The telescope project's apps are the site's; the rest are outside it."""
    observatory = build(site)
    assert await observatory.argocd.apps("telescope") == sorted(site_of(site).telescope_apps)
    assert await observatory.argocd.apps("default") == ["nublado", "sasquatch", "science-platform"]
    assert await observatory.argocd.apps("nothing") == []


@pytest.mark.asyncio
async def test_unknown_app(summit: SimObservatory) -> None:
    """An app that does not exist answers ArgoCD's own 404."""
    for call in (summit.argocd.status("x"), summit.argocd.sync("x", prune=True),
                 summit.argocd.diff("x"), summit.argocd.terminate("x")):  # fmt: skip
        with pytest.raises(IntegrationError) as caught:
            await call
        assert caught.value.status == 404
        assert caught.value.message == 'applications.argoproj.io "x" not found'
        assert caught.value.host == "summit-lsp.lsst.codes"


@pytest.mark.asyncio
async def test_before_the_upgrade(summit: SimObservatory) -> None:
    """Every app is OutOfSync (the new release is merged) and Healthy, with no operation."""
    for app in [*site_of("summit").telescope_apps, "science-platform", "nublado", "sasquatch"]:
        status = await summit.argocd.status(app)
        assert status == AppStatus(app, "OutOfSync", "Healthy", None, "")
        assert not status.done


@pytest.mark.asyncio
async def test_diff(summit: SimObservatory, clock: ManualClock) -> None:
    """The diff lists the app's Jobs (or its known resources); a synced app has none."""
    auxtel = await summit.argocd.diff("auxtel")
    assert len(auxtel) == 19
    assert auxtel[0] == "Job auxtel/ataos"
    assert await summit.argocd.diff("sasquatch") == [
        "ConfigMap sasquatch/sasquatch-telegraf-ess",
        "Deployment sasquatch/sasquatch-kafka-connect",
        "KafkaTopic sasquatch/lsst.sal.ess.logevent-summarystate",
    ]
    assert await summit.argocd.diff("csc-versions") == ["Deployment csc-versions/csc-versions"]
    await summit.argocd.sync("auxtel", prune=True)
    clock.advance(pulled("auxtel") + EPSILON)
    assert await summit.argocd.diff("auxtel") == []


@pytest.mark.asyncio
async def test_sync_lifecycle(summit: SimObservatory, clock: ManualClock) -> None:
    """Running while the images pull, then Synced and Progressing, then Healthy."""
    await summit.argocd.sync("calsys", prune=True)
    status = await summit.argocd.status("calsys")
    assert status == AppStatus(
        "calsys", "OutOfSync", "Healthy", "Running", "waiting for image pulls"
    )
    assert not status.done
    clock.advance(pulled("calsys") - EPSILON)
    assert (await summit.argocd.status("calsys")).operation == "Running"
    clock.advance(2 * EPSILON)
    status = await summit.argocd.status("calsys")
    assert status == AppStatus("calsys", "Synced", "Progressing", "Succeeded", "")
    assert not status.done
    clock.advance(settled("calsys") - pulled("calsys") - 2 * EPSILON)
    assert (await summit.argocd.status("calsys")).health == "Progressing"
    clock.advance(2 * EPSILON)
    status = await summit.argocd.status("calsys")
    assert status == AppStatus("calsys", "Synced", "Healthy", "Succeeded", "")
    assert status.done


@pytest.mark.asyncio
async def test_sync_brings_csc_back(summit: SimObservatory, clock: ManualClock) -> None:
    """A synced telescope app's CSCs come back one by one, STANDBY or auto-enabled ENABLED."""
    await clean(summit, clock)
    assert not await alive(summit) & set(refs_in(summit, "obssys"))
    await summit.argocd.sync("obssys", prune=True)
    await summit.argocd.sync("envsys", prune=True)
    first = min(spread(ref + "/up", 20, 150) for ref in refs_in(summit, "obssys"))
    clock.advance(pulled("obssys") + first - EPSILON)
    assert not await alive(summit) & set(refs_in(summit, "obssys"))
    clock.advance(2 * EPSILON)
    assert len(await alive(summit) & set(refs_in(summit, "obssys"))) == 1
    clock.advance(400)
    states = await summit.efd.states()
    auto = set(site_of("summit").auto_enabled)
    for ref in [*refs_in(summit, "obssys"), *refs_in(summit, "envsys")]:
        assert states.cscs[ref].alive, ref
        want = SummaryState.ENABLED if ref in auto else SummaryState.STANDBY
        assert states.cscs[ref].summary_state is want, ref
    assert states.cscs["ScriptQueue:3"].summary_state is SummaryState.ENABLED
    assert states.cscs["Watcher:0"].summary_state is SummaryState.STANDBY
    assert states.cscs["HVAC:0"].summary_state is SummaryState.ENABLED
    assert states.cscs["ESS:101"].summary_state is SummaryState.STANDBY
    assert not states.cscs["ATDome:0"].alive
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert {d.namespace for d in plan} == {"obssys", "envsys"}
    assert len(plan) == 8 + 77


@pytest.mark.asyncio
async def test_sync_love_brings_it_back(summit: SimObservatory, clock: ManualClock) -> None:
    """LOVE is unreachable after the cleanup until its sync recreates the Deployments."""
    await clean(summit, clock)
    with pytest.raises(IntegrationError):
        await summit.love.ping()
    await summit.argocd.sync("love", prune=True)
    clock.advance(pulled("love") - EPSILON)
    with pytest.raises(IntegrationError):
        await summit.love.ping()
    clock.advance(2 * EPSILON)
    await summit.love.ping()
    plan = await summit.cluster.plan_cleanup("all", daemonsets=False)
    assert [d.name for d in plan if d.kind == "Deployment"] == list(LOVE_DEPLOYMENTS)


@pytest.mark.asyncio
async def test_app_degraded(summit: SimObservatory, clock: ManualClock) -> None:
    """A degraded app ends Degraded with the pod's message; its first CSC does not come back."""
    await summit.inject("app-degraded:auxtel")
    await clean(summit, clock)
    await summit.argocd.sync("auxtel", prune=True)
    clock.advance(settled("auxtel") + 200)
    status = await summit.argocd.status("auxtel")
    assert status == AppStatus(
        "auxtel", "Synced", "Degraded", "Succeeded",
        "Pod auxtel/ataos-7f9c4: back-off restarting failed container",
    )  # fmt: skip
    assert not status.done
    up = await alive(summit) & set(refs_in(summit, "auxtel"))
    assert set(refs_in(summit, "auxtel")) - up == {"ATAOS:0"}
    assert len(up) == 18


@pytest.mark.asyncio
async def test_csc_fault_comes_back_in_fault(summit: SimObservatory, clock: ManualClock) -> None:
    """A CSC with csc-fault comes back, beating, in FAULT."""
    await summit.inject("csc-fault:ATDome:0")
    await clean(summit, clock)
    await summit.argocd.sync("auxtel", prune=True)
    clock.advance(settled("auxtel") + 200)
    dome = await reading(summit, "ATDome:0")
    assert dome.alive
    assert dome.summary_state is SummaryState.FAULT
    assert (await summit.argocd.status("auxtel")).done


@pytest.mark.asyncio
async def test_second_sync_while_running(summit: SimObservatory, clock: ManualClock) -> None:
    """A sync while one runs is not started again (followed); once it ended another starts."""
    assert await summit.argocd.sync("envsys", prune=False)
    assert not await summit.argocd.sync("envsys", prune=False)
    clock.advance(pulled("envsys") + EPSILON)
    assert await summit.argocd.sync("envsys", prune=False)
    assert (await summit.argocd.status("envsys")).operation == "Running"


@pytest.mark.asyncio
async def test_terminate(summit: SimObservatory, clock: ManualClock) -> None:
    """Terminating a running sync fails its operation and drops what it would have done."""
    await clean(summit, clock)
    await summit.argocd.sync("auxtel", prune=True)
    clock.advance(30)
    await summit.argocd.terminate("auxtel")
    assert await summit.argocd.status("auxtel") == AppStatus(
        "auxtel", "OutOfSync", "Healthy", "Failed", "Operation terminated"
    )
    clock.advance(timedelta(hours=1).total_seconds())
    assert (await summit.argocd.status("auxtel")).operation == "Failed"
    assert not await alive(summit) & set(refs_in(summit, "auxtel"))
    assert summit.world.doc["jobs"]["auxtel"] == []


@pytest.mark.asyncio
async def test_cancel_terminates_running_syncs(summit: SimObservatory, clock: ManualClock) -> None:
    """cancel() terminates every sync this client started that still runs, and only those."""
    await clean(summit, clock)
    await summit.argocd.sync("sasquatch", prune=False)
    clock.advance(pulled("sasquatch") + EPSILON)
    await summit.argocd.sync("auxtel", prune=True)
    await summit.argocd.sync("love", prune=True)
    await summit.argocd.cancel()
    for app in ("auxtel", "love"):
        status = await summit.argocd.status(app)
        assert (status.operation, status.message) == ("Failed", "Operation terminated")
    assert (await summit.argocd.status("sasquatch")).operation == "Succeeded"
    clock.advance(3600)
    assert not await alive(summit) & set(refs_in(summit, "auxtel"))
    with pytest.raises(IntegrationError):
        await summit.love.ping()
    assert (await summit.argocd.status("sasquatch")).done


@pytest.mark.asyncio
async def test_pods_follow_the_sync(summit: SimObservatory, clock: ManualClock) -> None:
    """Before: the old release runs; pulling: ContainerCreating; then Running, not yet ready."""
    [before] = await summit.argocd.pods("nublado")
    assert (before.reason, before.containers, before.health) == ("Running", "1/1", "Healthy")
    await summit.argocd.sync("nublado", prune=False)
    clock.advance(30)
    [pulling] = await summit.argocd.pods("nublado")
    assert (pulling.reason, pulling.ready, pulling.pulling) == ("ContainerCreating", False, False)
    clock.advance(pulled("nublado") - 30 + EPSILON)
    [started] = await summit.argocd.pods("nublado")
    assert (started.reason, started.containers) == ("Running", "0/1")
    clock.advance(settled("nublado"))
    [ready] = await summit.argocd.pods("nublado")
    assert ready.ready


@pytest.mark.asyncio
async def test_slow_pull_backs_off_and_goes_on_after_a_terminate(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """slow-pull: 55 minutes of pulling, the pods backing off; the kubelet's pull goes on."""
    await summit.inject("slow-pull:love")
    await summit.argocd.sync("love", prune=False)
    clock.advance(15 * 60)
    pods = await summit.argocd.pods("love")
    assert [p.name.rsplit("-", 1)[0] for p in pods] == list(LOVE_DEPLOYMENTS)
    assert all(p.pulling and p.health == "Degraded" for p in pods)
    assert pods[0].message == 'Back-off pulling image "ts-dockerhub.lsst.org/love"'
    assert (await summit.argocd.status("love")).operation == "Running"
    await summit.argocd.terminate("love")
    clock.advance(10 * 60)
    await summit.argocd.sync("love", prune=False)  # a second sync: the same pull, not anew
    clock.advance(29 * 60)
    assert all(p.pulling for p in await summit.argocd.pods("love"))
    clock.advance(2 * 60)
    assert not any(p.pulling for p in await summit.argocd.pods("love"))
    clock.advance(settled("love"))
    assert (await summit.argocd.status("love")).done


@pytest.mark.asyncio
async def test_a_crash_looping_app_says_so_in_its_pods(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """app-degraded: each pod CrashLoopBackOff, Degraded, with the kubelet's message."""
    await summit.inject("app-degraded:auxtel")
    await summit.argocd.sync("auxtel", prune=False)
    clock.advance(settled("auxtel") + 200)
    pods = await summit.argocd.pods("auxtel")
    assert len(pods) == len(refs_in(summit, "auxtel"))
    assert {(p.reason, p.health) for p in pods} == {("CrashLoopBackOff", "Degraded")}
    assert pods[0].message == f"back-off 40s restarting failed container=csc pod={pods[0].name}"
