"""The pre-pull DaemonSet through the official client, against the fake API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from integrations.errors import IntegrationError
from integrations.kube import Failure, KubeCluster, Prepull, container_name, daemonset
from tests.support.fakes.kube import LABEL, READ_ONLY_TOKEN, TOKEN, FakeKube

NS = "upgrade-bot"
A, B, C = (f"ts-dockerhub.lsst.org/{n}:c0041" for n in ("atdome", "atmcs", "love-manager"))
SPEC = Prepull(
    namespace=NS,
    name="prepull",
    run="summit-20260310-030000",
    images=(A, B, C),
    pause_image="registry.k8s.io/pause:3.10",
    noop_image="docker.io/library/busybox:1.37",
)


@pytest.fixture
def fake() -> FakeKube:
    fake = FakeKube()
    fake.add_namespace(NS)
    return fake


@pytest_asyncio.fixture
async def cluster(fake: FakeKube) -> AsyncIterator[KubeCluster]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    settings: dict[str, Any] = {"identity_label": LABEL, "timeout": 2.0, "connect_timeout": 1.0}
    cluster = KubeCluster(
        api_url=f"http://127.0.0.1:{server.port}",
        cluster="yagan",
        token=SecretStr(TOKEN),
        **settings,
    )
    yield cluster
    await cluster.aclose()
    fake.release()
    await server.close()


@pytest.mark.asyncio
async def test_the_daemonset_is_created_followed_and_removed(
    cluster: KubeCluster, fake: FakeKube
) -> None:
    fake.daemons.pulls = {C: "pulling"}
    await cluster.start_prepull(SPEC)
    created = fake.objects["daemonsets"][NS, "prepull"]
    pod = created["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["initContainers"]][1:] == [A, B, C]
    assert pod["initContainers"][1]["command"] == ["/prepull/busybox", "true"]
    assert pod["containers"][0]["image"] == "registry.k8s.io/pause:3.10"
    post = next(c for c in fake.calls if c.method == "POST")
    assert post.path == f"/apis/apps/v1/namespaces/{NS}/daemonsets"

    state = await cluster.prepull_state(NS, "prepull")
    assert state.exists
    assert state.desired == 3
    assert [n.node for n in state.nodes] == ["yagan01", "yagan02", "yagan03"]
    assert all(n.pulled == (A, B) and not n.done for n in state.nodes)
    assert not state.done

    fake.daemons.pulls = {}
    state = await cluster.prepull_state(NS, "prepull")
    assert state.done
    assert all(n.pulled == (A, B, C) for n in state.nodes)

    await cluster.stop_prepull(NS, "prepull")
    assert fake.names("daemonsets", NS) == []
    assert fake.names("pods", NS) == []  # the garbage collector took the pods
    assert not (await cluster.prepull_state(NS, "prepull")).exists
    await cluster.stop_prepull(NS, "prepull")  # already gone: fine


@pytest.mark.asyncio
async def test_a_failing_image_is_named_and_a_replace_leaves_it_out(
    cluster: KubeCluster, fake: FakeKube
) -> None:
    fake.daemons.node_pulls = {"yagan02": {B: "ImagePullBackOff"}}
    await cluster.start_prepull(SPEC)
    state = await cluster.prepull_state(NS, "prepull")
    assert state.failures() == {B: Failure(B, "ImagePullBackOff", f'Back-off pulling image "{B}"')}
    stuck = next(n for n in state.nodes if n.node == "yagan02")
    assert stuck.pulled == (A,)  # C waits behind B: init containers run in order

    await cluster.start_prepull(replace(SPEC, images=(A, C)))  # same name
    assert any(c.method == "PUT" for c in fake.calls)
    state = await cluster.prepull_state(NS, "prepull")
    assert state.done
    assert state.failures() == {}


@pytest.mark.asyncio
async def test_the_rights_are_asked_of_the_server(cluster: KubeCluster, fake: FakeKube) -> None:
    assert await cluster.prepull_rights(NS) == []
    fake.daemons.denied = {("delete", "daemonsets"), ("list", "pods")}
    assert await cluster.prepull_rights(NS) == ["delete daemonsets.apps", "list pods"]
    review = next(c for c in fake.calls if c.path.endswith("selfsubjectaccessreviews"))
    assert review.body is not None
    assert review.body["spec"]["resourceAttributes"]["namespace"] == NS


@pytest.mark.asyncio
async def test_a_read_only_account_cannot_create(fake: FakeKube) -> None:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    cluster = KubeCluster(
        api_url=f"http://127.0.0.1:{server.port}",
        cluster="yagan",
        token=SecretStr(READ_ONLY_TOKEN),
        timeout=2.0,
    )
    try:
        assert "create daemonsets.apps" in await cluster.prepull_rights(NS)
        with pytest.raises(IntegrationError, match="forbidden"):
            await cluster.start_prepull(SPEC)
    finally:
        await cluster.aclose()
        await server.close()


def test_the_manifest_is_valid_for_any_image_name() -> None:
    long = "registry.example/" + "x" * 80 + "@sha256:" + "0" * 64
    body = daemonset(replace(SPEC, images=(long, "Weird_Name:1")))
    names = [c["name"] for c in body["spec"]["template"]["spec"]["initContainers"]]
    assert all(len(n) <= 63 and n == n.lower() for n in names)
    assert names[2] == "pull-02-weird-name"
    assert container_name(1, "atdome") == "pull-01-atdome"
    selector = body["spec"]["selector"]["matchLabels"]
    assert selector.items() <= body["spec"]["template"]["metadata"]["labels"].items()
