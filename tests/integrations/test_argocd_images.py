"""The images of an app at a revision: the real client against the fake Argo CD API server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from integrations.argocd import ArgoCDClient
from integrations.errors import IntegrationError
from integrations.images import AppImages, images_of, unique_images
from tests.support.fakes.argocd import IMAGE, TOKEN, FakeArgoCD, served, workload


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeArgoCD]:
    fake = FakeArgoCD()
    fake.add(
        "auxtel",
        manifests={
            "cycle-0041": [
                workload("Job", "atdome", [f"{IMAGE}/atdome:c0041"]),
                workload("Job", "atmcs", [f"{IMAGE}/atmcs:c0041"], init=(f"{IMAGE}/wait:1",)),
                workload("StatefulSet", "kafka", [f"{IMAGE}/kafka:3"]),
                workload("DaemonSet", "ospl", [f"{IMAGE}/atdome:c0041"]),  # already named
                workload("CronJob", "backup", [f"{IMAGE}/backup:2"]),
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}},
            ],
            "main": [workload("Job", "atdome", [f"{IMAGE}/atdome:c0040"])],
        },
    )
    fake.add("love")
    yield fake


@pytest_asyncio.fixture
async def client(fake: FakeArgoCD) -> AsyncIterator[ArgoCDClient]:
    async with served(fake) as client:
        yield client


@pytest.mark.asyncio
async def test_images_at_a_revision(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    found = await client.images("auxtel", "cycle-0041")
    assert found == AppImages(
        "auxtel",
        (
            f"{IMAGE}/atdome:c0041",
            f"{IMAGE}/wait:1",
            f"{IMAGE}/atmcs:c0041",
            f"{IMAGE}/kafka:3",
            f"{IMAGE}/backup:2",
        ),
    )
    call = fake.of("GET", "/manifests")[-1]
    assert call.path == "/argo-cd/api/v1/applications/auxtel/manifests"
    assert call.query == {"revision": "cycle-0041"}
    assert call.authorization == f"Bearer {TOKEN}"


@pytest.mark.asyncio
async def test_without_a_revision_the_target_revision(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    assert (await client.images("auxtel", None)).images == (f"{IMAGE}/atdome:c0040",)
    assert fake.of("GET", "/manifests")[-1].query == {}


@pytest.mark.asyncio
async def test_an_unknown_revision_is_the_servers_error(client: ArgoCDClient) -> None:
    with pytest.raises(IntegrationError, match="Unable to resolve 'cycle-9999'"):
        await client.images("auxtel", "cycle-9999")


@pytest.mark.asyncio
async def test_an_unknown_app_is_refused(client: ArgoCDClient) -> None:
    with pytest.raises(IntegrationError, match="permission denied"):
        await client.images("nosuchapp", "main")


@pytest.mark.asyncio
async def test_a_manifest_that_is_not_json_is_malformed(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    fake.misbehave(path="/manifests", status=200, body='{"manifests": ["{not json"]}')
    with pytest.raises(IntegrationError, match="malformed"):
        await client.images("love", "main")


@pytest.mark.asyncio
async def test_manifests_as_objects_are_read_too(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """The ``repeated Manifest`` shape (``compiledManifest``) of another proto version."""
    text = json.dumps(workload("Job", "atdome", [f"{IMAGE}/atdome:c0041"]))
    body = json.dumps({"manifests": [{"compiledManifest": text, "path": "x.yaml"}]})
    fake.misbehave(path="/manifests", status=200, body=body)
    assert (await client.images("love", "main")).images == (f"{IMAGE}/atdome:c0041",)


def test_images_of_reads_every_pod_template_once() -> None:
    bare_pod: dict[str, Any] = {
        "kind": "Pod",
        "spec": {"containers": [{"name": "a", "image": "x:1"}]},
    }
    odd: list[dict[str, Any]] = [
        {"kind": "Deployment", "spec": None},
        {"kind": "Job", "spec": {"template": 3}},
    ]
    manifests = [bare_pod, *odd, workload("Deployment", "d", ["x:1", "y:2"])]
    assert images_of(manifests) == ("x:1", "y:2")
    apps = [AppImages("a", ("x:1", "y:2")), AppImages("b", ("y:2", "z:3"))]
    assert unique_images(apps) == ("x:1", "y:2", "z:3")
