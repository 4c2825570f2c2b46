"""The real GitHub client against a faithful fake of GitHub's REST API on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.engine.runners import github as runner
from integrations.errors import IntegrationError, IntegrationTimeout
from integrations.github import GitHubClient, PullRequest, RateLimited
from state.actions import GithubBranches, GithubPullRequest
from tests.support.clocks import ShortSleeps
from tests.support.fakes.github import TOKEN, CheckRun, FakeGitHub

PHALANX = "lsst-sqre/phalanx"
BRANCH = "tickets/DM-49999"
WRONG = "ghp_not_the_token"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.repo(PHALANX)
    yield fake


@pytest_asyncio.fixture
async def server(fake: FakeGitHub) -> AsyncIterator[TestServer]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def make_client(server: TestServer, token: str = TOKEN, **kwargs: Any) -> GitHubClient:
    options: dict[str, Any] = {"timeout": 2.0, "retry_delay": 0.01} | kwargs
    return GitHubClient(
        base_url=f"http://127.0.0.1:{server.port}", token=SecretStr(token), **options
    )


@pytest_asyncio.fixture
async def client(server: TestServer) -> AsyncIterator[GitHubClient]:
    client = make_client(server)
    yield client
    await client.aclose()


def step(client: GitHubClient, **run: Any) -> Any:
    """The part of a StepContext the GitHub runners use."""
    lines: list[str] = []

    async def report(line: str) -> None:
        lines.append(line)

    return SimpleNamespace(
        run=SimpleNamespace(**run),
        site=SimpleNamespace(
            name="tts",
            config_repos=("lsst-ts/ts_config_ocs", "lsst-ts/ts_config_mttcs"),
            config_branch_of=lambda cycle: cycle,
        ),
        systems=SimpleNamespace(github=client),
        clock=ShortSleeps(1000),
        report=report,
        lines=lines,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- branches ---


@pytest.mark.asyncio
async def test_every_call_sends_the_token_and_api_headers(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """Bearer token, ``application/vnd.github+json``, API version 2022-11-28, a User-Agent."""
    await client.branch_exists(PHALANX, "main")
    headers = fake.calls[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["User-Agent"] == "rubin-upgrade-bot"


@pytest.mark.asyncio
async def test_branch_exists(client: GitHubClient, fake: FakeGitHub) -> None:
    """A pushed branch is there; ``GET /repos/o/r/branches/b``."""
    assert await client.branch_exists(PHALANX, "main") is True
    assert fake.calls[0].path == "/repos/lsst-sqre/phalanx/branches/main"


@pytest.mark.asyncio
async def test_missing_branch_is_false(client: GitHubClient) -> None:
    """404 ``Branch not found`` means not pushed."""
    assert await client.branch_exists(PHALANX, "tickets/DM-00000") is False


@pytest.mark.asyncio
async def test_branch_with_slashes_is_one_encoded_segment(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """``tickets/DM-49999`` goes as ``tickets%2FDM-49999``; ``#`` is encoded too."""
    fake.push("lsst-ts/ts_config_ocs", BRANCH)
    fake.push("lsst-ts/ts_config_ocs", "u/someone/fix#2")
    assert await client.branch_exists("lsst-ts/ts_config_ocs", BRANCH) is True
    assert await client.branch_exists("lsst-ts/ts_config_ocs", "u/someone/fix#2") is True
    assert [c.path for c in fake.of("GET")] == [
        "/repos/lsst-ts/ts_config_ocs/branches/tickets%2FDM-49999",
        "/repos/lsst-ts/ts_config_ocs/branches/u%2Fsomeone%2Ffix%232",
    ]


@pytest.mark.asyncio
async def test_branch_of_an_unknown_repository_is_an_error(client: GitHubClient) -> None:
    """A plain 404 ``Not Found`` is the repository (or no access), not a missing branch."""
    with pytest.raises(IntegrationError) as caught:
        await client.branch_exists("lsst-ts/ts_config_nope", "main")
    assert caught.value.status == 404
    assert "repository lsst-ts/ts_config_nope not found" in caught.value.message


@pytest.mark.asyncio
async def test_repository_must_be_owner_slash_name(client: GitHubClient) -> None:
    """A repository without its owner is refused before any call."""
    with pytest.raises(IntegrationError, match="is not owner/name"):
        await client.branch_exists("phalanx", "main")


# --- pull requests and checks ---


@pytest.mark.asyncio
async def test_open_pull_request_with_passing_checks(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """The list query by ``owner:branch``, then the head commit's check runs and status."""
    pull = fake.pull(PHALANX, BRANCH, checks=[CheckRun("lint"), CheckRun("test")])
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr == PullRequest(
        repo=PHALANX,
        number=pull.number,
        url=f"https://github.com/lsst-sqre/phalanx/pull/{pull.number}",
        branch=BRANCH,
        state="open",
        merged=False,
        checks="success",
    )
    listing, runs, status = fake.of("GET")
    assert listing.path == "/repos/lsst-sqre/phalanx/pulls"
    assert listing.query == {
        "head": f"lsst-sqre:{BRANCH}",
        "state": "all",
        "sort": "created",
        "direction": "desc",
        "per_page": "1",
    }
    assert runs.path == f"/repos/lsst-sqre/phalanx/commits/{pull.head}/check-runs"
    assert status.path == f"/repos/lsst-sqre/phalanx/commits/{pull.head}/status"


@pytest.mark.asyncio
async def test_latest_pull_request_of_the_branch(client: GitHubClient, fake: FakeGitHub) -> None:
    """An older closed one and a newer open one: the newer is the one."""
    fake.pull(PHALANX, BRANCH, state="closed")
    newer = fake.pull(PHALANX, BRANCH)
    fake.pull(PHALANX, "tickets/DM-1")
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert (pr.number, pr.state) == (newer.number, "open")


@pytest.mark.asyncio
async def test_merged_pull_request(client: GitHubClient, fake: FakeGitHub) -> None:
    """``merged_at`` set: merged (and closed)."""
    fake.pull(PHALANX, BRANCH, state="closed", merged_at="2026-01-05T10:00:00Z")
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert (pr.state, pr.merged) == ("closed", True)


@pytest.mark.asyncio
async def test_closed_unmerged_pull_request(client: GitHubClient, fake: FakeGitHub) -> None:
    """Closed with ``merged_at`` null: not merged."""
    fake.pull(PHALANX, BRANCH, state="closed")
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert (pr.state, pr.merged) == ("closed", False)


@pytest.mark.asyncio
async def test_no_pull_request_is_none(client: GitHubClient, fake: FakeGitHub) -> None:
    """A branch without a pull request (or none at all): None, and no checks read."""
    fake.push(PHALANX, BRANCH)
    assert await client.pull_request(PHALANX, BRANCH) is None
    assert len(fake.calls) == 1


@pytest.mark.asyncio
async def test_pull_request_of_an_unknown_repository(client: GitHubClient) -> None:
    """404 on the list: the repository is not there (or not visible)."""
    with pytest.raises(IntegrationError, match="repository lsst-sqre/nope not found"):
        await client.pull_request("lsst-sqre/nope", BRANCH)


@pytest.mark.parametrize(
    ("runs", "statuses", "expected"),
    [
        ([CheckRun("lint"), CheckRun("docs", conclusion="skipped")], [], "success"),
        (
            [CheckRun("lint", conclusion="neutral")],
            [{"state": "success", "context": "ci"}],
            "success",
        ),
        ([CheckRun("lint"), CheckRun("test", "in_progress", None)], [], "pending"),
        ([CheckRun("test", "queued", None)], [], "pending"),
        ([CheckRun("lint")], [{"state": "pending", "context": "ci/jenkins"}], "pending"),
        (
            [CheckRun("lint", conclusion="failure"), CheckRun("test", "in_progress", None)],
            [],
            "failure",
        ),
        ([CheckRun("test", conclusion="timed_out")], [], "failure"),
        ([CheckRun("test", conclusion="cancelled")], [], "failure"),
        ([CheckRun("test", conclusion="action_required")], [], "failure"),
        ([CheckRun("lint")], [{"state": "error", "context": "ci/jenkins"}], "failure"),
        ([], [{"state": "success", "context": "ci/jenkins"}], "success"),
        ([], [{"state": "failure", "context": "ci/jenkins"}], "failure"),
        ([], [], "none"),
    ],
)
@pytest.mark.asyncio
async def test_checks_reduction(
    client: GitHubClient,
    fake: FakeGitHub,
    runs: list[CheckRun],
    statuses: list[dict[str, str]],
    expected: str,
) -> None:
    """Failure beats pending beats success; nothing at all is ``none``, not pending."""
    pull = fake.pull(PHALANX, BRANCH, checks=runs)
    fake.statuses[pull.head] = statuses
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert pr.checks == expected


@pytest.mark.asyncio
async def test_check_runs_are_read_over_every_page(client: GitHubClient, fake: FakeGitHub) -> None:
    """150 check runs, the failing one on page 2: it is seen."""
    runs = [CheckRun(f"job-{i}") for i in range(150)]
    runs[140] = CheckRun("job-140", conclusion="failure")
    fake.pull(PHALANX, BRANCH, checks=runs)
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert pr.checks == "failure"
    pages = [c.query for c in fake.of("GET", "/check-runs")]
    assert pages == [{"per_page": "100", "page": "1"}, {"per_page": "100", "page": "2"}]


# --- merge ---


@pytest.mark.asyncio
async def test_merge_names_the_head_whose_checks_were_read(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """``PUT .../merge`` with the merge method and the head ``sha`` seen; then merged."""
    pull = fake.pull(PHALANX, BRANCH, checks=[CheckRun("test")])
    await client.pull_request(PHALANX, BRANCH)
    await client.merge(PHALANX, pull.number)
    put = fake.of("PUT")[0]
    assert put.path == f"/repos/lsst-sqre/phalanx/pulls/{pull.number}/merge"
    assert put.body == {"merge_method": "merge", "sha": pull.head}
    pr = await client.pull_request(PHALANX, BRANCH)
    assert pr is not None
    assert pr.merged


@pytest.mark.asyncio
async def test_merge_refused_not_mergeable(client: GitHubClient, fake: FakeGitHub) -> None:
    """405 ``Pull Request is not mergeable``: a clear refusal, nothing merged."""
    pull = fake.pull(PHALANX, BRANCH, mergeable=False)
    with pytest.raises(IntegrationError) as caught:
        await client.merge(PHALANX, pull.number)
    assert caught.value.status == 405
    assert caught.value.message.startswith(
        f"{PHALANX}#{pull.number} cannot be merged: Pull Request is not mergeable"
    )
    assert pull.merged_at is None


@pytest.mark.asyncio
async def test_merge_method_not_allowed(server: TestServer, fake: FakeGitHub) -> None:
    """405 for a merge method the repository does not allow, in GitHub's words."""
    fake.repo(PHALANX).merge_methods = frozenset({"squash"})
    pull = fake.pull(PHALANX, BRANCH)
    client = make_client(server)
    try:
        with pytest.raises(IntegrationError, match="Merge commits are not allowed"):
            await client.merge(PHALANX, pull.number)
    finally:
        await client.aclose()
    squasher = make_client(server, merge_method="squash")
    try:
        await squasher.merge(PHALANX, pull.number)
    finally:
        await squasher.aclose()
    assert pull.merged_at is not None


@pytest.mark.asyncio
async def test_merge_refused_when_the_head_moved(client: GitHubClient, fake: FakeGitHub) -> None:
    """A commit pushed after the checks were read: 409, said as such, not merged."""
    pull = fake.pull(PHALANX, BRANCH, checks=[CheckRun("test")])
    await client.pull_request(PHALANX, BRANCH)
    fake.push(PHALANX, BRANCH)
    with pytest.raises(IntegrationError) as caught:
        await client.merge(PHALANX, pull.number)
    assert caught.value.status == 409
    assert "head moved since its checks were read" in caught.value.message
    assert "Head branch was modified" in caught.value.message
    assert pull.merged_at is None


@pytest.mark.asyncio
async def test_merge_of_an_unknown_pull_request(client: GitHubClient) -> None:
    """404 on merge names the pull request."""
    with pytest.raises(IntegrationError) as caught:
        await client.merge(PHALANX, 9999)
    assert caught.value.status == 404
    assert caught.value.message.startswith(f"{PHALANX}#9999 not found")


@pytest.mark.asyncio
async def test_merge_is_never_retried(client: GitHubClient, fake: FakeGitHub) -> None:
    """A PUT met by a 502 is not repeated."""
    pull = fake.pull(PHALANX, BRANCH)
    fake.misbehave(method="PUT", status=502, times=1)
    with pytest.raises(IntegrationError) as caught:
        await client.merge(PHALANX, pull.number)
    assert caught.value.status == 502
    assert len(fake.of("PUT")) == 1


# --- the runners, on the real client ---


@pytest.mark.asyncio
async def test_runner_merges_when_opted_in_and_checks_pass(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """The pull request step with ``merge``: merged by the bot, then reported merged."""
    pull = fake.pull(PHALANX, BRANCH, checks=[CheckRun("test")])
    action = GithubPullRequest.model_validate(
        {"type": "github.pull_request", "merge": True, "timeout": "1h"}
    )
    outcome = await runner.pull_request(step(client, phalanx_branch=BRANCH), action)
    assert outcome.summary == (
        f"{PHALANX}#{pull.number} merged (https://github.com/{PHALANX}/pull/{pull.number})"
    )
    assert len(fake.of("PUT")) == 1


@pytest.mark.asyncio
async def test_runner_waits_while_checks_are_pending(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """Checks pending: the step reports and waits (no merge); closed unmerged then fails it."""
    pull = fake.pull(PHALANX, BRANCH, checks=[CheckRun("test", "in_progress", None)])
    action = GithubPullRequest.model_validate(
        {"type": "github.pull_request", "merge": True, "timeout": "1h"}
    )
    ctx = step(client, phalanx_branch=BRANCH)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        pull.state = "closed"  # someone closes it while the bot waits

    ctx.clock = SimpleNamespace(sleep=sleep)
    with pytest.raises(IntegrationError, match="was closed without merging"):
        await runner.pull_request(ctx, action)
    url = f"https://github.com/{PHALANX}/pull/{pull.number}"
    assert ctx.lines == [
        f"{PHALANX}#{pull.number} open, checks pending ({url}): waiting for it to be merged"
    ]
    pull.state = "open"
    assert await runner.live(ctx, action) == (
        f"Now on GitHub: {PHALANX}#{pull.number} open, checks pending ({url})"
    )
    assert fake.of("PUT") == []
    assert slept == [60.0]  # the default poll: a minute


@pytest.mark.asyncio
async def test_runner_checks_the_configuration_branches(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """The branches step names the repositories where the cycle's branch is missing."""
    fake.push("lsst-ts/ts_config_ocs", "cycle/0040")
    fake.repo("lsst-ts/ts_config_mttcs")
    action = GithubBranches.model_validate({"type": "github.branches", "timeout": "5m"})
    with pytest.raises(IntegrationError, match=r"not pushed to lsst-ts/ts_config_mttcs$"):
        await runner.branches(step(client, cycle="cycle/0040"), action)
    fake.push("lsst-ts/ts_config_mttcs", "cycle/0040")
    outcome = await runner.branches(step(client, cycle="cycle/0040"), action)
    assert outcome.summary == "branch cycle/0040 pushed to 2 repositories"


# --- rate limits ---


@pytest.mark.parametrize("status", [403, 429])
@pytest.mark.asyncio
async def test_primary_rate_limit_says_when_it_resets(
    client: GitHubClient, fake: FakeGitHub, status: int
) -> None:
    """403/429 with ``x-ratelimit-remaining: 0``: when ``x-ratelimit-reset`` comes."""
    fake.rate_limit, fake.limit_status = "primary", status
    with pytest.raises(RateLimited) as caught:
        await client.branch_exists(PHALANX, "main")
    resets = datetime.fromtimestamp(fake.reset_at, UTC)
    assert caught.value.resets_at == resets
    assert caught.value.status == status
    assert f"rate limit exhausted (core); it resets at {resets:%H:%M:%S} UTC" in str(caught.value)
    assert re.search(r"\(in (599|600) s\)$", caught.value.message)


@pytest.mark.asyncio
async def test_secondary_rate_limit_says_how_long_to_wait(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """403 with ``retry-after``: a secondary limit, retry after that many seconds."""
    fake.rate_limit = "secondary"
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await client.pull_request(PHALANX, BRANCH)
    assert "secondary rate limit; retry after 60 s" in caught.value.message
    assert 59 <= (caught.value.resets_at - before).total_seconds() <= 62
    assert len(fake.calls) == 1


# --- ping and cancel ---


@pytest.mark.asyncio
async def test_ping_reads_the_rate_limit(client: GitHubClient, fake: FakeGitHub) -> None:
    """``GET /rate_limit`` with the token: reachable, token good, calls left."""
    await client.ping()
    assert [c.path for c in fake.calls] == ["/rate_limit"]
    assert fake.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.asyncio
async def test_ping_with_the_limit_exhausted(client: GitHubClient, fake: FakeGitHub) -> None:
    """``/rate_limit`` answers (it is never limited) with 0 left: ping fails saying when."""
    fake.rate_limit = "primary"
    with pytest.raises(RateLimited, match="it resets at"):
        await client.ping()


@pytest.mark.asyncio
async def test_ping_with_a_bad_token(server: TestServer) -> None:
    """401 ``Bad credentials``, and the token nowhere in the error."""
    client = make_client(server, token=WRONG)
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.ping()
    finally:
        await client.aclose()
    assert caught.value.status == 401
    assert "the token was refused (Bad credentials)" in caught.value.message
    assert WRONG not in str(caught.value)


@pytest.mark.asyncio
async def test_cancel_has_nothing_to_stop(client: GitHubClient, fake: FakeGitHub) -> None:
    """No operation runs on GitHub for us: cancel makes no call."""
    await client.cancel()
    assert fake.calls == []


# --- transport and server errors ---


@pytest.mark.asyncio
async def test_server_error_is_reported_and_not_retried(
    client: GitHubClient, fake: FakeGitHub
) -> None:
    """A 500 is an error with GitHub's message, asked once."""
    fake.misbehave(path="/branches/", status=500, times=None)
    with pytest.raises(IntegrationError) as caught:
        await client.branch_exists(PHALANX, "main")
    assert caught.value.status == 500
    assert caught.value.message.endswith("server error: Server Error")
    assert len(fake.calls) == 1


@pytest.mark.asyncio
async def test_get_is_retried_after_a_502(client: GitHubClient, fake: FakeGitHub) -> None:
    """A 502 from GitHub's front end: the GET is asked again and succeeds."""
    fake.misbehave(method="GET", status=502, body="<html>502 Bad Gateway</html>", times=1)
    assert await client.branch_exists(PHALANX, "main") is True
    assert len(fake.calls) == 2


@pytest.mark.asyncio
async def test_forbidden_without_rate_limit(client: GitHubClient, fake: FakeGitHub) -> None:
    """A 403 that is not a rate limit is a missing permission, in GitHub's words."""
    body = '{"message":"Resource not accessible by personal access token","status":"403"}'
    fake.misbehave(method="PUT", status=403, body=body)
    pull = fake.pull(PHALANX, BRANCH)
    with pytest.raises(IntegrationError) as caught:
        await client.merge(PHALANX, pull.number)
    assert not isinstance(caught.value, RateLimited)
    assert "forbidden: Resource not accessible by personal access token" in caught.value.message


@pytest.mark.asyncio
async def test_slow_github_times_out(server: TestServer, fake: FakeGitHub) -> None:
    """No answer within the timeout: IntegrationTimeout naming the call and the host."""
    client = make_client(server, timeout=0.2)
    fake.misbehave(status=None, delay=30.0)
    started = time.monotonic()
    try:
        with pytest.raises(IntegrationTimeout) as caught:
            await client.branch_exists(PHALANX, "main")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 20  # gave up: did not wait out the fake's 30 s
    assert "GET /repos/lsst-sqre/phalanx/branches/main: no answer within 0.2 s" in str(caught.value)


@pytest.mark.asyncio
async def test_malformed_json_is_an_error(client: GitHubClient, fake: FakeGitHub) -> None:
    """A 200 that is not JSON is an error with the body's tail."""
    fake.misbehave(path="/pulls", status=200, body="{'not': json", content_type="text/plain")
    with pytest.raises(IntegrationError) as caught:
        await client.pull_request(PHALANX, BRANCH)
    assert "malformed answer (not JSON)" in caught.value.message
    assert caught.value.detail == "{'not': json"


@pytest.mark.asyncio
async def test_a_list_that_is_not_a_list(client: GitHubClient, fake: FakeGitHub) -> None:
    """A JSON object where the pull list should be is malformed too."""
    fake.misbehave(path="/pulls", status=200, body='{"message": "hello"}')
    with pytest.raises(IntegrationError, match=r"malformed answer \(not a JSON array\)"):
        await client.pull_request(PHALANX, BRANCH)


@pytest.mark.asyncio
async def test_connection_refused() -> None:
    """Nothing listening: a clear error after the retries, no hang."""
    port = free_port()
    client = GitHubClient(
        base_url=f"http://127.0.0.1:{port}", token=SecretStr(TOKEN), retry_delay=0.01
    )
    try:
        with pytest.raises(IntegrationError) as caught:
            await client.branch_exists(PHALANX, "main")
    finally:
        await client.aclose()
    assert "cannot reach GitHub" in caught.value.message
    assert caught.value.host == f"127.0.0.1:{port}"
