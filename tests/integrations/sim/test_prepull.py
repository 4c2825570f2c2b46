"""The simulated pre-pull: the nodes' image caches, and an app starting sooner from them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from integrations.kube import Prepull
from integrations.sim import SimObservatory
from integrations.sim.images import CACHED, NODES, THROUGHPUT, pull_seconds
from tests.integrations.sim.conftest import Build, ManualClock

EPSILON = 0.01
NS, NAME = "upgrade-bot", "upgrade-bot-prepull"


async def spec_for(summit: SimObservatory, apps: list[str]) -> Prepull:
    """A pre-pull of these apps' images, in that order."""
    images: list[str] = []
    for app in apps:
        images += (await summit.argocd.images(app, "tickets/DM-48000")).images
    return Prepull(NS, NAME, "run-1", tuple(images), "pause:3.10", "busybox:1.37")


@pytest.mark.asyncio
async def test_images_are_the_apps_cscs_at_the_release(summit: SimObservatory) -> None:
    found = await summit.argocd.images("auxtel", None)
    assert found.app == "auxtel"
    assert "ts-dockerhub.lsst.org/atdome:c0040" in found.images
    assert len(found.images) == len(set(found.images))
    love = await summit.argocd.images("love", None)
    assert "ts-dockerhub.lsst.org/love-nginx:c0040" in love.images


@pytest.mark.asyncio
async def test_the_nodes_pull_one_image_after_another(
    summit: SimObservatory, clock: ManualClock
) -> None:
    spec = await spec_for(summit, ["love", "obssys"])
    await summit.cluster.start_prepull(spec)
    state = await summit.cluster.prepull_state(NS, NAME)
    assert state.exists
    assert state.desired == NODES
    assert all(node.pulled == () for node in state.nodes)
    clock.advance(pull_seconds("love") + EPSILON)  # love's images, then obssys's
    state = await summit.cluster.prepull_state(NS, NAME)
    assert state.nodes[0].pulled == spec.images[:7]
    assert not state.done
    clock.advance(pull_seconds("obssys"))
    assert (await summit.cluster.prepull_state(NS, NAME)).done
    await summit.cluster.stop_prepull(NS, NAME)
    assert not (await summit.cluster.prepull_state(NS, NAME)).exists


@pytest.mark.asyncio
async def test_a_cached_app_starts_sooner(build: Build, clock: ManualClock) -> None:
    """Same sync, same model: with the images on the nodes the pull is gone (CACHED left)."""
    cold, warm = build("summit"), build("summit")
    spec = await spec_for(warm, ["calsys"])
    await warm.cluster.start_prepull(spec)
    clock.advance(pull_seconds("calsys") + EPSILON)
    await warm.cluster.stop_prepull(NS, NAME)  # the caches stay
    await cold.argocd.sync("calsys", prune=True)
    await warm.argocd.sync("calsys", prune=True)
    clock.advance(CACHED + EPSILON)
    assert (await warm.argocd.status("calsys")).operation == "Succeeded"
    assert (await cold.argocd.status("calsys")).operation == "Running"
    clock.advance(pull_seconds("calsys"))
    assert (await cold.argocd.status("calsys")).operation == "Succeeded"


@pytest.mark.asyncio
async def test_a_sync_waits_behind_the_current_pre_pulled_image(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """The kubelet ends the pre-pull's current pull first: the cost is stated, not hidden."""
    spec = await spec_for(summit, ["obssys", "uws"])
    await summit.cluster.start_prepull(spec)
    await summit.argocd.sync("uws", prune=True)  # obssys is being pulled, uws waits behind it
    clock.advance(pull_seconds("uws") + EPSILON)
    assert (await summit.argocd.status("uws")).operation == "Running"
    clock.advance(pull_seconds("obssys") + EPSILON)
    assert (await summit.argocd.status("uws")).operation == "Succeeded"


@pytest.mark.asyncio
async def test_a_failing_image_holds_the_rest_until_replaced(
    summit: SimObservatory, clock: ManualClock
) -> None:
    await summit.inject("prepull-fail:obssys")
    spec = await spec_for(summit, ["obssys", "uws"])
    await summit.cluster.start_prepull(spec)
    clock.advance(60)
    state = await summit.cluster.prepull_state(NS, NAME)
    assert set(state.failures()) == {spec.images[0]}
    clock.advance(3600)
    assert not (await summit.cluster.prepull_state(NS, NAME)).done  # held by the failing one
    await summit.cluster.start_prepull(replace(spec, images=spec.images[1:]))
    clock.advance(pull_seconds("obssys") + pull_seconds("uws"))
    state = await summit.cluster.prepull_state(NS, NAME)
    assert state.done
    assert state.failures() == {}


def test_the_model_keeps_the_old_pull_times() -> None:
    """1.5 to 4 minutes per application, from 1.2 to 3.1 GB at 13 MB/s."""
    assert 90 <= pull_seconds("auxtel") <= 240
    assert pytest.approx(1.17) == 90 * THROUGHPUT / 1000
