"""The real Kubernetes client (official package) against a fake API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.engine.runners import kube as runner
from bot.engine.runners.context import StepContext
from integrations.errors import IntegrationError, IntegrationTimeout
from integrations.kube import (
    JOB_NAMESPACES,
    NUBLADO_SELECTOR,
    OCPS_SELECTOR,
    PROPAGATION,
    Deletion,
    KubeCluster,
)
from state.actions import KubeCleanup
from tests.support.fakes.kube import LABEL, READ_ONLY_TOKEN, TOKEN, FakeKube

Make = Callable[..., KubeCluster]


def populate(fake: FakeKube) -> None:
    """A summit-like cluster: CSC Jobs, OCPS and other UWS Jobs, LOVE, producers, Nublado."""
    for ns, jobs in {
        "auxtel": ["atdome", "atmcs", "atptg"],
        "maintel": ["mtmount"],
        "simonyitel": ["mtdome", "mtm1m3"],
        "obssys": ["scheduler-1", "watcher"],
        "control-system-test": ["test-42"],
    }.items():
        for job in jobs:
            fake.add_job(ns, job, pods=2)
    for csc in ("atocps", "ccocps", "raocps"):
        fake.add_job("uws", f"{csc}-job", labels={"csc": csc})
    fake.add_job("uws", "uws-job-ab12", labels={"type": "uws-job"})  # a user's job: stays
    fake.add("deployments", "uws", "uws-server")  # stays
    fake.add("deployments", "love", "love-manager")
    fake.add("deployments", "love", "love-nginx")
    fake.add_job("love", "love-commander")
    fake.add("horizontalpodautoscalers", "love", "love-manager-frontend")
    fake.add("deployments", "kafka-producers", "kafka-producer-auxtel")
    fake.add("daemonsets", "ospl-daemon", "ospl-daemon")
    fake.add_job("sasquatch", "telegraf-backfill")  # not the cleanup's
    fake.add_namespace("nb-alice", {"argocd.argoproj.io/instance": "nublado-users"})
    fake.add_namespace("nb-bob", {"argocd.argoproj.io/instance": "nublado-users"})
    fake.add_namespace("nublado", {"argocd.argoproj.io/instance": "nublado"})  # stays


ALL = [
    Deletion("Job", "atdome", "auxtel"),
    Deletion("Job", "atmcs", "auxtel"),
    Deletion("Job", "atptg", "auxtel"),
    Deletion("Job", "test-42", "control-system-test"),
    Deletion("Deployment", "love-manager", "love"),
    Deletion("Deployment", "love-nginx", "love"),
    Deletion("Job", "love-commander", "love"),
    Deletion("HorizontalPodAutoscaler", "love-manager-frontend", "love"),
    Deletion("Job", "mtmount", "maintel"),
    Deletion("Job", "mtdome", "simonyitel"),
    Deletion("Job", "mtm1m3", "simonyitel"),
    Deletion("Job", "atocps-job", "uws"),
    Deletion("Job", "ccocps-job", "uws"),
    Deletion("Job", "raocps-job", "uws"),
    Deletion("Job", "scheduler-1", "obssys"),
    Deletion("Job", "watcher", "obssys"),
    Deletion("Deployment", "kafka-producer-auxtel", "kafka-producers"),
]
"""What ``cleanup_all`` deletes in the populated cluster, in the script's namespace order."""


class Reports:
    """A progress callback that keeps the lines."""

    def __init__(self) -> None:
        """No lines yet."""
        self.lines: list[str] = []

    async def __call__(self, text: str) -> None:
        """Keep the line."""
        self.lines.append(text)


@pytest.fixture
def fake() -> FakeKube:
    return FakeKube()


@pytest_asyncio.fixture
async def url(fake: FakeKube) -> AsyncIterator[str]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    fake.release()
    await server.close()


@pytest_asyncio.fixture
async def make(url: str) -> AsyncIterator[Make]:
    made: list[KubeCluster] = []

    def build(**kwargs: Any) -> KubeCluster:
        settings: dict[str, Any] = {
            "api_url": url,
            "cluster": "yagan",
            "token": SecretStr(TOKEN),
            "identity_label": LABEL,
            "timeout": 2.0,
            "connect_timeout": 1.0,
        }
        cluster = KubeCluster(**(settings | kwargs))
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        await cluster.aclose()


def kubeconfig(path: Path, server: str, token: str) -> Path:
    """A kubeconfig with one context (named like the summit's, which proves nothing)."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: yagan
  cluster:
    server: {server}
users:
- name: upgrade-bot
  user:
    token: {token}
contexts:
- name: yagan
  context:
    cluster: yagan
    user: upgrade-bot
current-context: yagan
"""
    )
    return path


# -- the plan ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_plan_all_is_cleanup_all(fake: FakeKube, make: Make) -> None:
    """cleanup_all: every Job in the CSC namespaces, OCPS only in uws, LOVE's three, producers."""
    populate(fake)
    assert await make().plan_cleanup("all", daemonsets=False) == ALL


@pytest.mark.asyncio
async def test_plan_uws_asks_for_ocps_jobs_only(fake: FakeKube, make: Make) -> None:
    """The uws Jobs are listed with the script's selector, and the user's UWS job stays out."""
    populate(fake)
    plan = await make().plan_cleanup("all", daemonsets=False)
    assert [d.name for d in plan if d.namespace == "uws"] == [
        "atocps-job",
        "ccocps-job",
        "raocps-job",
    ]
    uws = [c for c in fake.calls if c.path == "/apis/batch/v1/namespaces/uws/jobs"]
    assert [c.query.get("labelSelector") for c in uws] == [OCPS_SELECTOR]
    others = [c for c in fake.calls if c.path.endswith("/jobs") and "/uws/" not in c.path]
    assert others
    assert all("labelSelector" not in c.query for c in others)


@pytest.mark.asyncio
async def test_plan_daemonsets_only_when_asked(fake: FakeKube, make: Make) -> None:
    """The ospl-daemon DaemonSets are in the plan with -d only."""
    populate(fake)
    cluster = make()
    assert await cluster.plan_cleanup("all", daemonsets=False) == ALL
    assert not any("daemonsets" in c.path for c in fake.calls)
    assert await cluster.plan_cleanup("all", daemonsets=True) == [
        *ALL,
        Deletion("DaemonSet", "ospl-daemon", "ospl-daemon"),
    ]


@pytest.mark.asyncio
async def test_plan_missing_namespaces_are_harmless(fake: FakeKube, make: Make) -> None:
    """An empty cluster: every namespace is asked about, none exists, the plan is empty."""
    assert await make().plan_cleanup("all", daemonsets=True) == []
    asked = {c.path.split("/")[5] for c in fake.calls if c.path.startswith("/apis/")}
    assert asked == {*JOB_NAMESPACES, "love", "uws", "kafka-producers", "ospl-daemon"}
    assert "eas" not in fake.namespaces


@pytest.mark.asyncio
async def test_plan_nublado_user_namespaces(fake: FakeKube, make: Make) -> None:
    """cleanup_nublado: the namespaces labelled nublado-users, not Nublado's own."""
    populate(fake)
    plan = await make().plan_cleanup("nublado", daemonsets=False)
    assert plan == [Deletion("Namespace", "nb-alice"), Deletion("Namespace", "nb-bob")]
    (call,) = [c for c in fake.calls if c.path == "/api/v1/namespaces"]
    assert call.query["labelSelector"] == NUBLADO_SELECTOR


@pytest.mark.asyncio
async def test_plan_leaves_out_terminating_namespaces(fake: FakeKube, make: Make) -> None:
    """A Namespace already Terminating is going: not planned again; deleting it again is fine."""
    populate(fake)
    fake.keep_terminating = True
    cluster = make()
    await cluster.delete([Deletion("Namespace", "nb-alice")], Reports())
    assert fake.namespaces["nb-alice"]["status"]["phase"] == "Terminating"
    assert await cluster.plan_cleanup("nublado", daemonsets=False) == [
        Deletion("Namespace", "nb-bob")
    ]
    await cluster.delete([Deletion("Namespace", "nb-alice")], Reports())  # 409: already going
    assert [c.path for c in fake.deletes()] == ["/api/v1/namespaces/nb-alice"] * 2


# -- deleting ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_delete_takes_the_pods_along(fake: FakeKube, make: Make) -> None:
    """Every Job goes with its pods (Background propagation), the rest of the cluster stays."""
    populate(fake)
    cluster = make()
    plan = await cluster.plan_cleanup("all", daemonsets=False)
    assert fake.pods_of("auxtel", "atdome") == ["atdome-00000", "atdome-00001"]
    await cluster.delete(plan, Reports())
    for d in plan:
        if d.kind == "Job":
            assert d.namespace is not None
            assert fake.pods_of(d.namespace, d.name) == []
            assert d.name not in fake.names("jobs", d.namespace)
    assert {c.policy for c in fake.deletes()} == {PROPAGATION}
    assert all(c.body == {"propagationPolicy": "Background"} for c in fake.deletes())
    assert fake.names("jobs", "uws") == ["uws-job-ab12"]
    assert fake.pods_of("uws", "uws-job-ab12") == ["uws-job-ab12-00000"]
    assert fake.names("deployments", "uws") == ["uws-server"]
    assert fake.names("daemonsets", "ospl-daemon") == ["ospl-daemon"]
    assert fake.names("jobs", "sasquatch") == ["telegraf-backfill"]
    assert await cluster.plan_cleanup("all", daemonsets=False) == []


@pytest.mark.asyncio
async def test_fake_orphans_pods_without_a_policy(fake: FakeKube, url: str) -> None:
    """The fake is faithful: a bare DELETE of a batch/v1 Job leaves its pods running."""
    fake.add_job("maintel", "mtmount", pods=2)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        path = f"{url}/apis/batch/v1/namespaces/maintel/jobs/mtmount"
        async with session.delete(path, headers=headers) as response:
            assert response.status == 200
            job = await response.json()
        async with session.get(f"{url}/api/v1/namespaces/maintel/pods", headers=headers) as r:
            pods = await r.json()
    assert job["metadata"]["finalizers"] == ["orphan"]
    assert fake.names("jobs", "maintel") == []
    assert [p["metadata"]["name"] for p in pods["items"]] == ["mtmount-00000", "mtmount-00001"]
    assert pods["kind"] == "PodList"
    assert all(not p["metadata"]["ownerReferences"] for p in pods["items"])


@pytest.mark.asyncio
@pytest.mark.parametrize("parallel", [8, 3])
async def test_delete_in_parallel_within_the_bound(
    fake: FakeKube, make: Make, parallel: int
) -> None:
    """Deletions overlap, never more than the bound at once (as the fake saw them)."""
    for n in range(20):
        fake.add_job("envsys", f"ess-{n:03d}")
    fake.delete_delay = 0.05
    cluster = make(parallel=parallel)
    plan = await cluster.plan_cleanup("all", daemonsets=False)
    await cluster.delete(plan, Reports())
    assert fake.max_in_flight == parallel
    assert len(fake.deletes()) == 20
    assert fake.names("jobs", "envsys") == []


@pytest.mark.asyncio
async def test_delete_reports_progress(fake: FakeKube, make: Make) -> None:
    """Progress every tenth deletion and at the end, as "n/N deleted"."""
    for n in range(25):
        fake.add_job("envsys", f"ess-{n:03d}")
    cluster = make()
    reports = Reports()
    await cluster.delete(await cluster.plan_cleanup("all", daemonsets=False), reports)
    assert [line.split(" (")[0] for line in reports.lines] == [
        "10/25 deleted",
        "20/25 deleted",
        "25/25 deleted",
    ]
    assert reports.lines[-1].endswith("(Job envsys/" + reports.lines[-1].split("/")[-1])


@pytest.mark.asyncio
async def test_delete_objects_already_gone(fake: FakeKube, make: Make) -> None:
    """A 404 (someone deleted it since the preview) counts as deleted."""
    populate(fake)
    cluster = make()
    plan = await cluster.plan_cleanup("all", daemonsets=False)
    del fake.objects["jobs"]["auxtel", "atdome"]
    del fake.objects["deployments"]["love", "love-nginx"]
    del fake.namespaces["nb-bob"]
    reports = Reports()
    await cluster.delete([*plan, Deletion("Namespace", "nb-bob")], reports)
    assert reports.lines[-1].startswith("18/18 deleted")
    assert len(fake.deletes()) == 18


@pytest.mark.asyncio
async def test_cancel_stops_further_deletions(fake: FakeKube, make: Make) -> None:
    """After cancel() no new DELETE is sent; those in flight finish; it says how far it got."""
    for n in range(10):
        fake.add_job("envsys", f"ess-{n:03d}")
    fake.delete_delay = 0.3
    cluster = make(parallel=2)
    plan = await cluster.plan_cleanup("all", daemonsets=False)
    task = asyncio.create_task(cluster.delete(plan, Reports()))
    while len(fake.deletes()) < 2:  # noqa: ASYNC110  # the fake's state, polled
        await asyncio.sleep(0.01)
    await cluster.cancel()
    with pytest.raises(IntegrationError, match=r"cancelled after 2/10 deleted"):
        await task
    assert len(fake.deletes()) == 2
    assert len(fake.names("jobs", "envsys")) == 8
    await cluster.cancel()  # nothing running: harmless, and the next delete is not poisoned
    fake.delete_delay = 0
    await cluster.delete(await cluster.plan_cleanup("all", daemonsets=False), Reports())
    assert fake.names("jobs", "envsys") == []


@pytest.mark.asyncio
async def test_a_failure_stops_the_deletions(fake: FakeKube, make: Make) -> None:
    """A 403 on the first deletion stops the rest and names the object and the code."""
    populate(fake)
    cluster = make(token=SecretStr(READ_ONLY_TOKEN), parallel=1)
    plan = await cluster.plan_cleanup("all", daemonsets=False)
    with pytest.raises(IntegrationError) as caught:
        await cluster.delete(plan, Reports())
    assert caught.value.status == 403
    assert "Job auxtel/atdome" in caught.value.message
    assert "stopped after 0/17 deleted" in caught.value.message
    assert "cannot delete" in (caught.value.detail or "")
    assert len(fake.deletes()) == 1


# -- identity ---------------------------------------------------------------------------------


def _ctx(cluster: KubeCluster) -> StepContext:
    site = SimpleNamespace(name="summit", cluster="yagan")
    return cast("StepContext", SimpleNamespace(systems=SimpleNamespace(cluster=cluster), site=site))


ACTION = KubeCleanup.model_validate({"type": "kube.cleanup", "scope": "all", "timeout": "10m"})


@pytest.mark.asyncio
async def test_identity_is_the_cluster_s_own_label(fake: FakeKube, make: Make) -> None:
    """The kube-system label names the cluster; the runner previews on the right one."""
    populate(fake)
    cluster = make()
    assert await cluster.identity() == "yagan"
    assert fake.calls[0].path == "/api/v1/namespaces/kube-system"
    assert "will delete 3 Deployment, 1 HorizontalPodAutoscaler, 13 Job" in await runner.preview(
        _ctx(cluster), ACTION
    )


@pytest.mark.asyncio
async def test_another_cluster_is_refused(url: str, make: Make) -> None:
    """The server says it is pillan: identity differs, the runner refuses and deletes nothing."""
    pillan = FakeKube(name="pillan")
    populate(pillan)
    server = TestServer(pillan.app(), host="127.0.0.1")
    await server.start_server()
    try:
        cluster = make(api_url=f"http://127.0.0.1:{server.port}")
        assert await cluster.identity() == "pillan"
        with pytest.raises(IntegrationError, match=r"refusing to clean up.*'pillan'"):
            await runner.cleanup(_ctx(cluster), ACTION)
        assert pillan.deletes() == []
        assert [c.path for c in pillan.calls] == ["/api/v1/namespaces/kube-system"] * 2
    finally:
        await server.close()
    assert url  # the summit's fake was never asked


@pytest.mark.asyncio
async def test_identity_unlabelled_cluster(make: Make) -> None:
    """No label on kube-system: not the site's cluster, whatever the configuration says."""
    found = await make(identity_label="example.org/other").identity()
    assert found.startswith("unlabelled cluster")
    assert found != "yagan"


@pytest.mark.asyncio
async def test_identity_by_kube_system_uid(fake: FakeKube, make: Make) -> None:
    """With a recorded uid: the same uid is the cluster, another uid is not."""
    uid = fake.namespaces["kube-system"]["metadata"]["uid"]
    assert await make(identity_label=None, cluster_uid=uid).identity() == "yagan"
    other = await make(identity_label=None, cluster_uid="0000-not-it").identity()
    assert other.startswith("unknown cluster")
    assert uid in other


@pytest.mark.asyncio
async def test_kubeconfig_for_the_configured_server(
    fake: FakeKube, url: str, make: Make, tmp_path: Path
) -> None:
    """A kubeconfig for the configured server: its token is used, identity holds."""
    populate(fake)
    config = kubeconfig(tmp_path / "config", url, TOKEN)
    cluster = make(token=None, kubeconfig=config)
    assert await cluster.identity() == "yagan"
    assert await cluster.plan_cleanup("all", daemonsets=False) == ALL
    assert {c.authorization for c in fake.calls} == {f"Bearer {TOKEN}"}


@pytest.mark.asyncio
async def test_kubeconfig_for_another_server(
    fake: FakeKube, url: str, make: Make, tmp_path: Path
) -> None:
    """A kubeconfig (context "yagan") pointing elsewhere: identity says so, nothing is sent."""
    config = kubeconfig(tmp_path / "config", url, TOKEN)
    cluster = make(api_url="http://127.0.0.1:1", token=None, kubeconfig=config)
    found = await cluster.identity()
    assert found.startswith("unverified (the kubeconfig points at")
    with pytest.raises(IntegrationError, match="refusing to call"):
        await cluster.plan_cleanup("all", daemonsets=False)
    with pytest.raises(IntegrationError, match="refusing to call"):
        await cluster.delete([Deletion("Job", "mtmount", "maintel")], Reports())
    assert fake.calls == []


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ping(fake: FakeKube, make: Make) -> None:
    """ping: GET /version, then a one-item authenticated list."""
    await make().ping()
    assert [(c.path, c.query) for c in fake.calls] == [
        ("/version/", {}),
        ("/api/v1/namespaces", {"limit": "1"}),
    ]


@pytest.mark.asyncio
async def test_bad_token_is_401(fake: FakeKube, make: Make) -> None:
    """A token the server does not know: IntegrationError with 401, the token nowhere in it."""
    secret = "not-the-token-0123456789"  # noqa: S105  # a test value
    with pytest.raises(IntegrationError) as caught:
        await make(token=SecretStr(secret)).ping()
    assert caught.value.status == 401
    assert caught.value.host is not None
    assert caught.value.host.startswith("127.0.0.1:")
    assert "Unauthorized" in str(caught.value)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.__dict__)
    assert fake.calls[0].authorization == f"Bearer {secret}"


@pytest.mark.asyncio
async def test_slow_server_times_out(fake: FakeKube, make: Make) -> None:
    """No answer in time: IntegrationTimeout; a GET is tried twice, quickly."""
    fake.delay = 30.0
    started = time.monotonic()
    with pytest.raises(IntegrationTimeout, match=r"no answer within 0\.2 s"):
        await make(timeout=0.2).ping()
    assert time.monotonic() - started < 20  # gave up: did not wait out the server's 30 s
    assert [c.path for c in fake.calls] == ["/version/", "/version/"]


@pytest.mark.asyncio
async def test_slow_delete_times_out_and_is_not_resent(fake: FakeKube, make: Make) -> None:
    """A DELETE that gets no answer is a timeout, and is never sent twice."""
    fake.add_job("maintel", "mtmount")
    fake.delete_delay = 5.0
    with pytest.raises(IntegrationTimeout, match="Job maintel/mtmount"):
        await make(timeout=0.2).delete([Deletion("Job", "mtmount", "maintel")], Reports())
    assert len(fake.deletes()) == 1


@pytest.mark.asyncio
async def test_server_error(fake: FakeKube, make: Make) -> None:
    """A 500 Status: IntegrationError with the code and the API's message."""
    fake.fail = 500
    with pytest.raises(IntegrationError) as caught:
        await make().plan_cleanup("nublado", daemonsets=False)
    assert caught.value.status == 500
    assert "etcd is sad" in (caught.value.detail or "")


@pytest.mark.asyncio
async def test_malformed_answer(fake: FakeKube, make: Make) -> None:
    """A 200 whose body is not the JSON list: IntegrationError saying so."""
    fake.malformed = True
    with pytest.raises(IntegrationError, match="malformed answer"):
        await make().plan_cleanup("nublado", daemonsets=False)


@pytest.mark.asyncio
async def test_connection_refused(make: Make) -> None:
    """Nothing listening: IntegrationError saying it cannot connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IntegrationError, match="cannot connect") as caught:
        await make(api_url=f"http://127.0.0.1:{port}").ping()
    assert not isinstance(caught.value, IntegrationTimeout)


def test_needs_credentials() -> None:
    """Without a token or a kubeconfig the client cannot be built."""
    with pytest.raises(ValueError, match="token or a kubeconfig"):
        KubeCluster(api_url="https://127.0.0.1:6443", cluster="yagan")
