"""Patience with image pulls, through the real ArgoCD client and the fake's resource tree.

The pods are read from ``GET .../resource-tree`` in the real ``ApplicationTree`` shape (nodes
with ``info`` items as ``populatePodInfo`` fills them); an app Degraded only because its pod
backs off an image pull is waited for, one crash-looping fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.engine.runners import argocd as runner
from integrations.argocd import ArgoCDClient, Pod
from state.actions import ArgocdSync
from tests.integrations.test_argocd_client import step
from tests.support.fakes.argocd import FakeArgoCD, served

LOVE = ArgocdSync.model_validate({"type": "argocd.sync", "apps": ["love"], "expected": "45m"})


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeArgoCD]:
    fake = FakeArgoCD(run_seconds=0.05, settle_seconds=0.05)
    fake.add("love")
    fake.add("auxtel")
    yield fake


@pytest_asyncio.fixture
async def client(fake: FakeArgoCD) -> AsyncIterator[ArgoCDClient]:
    async with served(fake) as client:
        yield client


async def until_pod(client: ArgoCDClient, app: str, reason: str) -> list[Pod]:
    """Read the app's pods until one reports ``reason`` (a hang guard of 30 s)."""
    async with asyncio.timeout(30):
        while True:
            pods = await client.pods(app)
            if any(pod.reason == reason for pod in pods):
                return pods
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_pods_come_from_the_resource_tree(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """Each pod node: its Status Reason, Containers and health, read from the real shape."""
    [pod] = await client.pods("love")
    assert pod == Pod("love", "love-7f9c4d-x2x9z", "Running", "1/1", "Healthy", "")
    assert pod.ready
    assert not pod.pulling
    assert fake.of("GET", "/applications/love/resource-tree")


@pytest.mark.asyncio
async def test_a_pod_waiting_on_its_image_says_so(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """ContainerCreating first, then ImagePullBackOff with the kubelet's message (Degraded)."""
    fake.apps["love"].pull_seconds = 1.0
    await client.sync("love", prune=False)
    [creating] = await until_pod(client, "love", "ContainerCreating")
    assert (creating.health, creating.containers, creating.pulling) == ("Progressing", "0/1", False)
    [backing_off] = await until_pod(client, "love", "ImagePullBackOff")
    assert backing_off.pulling
    assert backing_off.health == "Degraded"
    assert backing_off.line() == (
        "Pod love/love-7f9c4d-x2x9z: ImagePullBackOff (0/1) "
        'Back-off pulling image "ts-dockerhub.lsst.org/love:c0040"'
    )
    status = await client.status("love")
    assert (status.operation, status.health) == ("Succeeded", "Degraded")
    assert "Back-off pulling image" in status.message


@pytest.mark.asyncio
async def test_a_sync_waiting_on_pulls_is_waited_for_not_failed(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """Degraded by a pull backing off: the runner keeps following, says so, and succeeds."""
    fake.apps["love"].pull_seconds = 0.6
    ctx = step(client)
    said: list[set[str]] = []
    progress = runner.Progress(total=1)

    async def say() -> None:
        said.append(set(progress.pulling))

    assert await runner._sync_one(ctx, "love", LOVE, progress, say) is None
    assert said == [{"love"}, set()]  # waiting on image pulls, then no more
    assert fake.of("GET", "/resource-tree")
    assert fake.of("DELETE") == []  # never terminated


@pytest.mark.asyncio
async def test_a_crash_looping_app_still_fails(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """Back-off restarting a container is no pull: the app is named Degraded, with its pod."""
    fake.apps["love"].degrade = True

    async def say() -> None:
        pass

    problem = await runner._sync_one(step(client), "love", LOVE, runner.Progress(total=1), say)
    assert problem is not None
    assert problem.startswith("love: Degraded (Pod love/love-7f9c4d-x2x9z: back-off 40s")


@pytest.mark.asyncio
async def test_live_state_names_the_pods_not_ready(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """What the lead sees of an overdue sync: each app, and the pods of those not done."""
    fake.apps["love"].pull_seconds = 2.0
    await client.sync("love", prune=False)
    await until_pod(client, "love", "ImagePullBackOff")
    project = ArgocdSync.model_validate(
        {"type": "argocd.sync", "project": "telescope", "first": ["love"], "expected": "45m"}
    )
    text = await runner.live(step(client), project)
    lines = text.splitlines()
    assert lines[0] == "Now in ArgoCD:"
    assert lines[1].startswith("love: Synced, Degraded, operation Succeeded: Pod love/")
    assert lines[2] == (
        "  Pod love/love-7f9c4d-x2x9z: ImagePullBackOff (0/1) "
        'Back-off pulling image "ts-dockerhub.lsst.org/love:c0040"'
    )
    assert lines[3] == "auxtel: OutOfSync, Healthy"  # its old release runs: its pods are fine
    assert len(lines) == 4


class PullEndsBetweenReads:
    """The real client, whose pods are read only once the pull is over: the race, every time.

    The runner reads an app's status (Degraded: its pod backs off the pull), then its pods;
    a pull that ends between the two leaves no pod backing off, and the app is no longer
    Degraded either.
    """

    def __init__(self, client: ArgoCDClient) -> None:
        self.client = client

    async def sync(self, app: str, *, prune: bool) -> bool:
        """Sync, as the client does."""
        return await self.client.sync(app, prune=prune)

    async def status(self, app: str) -> object:
        """The status, as the client reads it."""
        return await self.client.status(app)

    async def pods(self, app: str) -> list[Pod]:
        """The pods, once none backs off its pull (polled: the fake's clock is its own)."""
        async with asyncio.timeout(30):  # a hang guard
            pods = await self.client.pods(app)
            while any(pod.pulling for pod in pods):
                await asyncio.sleep(0.01)  # the fake's time passing
                pods = await self.client.pods(app)
        return pods


@pytest.mark.asyncio
async def test_a_pull_that_ends_between_two_reads_is_no_failure(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """The pull over between the status read and the pods read: the app is not failed.

    The runner reads the status again (no longer Degraded) and goes on following the app.
    """
    fake.apps["love"].pull_seconds = 0.6
    racy = PullEndsBetweenReads(client)

    async def say() -> None:
        pass

    ctx = step(racy)  # type: ignore[arg-type]  # the client, its pods read late
    assert await runner._sync_one(ctx, "love", LOVE, runner.Progress(total=1), say) is None
