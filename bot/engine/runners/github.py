"""GitHub: the Phalanx pull request merged; the configuration branches pushed."""

from __future__ import annotations

from bot.engine.runners.context import Outcome, StepContext
from integrations.errors import IntegrationError
from state.actions import GithubBranches, GithubPullRequest


async def pull_request(ctx: StepContext, action: GithubPullRequest) -> Outcome:
    """Wait until the run's branch has a merged pull request (merging it if opted in)."""
    branch = ctx.run.phalanx_branch
    if not branch:
        raise IntegrationError(
            "GitHub", "the run has no Phalanx branch: start it with one, or mark this step done"
        )
    github = ctx.systems.github
    while True:
        pr = await github.pull_request(action.repo, branch)
        if pr is None:
            raise IntegrationError("GitHub", f"no pull request from {branch} in {action.repo}")
        if pr.merged:
            return Outcome(f"{action.repo}#{pr.number} merged ({pr.url})")
        if pr.state == "closed":
            raise IntegrationError(
                "GitHub", f"{action.repo}#{pr.number} was closed without merging"
            )
        if action.merge and pr.checks == "success":
            await github.merge(action.repo, pr.number)
            continue
        await ctx.report(
            f"{action.repo}#{pr.number} open, checks {pr.checks}: waiting for it to be merged"
        )
        await ctx.clock.sleep(action.poll.total_seconds())


async def branches(ctx: StepContext, _action: GithubBranches) -> Outcome:
    """Every configuration repository of the site has the run's branch pushed.

    The branch is the site's ``config_branch`` with the run's cycle tag filled in.
    """
    if not ctx.run.cycle:
        raise IntegrationError("GitHub", "the run has no cycle tag naming the branch to check")
    repos, branch = ctx.site.config_repos, ctx.site.config_branch_of(ctx.run.cycle)
    if repos is None or branch is None:  # unset since the run started: never guessed
        raise IntegrationError(
            "configuration",
            f"config_repos/config_branch not set for {ctx.site.name}: do it by hand",
        )
    missing = [repo for repo in repos if not await ctx.systems.github.branch_exists(repo, branch)]
    if missing:
        raise IntegrationError("GitHub", f"branch {branch} not pushed to {', '.join(missing)}")
    return Outcome(f"branch {branch} pushed to {len(repos)} repositories")
