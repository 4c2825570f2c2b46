"""Simulated GitHub: the Phalanx pull request (checks pass, a person merges it), branches."""

from __future__ import annotations

from integrations.errors import IntegrationError
from integrations.github import PullRequest
from integrations.sim.part import Part


class SimGitHub(Part):
    """GitHub as the run sees it."""

    system = "GitHub"

    async def branch_exists(self, repo: str, branch: str) -> bool:
        """Whether the branch is pushed."""
        world = await self._enter()
        return branch in world.doc["branches"].get(repo, [])

    async def pull_request(self, repo: str, branch: str) -> PullRequest | None:
        """The Phalanx pull request, once opened."""
        world = await self._enter()
        pr = world.doc["pr"]
        if repo != pr["repo"] or branch != pr["branch"]:
            return None
        now = self._core.now()
        merged = pr["merged"] or now >= pr["merged_at"]
        return PullRequest(
            repo=repo,
            number=pr["number"],
            url=f"https://github.com/{repo}/pull/{pr['number']}",
            branch=branch,
            state="closed" if merged else "open",
            merged=merged,
            checks="success" if now >= pr["checks_at"] else "pending",
        )

    async def merge(self, repo: str, number: int) -> None:
        """Merge when the checks passed (GitHub answers 405 otherwise)."""
        world = await self._enter()
        pr = world.doc["pr"]
        if repo != pr["repo"] or number != pr["number"]:
            raise IntegrationError(self.system, "Not Found", status=404)
        if self._core.now() < pr["checks_at"]:
            raise IntegrationError(self.system, "Pull Request is not mergeable", status=405)
        pr["merged"] = True
        await self._core.save()
