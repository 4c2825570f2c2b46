"""The pre-pull step with the real clients: ArgoCD's manifests in, a DaemonSet out, followed.

The Kubernetes API fake runs the DaemonSet's pods (one per node, images pulled or failing as
the test says) and the ArgoCD fake renders the apps' manifests at the run's branch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.config.sites import Prepull, default_sites
from bot.engine.runners import prepull as runner
from bot.engine.runners.context import StepContext
from bot.engine.runners.preflight import prepull_rights
from bot.engine.work import Work
from integrations.announce import Notice
from integrations.argocd import ArgoCDClient
from integrations.errors import IntegrationError
from integrations.kube import KubeCluster
from state.actions import ArgocdSync, KubePrepull
from tests.support.fakes.argocd import IMAGE, FakeArgoCD, served
from tests.support.fakes.kube import LABEL, TOKEN, FakeKube

NS = "upgrade-bot"
BRANCH = "tickets/DM-48000"
ACTION = KubePrepull.model_validate(
    {"type": "kube.prepull", "poll": "30s", "give_up": "2m", "follow": "3h"}
)
LOVE = f"{IMAGE}/love:{BRANCH}"


class SteppedClock:
    """Virtual time that moves by what is slept (the fakes answer in real time meanwhile)."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The virtual time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass at once, then give the other tasks a turn."""
        self._now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@dataclass
class Told:
    """The thread's notices (each key once, as the store's once would), progress, background."""

    notices: list[Notice] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    work: list[Coroutine[object, object, None]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    reported: asyncio.Event = field(default_factory=asyncio.Event)

    async def tell(self, *, site: str, notice: Notice) -> None:
        """The announcer's: a notice in the thread."""
        del site
        self.notices.append(notice)

    async def once(self, key: str, post: Callable[[], Awaitable[None]]) -> datetime | None:
        """Post once per key."""
        if key not in self.keys:
            self.keys.add(key)
            await post()
        return None

    async def report(self, line: str) -> None:
        """A progress line."""
        self.lines.append(line)
        self.reported.set()

    def texts(self) -> str:
        """Every notice's text."""
        return "\n".join(n.text for n in self.notices)


@asynccontextmanager
async def cluster_of(fake: FakeKube) -> AsyncIterator[KubeCluster]:
    """The real client of the ``yagan`` cluster, talking to ``fake`` on loopback."""
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    cluster = KubeCluster(
        api_url=f"http://127.0.0.1:{server.port}",
        cluster="yagan",
        token=SecretStr(TOKEN),
        identity_label=LABEL,
        timeout=2.0,
    )
    try:
        yield cluster
    finally:
        await cluster.aclose()
        fake.release()
        await server.close()


@pytest_asyncio.fixture
async def kube() -> AsyncIterator[tuple[FakeKube, KubeCluster]]:
    fake = FakeKube()
    fake.add_namespace(NS)
    async with cluster_of(fake) as cluster:
        yield fake, cluster


@pytest_asyncio.fixture
async def argocd() -> AsyncIterator[ArgoCDClient]:
    fake = FakeArgoCD()
    for app in ("control-system-test", "love", "auxtel"):
        fake.add(app)
    fake.add("nublado", project="science-platform")
    async with served(fake) as client:
        yield client


def context(cluster: KubeCluster, argocd: ArgoCDClient, told: Told) -> StepContext:
    """What the runner uses of a StepContext: a run syncing nublado, then the telescope apps."""
    syncs = [
        ArgocdSync.model_validate({"type": "argocd.sync", "apps": ["nublado"], "expected": "20m"}),
        ArgocdSync.model_validate(
            {"type": "argocd.sync", "project": "telescope", "first": ["love"], "expected": "45m"}
        ),
    ]
    steps = [SimpleNamespace(step=SimpleNamespace(action=a)) for a in (ACTION, *syncs)]
    run = SimpleNamespace(run_id="summit-1", site="summit", phalanx_branch=BRANCH, steps=steps)
    site = default_sites()["summit"].model_copy(
        update={"prepull": Prepull(enabled=True, namespace=NS)}
    )
    systems = SimpleNamespace(cluster=cluster, argocd=argocd, announcer=told)
    return cast(
        "StepContext",
        SimpleNamespace(
            run=run,
            site=site,
            systems=systems,
            clock=SteppedClock(),
            report=told.report,
            once=told.once,
            background=told.work.append,
        ),
    )


@pytest.mark.asyncio
async def test_the_lead_sees_the_images_per_app(
    kube: tuple[FakeKube, KubeCluster], argocd: ArgoCDClient
) -> None:
    text = await runner.preview(context(kube[1], argocd, Told()), ACTION)
    assert text.splitlines() == [
        f"4 image(s) of 4 application(s) at {BRANCH}:",
        "  nublado: 1",
        "  love: 1",
        "  auxtel: 1",
        "  control-system-test: 1",
        f"DaemonSet {NS}/upgrade-bot-prepull on every node of yagan",
    ]


@pytest.mark.asyncio
async def test_created_the_run_goes_on_a_failing_image_is_left_out_then_removed(
    kube: tuple[FakeKube, KubeCluster], argocd: ArgoCDClient
) -> None:
    fake, cluster = kube
    fake.daemons.pulls = {LOVE: "ImagePullBackOff"}
    told = Told()
    outcome = await runner.prepull(context(cluster, argocd, told), ACTION)
    assert outcome.summary.startswith("pre-pulling 4 image(s) of 4 application(s)")
    assert fake.names("daemonsets", NS) == ["upgrade-bot-prepull"]  # the step has ended
    assert len(told.work) == 1  # the follower, left to the engine

    await told.work[0]
    texts = told.texts()
    assert f'`{LOVE}: ImagePullBackOff (Back-off pulling image "{LOVE}")`' in texts
    assert f"`{LOVE}` left to the deployment" in texts
    assert told.notices[-1].text == (
        f"Pre-pull done: every node has the 3 image(s); left to the deployment: {LOVE}. "
        "The DaemonSet is removed."
    )
    assert [c.method for c in fake.calls if "daemonsets" in c.path][-1] == "DELETE"
    assert any(c.method == "PUT" for c in fake.calls)  # replaced without love's image
    assert fake.names("daemonsets", NS) == []
    assert "Pre-pull: 0/3 nodes have all 4 images; 1 failing" in told.lines


@pytest.mark.asyncio
async def test_the_lead_s_word_removes_it(
    kube: tuple[FakeKube, KubeCluster], argocd: ArgoCDClient
) -> None:
    fake, cluster = kube
    fake.daemons.pulls = {LOVE: "pulling"}  # never ends by itself
    told = Told()
    await runner.prepull(context(cluster, argocd, told), ACTION)
    follower = asyncio.ensure_future(told.work[0])

    await asyncio.wait_for(told.reported.wait(), 10)
    follower.cancel()  # what the engine does at the lead's word or the run's end
    await asyncio.gather(follower, return_exceptions=True)
    assert fake.names("daemonsets", NS) == []


@pytest.mark.asyncio
async def test_another_cluster_is_refused(argocd: ArgoCDClient) -> None:
    """The API server says it is ``pillan``, the site's cluster is ``yagan``: nothing made."""
    fake = FakeKube(name="pillan")
    fake.add_namespace(NS)
    async with cluster_of(fake) as cluster:
        with pytest.raises(IntegrationError, match="refusing to pre-pull"):
            await runner.prepull(context(cluster, argocd, Told()), ACTION)
    assert not [c for c in fake.calls if c.method == "POST"]


def test_progress_line() -> None:
    state: Any = SimpleNamespace(
        nodes=[SimpleNamespace(done=True), SimpleNamespace(done=False)],
        desired=2,
        failures=dict,
    )
    assert runner.progress(state, 5, 1) == (
        "Pre-pull: 1/2 nodes have all 5 images, 1 left to the deployment"
    )


@pytest.mark.asyncio
async def test_check_asks_the_server_for_the_rights(
    kube: tuple[FakeKube, KubeCluster], argocd: ArgoCDClient
) -> None:
    """``upgrade-bot check``'s line for the pre-pull: the rights the account lacks, by name."""
    fake, cluster = kube
    ctx = context(cluster, argocd, Told())
    name = f"Kubernetes pre-pull rights in {NS}"
    assert await prepull_rights(ctx.site, ctx.systems) == {name: None}
    fake.daemons.denied = {("update", "daemonsets")}
    assert await prepull_rights(ctx.site, ctx.systems) == {
        name: f"{name}: lacking update daemonsets.apps (docs/prepull.md: the Role)"
    }
    off = default_sites()["summit"]  # the pre-pull is off by default: nothing to check
    assert await prepull_rights(off, ctx.systems) == {}


@pytest.mark.asyncio
async def test_background_work_ends_at_the_word_or_with_everything() -> None:
    """The engine's background work: ended for its run only, and by ``cancel_all``."""
    work = Work()
    ended: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    work.background("run-1", "prepull-images", forever("one"))
    work.background("run-2", "prepull-images", forever("two"))
    await asyncio.sleep(0)
    assert await work.end_background("run-1")
    assert ended == ["one"]
    assert not await work.end_background("run-1")  # nothing left for that run
    await work.cancel_all()
    assert ended == ["one", "two"]
