"""The real ArgoCD client against a faithful fake of the Argo CD API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.config.sites import Prepull
from bot.engine.runners import argocd as runner
from integrations.argocd import AppStatus, ArgoCDClient
from integrations.errors import IntegrationError, IntegrationTimeout, NoAnswer, Unreachable
from state.actions import ArgocdSync
from tests.support.clocks import ShortSleeps
from tests.support.fakes.argocd import TOKEN, FakeArgoCD, Resource

WRONG = "not-the-token"
EXPIRED = "expired-token-value"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeArgoCD]:
    fake = FakeArgoCD(run_seconds=0.12, settle_seconds=0.12)
    fake.add("control-system-test")
    fake.add("love")
    fake.add("auxtel")
    fake.add("nublado", project="science-platform")
    yield fake


@pytest_asyncio.fixture
async def server(fake: FakeArgoCD) -> AsyncIterator[TestServer]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def make_client(server: TestServer, token: str = TOKEN, **kwargs: Any) -> ArgoCDClient:
    options: dict[str, Any] = {"timeout": 2.0, "retry_delay": 0.01} | kwargs
    return ArgoCDClient(
        url=f"http://127.0.0.1:{server.port}/argo-cd", token=SecretStr(token), **options
    )


@pytest_asyncio.fixture
async def client(server: TestServer) -> AsyncIterator[ArgoCDClient]:
    client = make_client(server)
    yield client
    await client.aclose()


async def wait_for(client: ArgoCDClient, app: str, *, seconds: float = 30.0) -> list[AppStatus]:
    """Poll ``status`` until the app is done or its operation failed; every status seen."""
    seen: list[AppStatus] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = await client.status(app)
        seen.append(status)
        if status.done or status.operation in {"Failed", "Error"}:
            return seen
        if status.operation != "Running" and status.health == "Degraded":
            return seen
        await asyncio.sleep(0.02)
    pytest.fail(f"{app} did not settle: {seen[-1]}")


def step(client: ArgoCDClient) -> Any:
    """The part of a StepContext the ArgoCD runner uses: the client and a fast clock."""
    lines: list[str] = []

    async def report(line: str) -> None:
        lines.append(line)

    systems = SimpleNamespace(argocd=client)
    site = SimpleNamespace(prepull=Prepull())  # off, as a site has it unless enabled
    return SimpleNamespace(
        systems=systems, site=site, clock=ShortSleeps(200), report=report, lines=lines
    )


async def follow(client: ArgoCDClient, app: str, action: ArgocdSync) -> str | None:
    """The runner's sync-and-follow of one app: ``None`` when Synced and Healthy."""

    async def say() -> None:
        pass

    return await runner._sync_one(step(client), app, action, runner.Progress(total=1), say)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- reading ---


@pytest.mark.asyncio
async def test_apps_of_a_project(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """The project's apps, sorted; the project goes as ``projects=`` with the bearer token."""
    assert await client.apps("telescope") == ["auxtel", "control-system-test", "love"]
    call = fake.of("GET", "/api/v1/applications")[0]
    assert call.path == "/argo-cd/api/v1/applications"
    assert call.query == {"projects": "telescope"}
    assert call.authorization == f"Bearer {TOKEN}"


@pytest.mark.asyncio
async def test_apps_of_an_empty_project(client: ArgoCDClient) -> None:
    """``items: null`` (how Argo CD renders an empty list) is no apps."""
    assert await client.apps("nothing-here") == []


@pytest.mark.asyncio
async def test_status_reads_sync_health_and_operation(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """``status.sync.status``, ``status.health.status``, ``operationState.phase/message``."""
    fake.apps["love"].phase = "Succeeded"
    fake.apps["love"].op_message = "successfully synced (all tasks run)"
    status = await client.status("love")
    assert status == AppStatus(
        name="love",
        sync="OutOfSync",
        health="Healthy",
        operation="Succeeded",
        message="successfully synced (all tasks run)",
    )
    assert fake.of("GET")[0].path == "/argo-cd/api/v1/applications/love"


@pytest.mark.asyncio
async def test_status_without_operation(client: ArgoCDClient) -> None:
    """An app never synced has no operationState: operation is None."""
    status = await client.status("auxtel")
    assert status.operation is None
    assert status.sync == "OutOfSync"


@pytest.mark.asyncio
async def test_diff_lists_out_of_sync_resources(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """Modified, missing and extra resources; not the synced ones (live text differs) nor hooks."""
    fake.add(
        "sasquatch",
        project="science-platform",
        resources=[
            Resource("Deployment", "sasquatch", "kafka-connect", "synced"),
            Resource("ConfigMap", "sasquatch", "telegraf-ess", "modified", group=""),
            Resource("KafkaTopic", "sasquatch", "lsst.sal.ess", "missing", group="kafka"),
            Resource("Job", "sasquatch", "old-migration", "extra", group="batch"),
            Resource("Job", "sasquatch", "pre-sync", "modified", group="batch", hook=True),
            Resource("ClusterRole", "", "sasquatch-reader", "modified", group="rbac"),
        ],
    )
    assert await client.diff("sasquatch") == [
        "ConfigMap sasquatch/telegraf-ess",
        "KafkaTopic sasquatch/lsst.sal.ess",
        "Job sasquatch/old-migration",
        "ClusterRole sasquatch-reader",
    ]
    assert fake.of("GET")[0].path == "/argo-cd/api/v1/applications/sasquatch/managed-resources"


@pytest.mark.asyncio
async def test_diff_of_a_synced_app_is_empty(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """Every resource synced: nothing to review."""
    fake.add("uws", resources=[Resource("Deployment", "uws", "uws-server")])
    assert await client.diff("uws") == []


# --- syncing ---


@pytest.mark.asyncio
async def test_sync_posts_prune_and_returns_once_accepted(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """``POST .../sync`` with the prune flag; the operation is recorded, not yet run."""
    await client.sync("love", prune=True)
    call = fake.of("POST")[0]
    assert call.path == "/argo-cd/api/v1/applications/love/sync"
    assert call.body == {"name": "love", "prune": True, "dryRun": False}
    assert fake.apps["love"].operation is not None
    assert fake.apps["love"].phase is None


@pytest.mark.asyncio
async def test_after_sync_status_shows_running_then_synced_and_healthy(
    client: ArgoCDClient,
) -> None:
    """Polling after a sync: Running (pending, then running), then Synced and Healthy."""
    await client.sync("love", prune=False)
    first = await client.status("love")
    assert first.operation == "Running"
    assert first.message == "sync accepted, waiting for the application controller"
    assert not first.done
    seen = await wait_for(client, "love")
    operations = [s.operation for s in seen]
    assert "Running" in operations
    assert operations.index("Running") < len(operations) - 1
    assert seen[-1].done
    assert (seen[-1].sync, seen[-1].health, seen[-1].operation) == (
        "Synced",
        "Healthy",
        "Succeeded",
    )
    assert any(s.health == "Progressing" and s.operation == "Succeeded" for s in seen)


@pytest.mark.asyncio
async def test_sync_with_prune_removes_extra_resources(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """An extra resource keeps the app OutOfSync unless the sync prunes it."""
    fake.add("obssys", resources=[Resource("Job", "obssys", "stale", "extra", group="batch")])
    await client.sync("obssys", prune=True)
    seen = await wait_for(client, "obssys")
    assert seen[-1].done
    assert await client.diff("obssys") == []


@pytest.mark.asyncio
async def test_sync_follows_an_operation_already_in_progress(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """One running (started by hand, or by an earlier request): followed, no second POST."""
    fake.apps["love"].operation = {"sync": {}, "initiatedBy": {"username": "someone"}}
    fake.apps["love"].phase = "Running"
    assert await client.sync("love", prune=False) is False
    assert fake.of("POST") == []
    await client.cancel()
    assert fake.of("DELETE") == []  # not the bot's to terminate


@pytest.mark.asyncio
async def test_sync_started_by_someone_else_meanwhile_is_followed(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """Between our read and our POST someone synced: ArgoCD's 400 means "follow that one"."""
    body = json.dumps({"error": ANOTHER, "code": 9, "message": ANOTHER, "details": []})
    fake.misbehave(method="POST", status=400, body=body)
    assert await client.sync("love", prune=False) is False
    assert len(fake.of("POST")) == 1


@pytest.mark.asyncio
async def test_sync_whose_answer_timed_out_after_it_was_recorded_is_not_sent_again(
    server: TestServer, fake: FakeArgoCD
) -> None:
    """The server recorded the sync, the answer never came: the bot sees it and follows it.

    Then a Retry (a second call) does not start another either: one POST in all.
    """
    client = make_client(server, timeout=1.0)
    fake.run_seconds = 600.0  # still running when the Retry comes
    fake.misbehave(method="POST", path="/sync", status=None, delay=30.0, acted=True)
    try:
        assert await client.sync("love", prune=False) is True
        assert await client.sync("love", prune=False) is False
        assert len(fake.of("POST")) == 1
        assert fake.apps["love"].operation is not None
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_sync_recorded_and_finished_before_the_late_answer_is_seen(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """A gateway's 504 after the sync ran to its end: a new ``startedAt`` says it happened."""
    fake.pickup, fake.run_seconds = 0.0, 0.0
    fake.misbehave(method="POST", path="/sync", status=504, delay=0.1, acted=True)
    assert await client.sync("love", prune=False) is True
    assert len(fake.of("POST")) == 1


@pytest.mark.asyncio
async def test_sync_that_timed_out_unrecorded_says_a_retry_starts_it(
    server: TestServer, fake: FakeArgoCD
) -> None:
    """No answer and no operation on the app: the error says the sync was not started."""
    client = make_client(server, timeout=0.3)
    fake.misbehave(method="POST", path="/sync", status=502, delay=30.0)  # never acts
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.sync("love", prune=False)
    finally:
        await client.aclose()
    assert "no answer within 0.3 s" in caught.value.message
    assert "ArgoCD shows no new operation on love: the sync was not started" in str(caught.value)
    assert fake.apps["love"].operation is None


@pytest.mark.asyncio
async def test_sync_forbidden_by_rbac(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A token without ``sync`` rights: 403 with ArgoCD's own words."""
    fake.can_sync = False
    with pytest.raises(IntegrationError) as caught:
        await client.sync("love", prune=False)
    assert caught.value.status == 403
    assert "permission denied: applications, sync, telescope/love" in caught.value.message


ANOTHER = "another operation is already in progress"


# --- the runner, on the real client ---

SYNC_LOVE = ArgocdSync.model_validate({"type": "argocd.sync", "apps": ["love"], "timeout": "5m"})


@pytest.mark.asyncio
async def test_runner_syncs_an_app_to_synced_and_healthy(client: ArgoCDClient) -> None:
    """The runner's sync-and-follow sees the app through to Synced and Healthy."""
    assert await follow(client, "love", SYNC_LOVE) is None


@pytest.mark.asyncio
async def test_runner_reports_a_degraded_app_with_its_message(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """A Degraded app is named with the crash-looping pod (from the resource tree, Argo CD v3)."""
    fake.apps["love"].degrade = True
    problem = await follow(client, "love", SYNC_LOVE)
    assert problem == (
        "love: Degraded (Pod love/love-7f9c4d-x2x9z: back-off 40s restarting failed"
        ' container=csc pod=love-7f9c4d-x2x9z; Deployment love/love: Deployment "love"'
        " exceeded its progress deadline)"
    )
    assert fake.of("GET", "/resource-tree")


@pytest.mark.asyncio
async def test_degraded_message_from_the_application_when_persisted(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """With resource health kept in the Application (v2 style) no tree is read."""
    fake.persist_health = True
    fake.apps["love"].health = "Degraded"
    status = await client.status("love")
    assert (
        status.message == 'Deployment love/love: Deployment "love" exceeded its progress deadline'
    )
    assert fake.of("GET", "/resource-tree") == []


@pytest.mark.asyncio
async def test_runner_reports_a_failed_sync(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """An operation ending Failed is named with ArgoCD's message."""
    fake.apps["love"].fail = "one or more objects failed to apply, reason: admission webhook"
    problem = await follow(client, "love", SYNC_LOVE)
    assert problem == (
        "love: sync Failed (one or more objects failed to apply, reason: admission webhook)"
    )


@pytest.mark.asyncio
async def test_runner_syncs_a_project_first_apps_then_the_rest(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """The whole step: ``control-system-test`` first, then the rest; all Synced and Healthy."""
    action = ArgocdSync.model_validate(
        {
            "type": "argocd.sync",
            "project": "telescope",
            "first": ["control-system-test"],
            "timeout": "10m",
        }
    )
    ctx = step(client)
    outcome = await runner.sync(ctx, action)
    assert outcome.summary.startswith("3 app(s) Synced and Healthy: control-system-test")
    posted = [c.path.split("/")[-2] for c in fake.of("POST")]
    assert posted[0] == "control-system-test"
    assert sorted(posted[1:]) == ["auxtel", "love"]
    assert ctx.lines[-1] == "3/3 Synced+Healthy"


@pytest.mark.asyncio
async def test_runner_follows_a_sync_already_in_progress(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """A Retry after a sync whose answer was lost: that sync is followed, and said to be."""
    fake.run_seconds = 0.5
    assert await client.sync("love", prune=False)  # the earlier attempt's request
    ctx = step(client)
    outcome = await runner.sync(ctx, SYNC_LOVE)
    assert outcome.summary == "1 app(s) Synced and Healthy: love"
    assert len(fake.of("POST")) == 1
    assert "following a sync already in progress: love" in ctx.lines[1]
    assert ctx.lines[-1] == "1/1 Synced+Healthy"


@pytest.mark.asyncio
async def test_runner_refuses_a_first_app_argocd_does_not_have(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """``first: [lvoe]``: the page's order cannot be kept, so nothing is synced; said why."""
    action = ArgocdSync.model_validate(
        {"type": "argocd.sync", "project": "telescope", "first": ["lvoe"], "timeout": "10m"}
    )
    with pytest.raises(IntegrationError) as caught:
        await runner.sync(step(client), action)
    assert caught.value.message.startswith(
        "lvoe (to sync first) not among the 3 application(s) of project telescope"
    )
    assert fake.of("POST") == []


@pytest.mark.asyncio
async def test_runner_preview_shows_the_diff(client: ArgoCDClient) -> None:
    """The step's preview lists each app's out-of-sync resources."""
    action = ArgocdSync.model_validate(
        {"type": "argocd.sync", "apps": ["love"], "show_diff": True, "timeout": "10m"}
    )
    text = await runner.preview(step(client), action)
    assert text == "sync love\nlove: 1 out-of-sync resource(s)\n  Deployment love/love"


# --- terminate and cancel ---


@pytest.mark.asyncio
async def test_terminate_stops_a_running_operation(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """``DELETE .../operation``: Terminating (still Running to us), then Failed, not synced."""
    fake.run_seconds = 5.0
    await client.sync("love", prune=False)
    await asyncio.sleep(0.1)
    running = await client.status("love")
    assert (running.operation, running.message) == ("Running", "one or more tasks are running")
    await client.terminate("love")
    assert fake.of("DELETE")[0].path == "/argo-cd/api/v1/applications/love/operation"
    during = await client.status("love")
    assert during.operation == "Running"
    assert during.message.startswith("terminating")
    seen = await wait_for(client, "love")
    assert (seen[-1].operation, seen[-1].message) == ("Failed", "Operation terminated")
    assert seen[-1].sync == "OutOfSync"


@pytest.mark.asyncio
async def test_terminate_waits_for_a_pending_operation(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """A sync not yet picked up cannot be terminated (400): asked again until it can."""
    fake.pickup = 0.15
    fake.run_seconds = 5.0
    await client.sync("love", prune=False)
    await client.terminate("love")
    assert len(fake.of("DELETE")) >= 2
    seen = await wait_for(client, "love")
    assert (seen[-1].operation, seen[-1].message) == ("Failed", "Operation terminated")


@pytest.mark.asyncio
async def test_terminate_with_nothing_running_is_quiet(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """400 "No operation is in progress" is not an error: there is nothing to stop."""
    await client.terminate("auxtel")
    assert len(fake.of("DELETE")) == 1


@pytest.mark.asyncio
async def test_cancel_terminates_only_the_running_syncs_it_started(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """Its running sync is terminated; its finished one and someone else's are left alone."""
    fake.run_seconds = 0.05
    fake.settle_seconds = 0.05
    await client.sync("auxtel", prune=False)
    await wait_for(client, "auxtel")
    fake.run_seconds = 5.0
    await client.sync("love", prune=False)
    fake.apps["control-system-test"].operation = {"sync": {}, "initiatedBy": {"username": "x"}}
    fake.apps["control-system-test"].phase = "Running"
    await asyncio.sleep(0.1)
    await client.cancel()
    assert [c.path for c in fake.of("DELETE")] == ["/argo-cd/api/v1/applications/love/operation"]
    assert fake.apps["love"].phase in {"Terminating", "Failed"}
    assert fake.apps["control-system-test"].phase == "Running"
    await client.cancel()
    assert len(fake.of("DELETE")) == 1


# --- ping ---


@pytest.mark.asyncio
async def test_ping_reads_version_without_token_and_userinfo_with_it(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """``/api/version`` unauthenticated, then ``session/userinfo`` says loggedIn."""
    await client.ping()
    version, userinfo = fake.calls
    assert (version.path, version.authorization) == ("/argo-cd/api/version", None)
    assert (userinfo.path, userinfo.authorization) == (
        "/argo-cd/api/v1/session/userinfo",
        f"Bearer {TOKEN}",
    )


@pytest.mark.asyncio
async def test_ping_finds_a_bad_token(server: TestServer) -> None:
    """A bad token: userinfo answers 200 without loggedIn, and ping says the token is refused."""
    client = make_client(server, token=EXPIRED)
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.ping()
    finally:
        await client.aclose()
    assert "token was not accepted" in caught.value.message
    assert EXPIRED not in str(caught.value)


@pytest.mark.asyncio
async def test_ping_when_the_server_is_down(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A 503 on every try of ``/api/version`` is a server error after the retries."""
    fake.misbehave(path="/api/version", status=503, times=None)
    with pytest.raises(IntegrationError) as caught:
        await client.ping()
    assert caught.value.status == 503
    assert "server error" in caught.value.message
    assert len(fake.of("GET", "/api/version")) == 3


# --- errors ---


@pytest.mark.asyncio
async def test_bad_token_is_401(server: TestServer) -> None:
    """A refused token: 401 with ArgoCD's reason, and the token nowhere in the error."""
    client = make_client(server, token=WRONG)
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.apps("telescope")
    finally:
        await client.aclose()
    assert caught.value.status == 401
    assert "token was refused (invalid session: token signature is invalid)" in str(caught.value)
    assert WRONG not in str(caught.value)


@pytest.mark.asyncio
async def test_unknown_app_is_permission_denied(client: ArgoCDClient) -> None:
    """Argo CD answers 403 for an app that does not exist (no project named): said so."""
    with pytest.raises(IntegrationError) as caught:
        await client.status("maintel")
    assert caught.value.status == 403
    assert "or the application does not exist" in caught.value.message


@pytest.mark.asyncio
async def test_not_found_carries_argocds_message(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A 404 gRPC-gateway body (code 5) gives its message."""
    body = (
        '{"error":"applications.argoproj.io \\"eas\\" not found","code":5,'
        '"message":"applications.argoproj.io \\"eas\\" not found","details":[]}'
    )
    fake.misbehave(method="GET", path="/applications/eas", status=404, body=body)
    with pytest.raises(IntegrationError) as caught:
        await client.diff("eas")
    assert caught.value.status == 404
    assert caught.value.message.endswith('applications.argoproj.io "eas" not found')


@pytest.mark.asyncio
async def test_server_error_is_reported_and_not_retried(
    client: ArgoCDClient, fake: FakeArgoCD
) -> None:
    """A 500 is an error with the server's message; only 502/503/504 are asked again."""
    fake.misbehave(path="/applications/love", status=500, times=None)
    with pytest.raises(IntegrationError) as caught:
        await client.status("love")
    assert caught.value.status == 500
    assert "server error: fault injected: HTTP 500" in caught.value.message
    assert len(fake.of("GET")) == 1


@pytest.mark.asyncio
async def test_get_is_retried_after_a_503(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A 503 from a restarting server: the GET is asked again and succeeds."""
    fake.misbehave(method="GET", path="/applications/love", status=503, times=1)
    assert (await client.status("love")).name == "love"
    assert len(fake.of("GET")) == 2


@pytest.mark.asyncio
async def test_sync_is_never_retried(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A POST met by a 503 is not repeated; the app read after it shows nothing started."""
    fake.misbehave(method="POST", status=503, times=1)
    with pytest.raises(IntegrationError) as caught:
        await client.sync("love", prune=False)
    assert caught.value.status == 503
    assert "the sync was not started, a Retry starts it" in caught.value.message
    assert len(fake.of("POST")) == 1


@pytest.mark.asyncio
async def test_slow_server_times_out(server: TestServer, fake: FakeArgoCD) -> None:
    """No answer within the timeout: IntegrationTimeout naming the call and the host."""
    client = make_client(server, timeout=0.2)
    fake.misbehave(path="/applications/love", status=None, delay=30.0)
    started = time.monotonic()
    try:
        with pytest.raises(IntegrationTimeout) as caught:
            await client.status("love")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 20  # gave up: did not wait out the fake's 30 s
    assert "no answer within 0.2 s" in caught.value.message
    assert caught.value.host is not None
    assert caught.value.host.startswith("127.0.0.1:")


@pytest.mark.asyncio
async def test_malformed_json_is_an_error(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """A 200 that is not JSON (say, the UI's HTML page) is an error with the body's tail."""
    fake.misbehave(
        path="/api/v1/applications",
        status=200,
        body="<!doctype html><title>Argo CD</title>",
        content_type="text/html",
    )
    with pytest.raises(IntegrationError) as caught:
        await client.apps("telescope")
    assert "malformed answer (not JSON)" in caught.value.message
    assert caught.value.detail == "<!doctype html><title>Argo CD</title>"


@pytest.mark.asyncio
async def test_connection_refused() -> None:
    """Nothing listening: a clear error after the retries, no hang."""
    port = free_port()
    client = ArgoCDClient(
        url=f"http://127.0.0.1:{port}/argo-cd", token=SecretStr(TOKEN), retry_delay=0.01
    )
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.apps("telescope")
    finally:
        await client.aclose()
    assert "cannot reach the server" in caught.value.message
    assert isinstance(caught.value, Unreachable)  # never connected: nothing was sent
    assert caught.value.host == f"127.0.0.1:{port}"


@pytest.mark.asyncio
async def test_connection_dropped_after_the_request_is_no_answer() -> None:
    """A server that reads the request and hangs up: sent, so maybe acted on (NoAnswer)."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    client = ArgoCDClient(
        url=f"http://127.0.0.1:{port}/argo-cd", token=SecretStr(TOKEN), retry_delay=0.01
    )
    try:
        with pytest.raises(NoAnswer) as caught:
            await client.status("love")
    finally:
        await client.aclose()
        listener.close()
        await listener.wait_closed()
    assert not isinstance(caught.value, Unreachable)
    assert "the connection dropped before an answer" in caught.value.message


@pytest.mark.asyncio
async def test_token_echoed_by_a_proxy_is_scrubbed(client: ArgoCDClient, fake: FakeArgoCD) -> None:
    """Should an error body ever contain the token, the error shows ``***`` instead."""
    fake.misbehave(status=502, body=f"bad gateway for Bearer {TOKEN}", times=None)
    with pytest.raises(IntegrationError) as caught:
        await client.sync("love", prune=False)
    assert TOKEN not in str(caught.value)
    assert "Bearer ***" in (caught.value.detail or "")


@pytest.mark.asyncio
async def test_relative_url_is_refused() -> None:
    """The wiring must give the absolute root path."""
    with pytest.raises(ValueError, match="absolute"):
        ArgoCDClient(url="summit-lsp.lsst.codes/argo-cd", token=SecretStr(TOKEN))
