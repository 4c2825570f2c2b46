"""GitHub: the run's Phalanx branch, its pull request and checks; configuration branches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from integrations.base import Integration


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as the step shows it."""

    repo: str
    number: int
    url: str
    branch: str
    state: Literal["open", "closed"]
    merged: bool
    checks: Literal["success", "pending", "failure", "none"]


class GitHub(Integration, Protocol):
    """GitHub's REST API, read-mostly."""

    async def branch_exists(self, repo: str, branch: str) -> bool:
        """Whether ``branch`` is pushed to ``repo``."""
        ...

    async def pull_request(self, repo: str, branch: str) -> PullRequest | None:
        """The latest pull request from ``branch`` in ``repo``, if there is one."""
        ...

    async def merge(self, repo: str, number: int) -> None:
        """Merge the pull request (only where the site opted in: it needs rights)."""
        ...
