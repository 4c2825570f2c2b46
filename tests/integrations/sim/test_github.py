"""Simulated GitHub: configuration branches and the Phalanx pull request over time."""

from __future__ import annotations

from typing import Literal

import pytest

from integrations.errors import IntegrationError
from integrations.github import PullRequest
from integrations.sim import SimObservatory
from tests.integrations.sim.conftest import RELEASE, ManualClock, site_of

PHALANX = "lsst-sqre/phalanx"
BRANCH = "tickets/DM-48000"


def pr(
    state: Literal["open", "closed"],
    *,
    merged: bool,
    checks: Literal["success", "pending", "failure", "none"],
) -> PullRequest:
    """The run's Phalanx pull request as GitHub shows it."""
    return PullRequest(
        repo=PHALANX,
        number=5123,
        url="https://github.com/lsst-sqre/phalanx/pull/5123",
        branch=BRANCH,
        state=state,
        merged=merged,
        checks=checks,
    )


@pytest.mark.asyncio
async def test_cycle_branch_in_config_repos(summit: SimObservatory) -> None:
    """The cycle branch is pushed to every configuration repository, nothing else is."""
    repos = site_of("summit").config_repos
    assert repos == (
        "lsst-ts/ts_config_ocs", "lsst-ts/ts_config_mttcs", "lsst-ts/ts_config_attcs"
    )  # fmt: skip
    for repo in repos:
        assert await summit.github.branch_exists(repo, RELEASE.cycle)
        assert not await summit.github.branch_exists(repo, "c0041")
    assert not await summit.github.branch_exists("lsst-ts/ts_config_scheduler", "c0040")
    assert not await summit.github.branch_exists(PHALANX, "c0040")


@pytest.mark.asyncio
async def test_pull_request_over_time(summit: SimObservatory, clock: ManualClock) -> None:
    """Open with checks pending, then checks pass at 15 min, then merged at 50 min."""
    assert await summit.github.pull_request(PHALANX, BRANCH) == pr(
        "open", merged=False, checks="pending"
    )
    clock.advance(899)
    assert (await summit.github.pull_request(PHALANX, BRANCH)) == pr(
        "open", merged=False, checks="pending"
    )
    clock.advance(1)
    assert await summit.github.pull_request(PHALANX, BRANCH) == pr(
        "open", merged=False, checks="success"
    )
    clock.advance(2099)
    found = await summit.github.pull_request(PHALANX, BRANCH)
    assert found is not None
    assert not found.merged
    clock.advance(1)
    assert await summit.github.pull_request(PHALANX, BRANCH) == pr(
        "closed", merged=True, checks="success"
    )


@pytest.mark.asyncio
async def test_merge_waits_for_checks(summit: SimObservatory, clock: ManualClock) -> None:
    """Merging before the checks pass is refused (405); after, the PR is merged at once."""
    with pytest.raises(IntegrationError) as caught:
        await summit.github.merge(PHALANX, 5123)
    assert caught.value.status == 405
    assert caught.value.message == "Pull Request is not mergeable"
    clock.advance(900)
    await summit.github.merge(PHALANX, 5123)
    assert await summit.github.pull_request(PHALANX, BRANCH) == pr(
        "closed", merged=True, checks="success"
    )


@pytest.mark.asyncio
async def test_merge_unknown_pull_request(summit: SimObservatory, clock: ManualClock) -> None:
    """Another number or repository is not found (404)."""
    clock.advance(900)
    for repo, number in ((PHALANX, 5124), ("lsst-ts/ts_config_ocs", 5123)):
        with pytest.raises(IntegrationError) as caught:
            await summit.github.merge(repo, number)
        assert caught.value.status == 404
    found = await summit.github.pull_request(PHALANX, BRANCH)
    assert found is not None
    assert not found.merged


@pytest.mark.asyncio
async def test_no_pull_request_for_other_branches(summit: SimObservatory) -> None:
    """Another branch, or another repository, has no pull request."""
    assert await summit.github.pull_request(PHALANX, "tickets/DM-1") is None
    assert await summit.github.pull_request("lsst-ts/ts_config_ocs", BRANCH) is None
