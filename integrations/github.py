"""GitHub: the run's Phalanx branch, its pull request and checks; configuration branches.

:class:`GitHubClient` talks to GitHub's REST API, version ``2022-11-28`` (docs.github.com/rest:
"Branches", "Pulls", "Check runs", "Commit statuses", "Rate limit"); see its docstring.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Literal, Protocol

from pydantic import SecretStr

from integrations.base import Integration
from integrations.errors import IntegrationError
from integrations.http import Answer, BearerApi, body_message, items, obj, segment


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


# --- the real client ---------------------------------------------------------------------------

API_VERSION = "2022-11-28"
"""The REST API version asked for (``X-GitHub-Api-Version``)."""
_GOOD = frozenset({"success", "neutral", "skipped"})
"""Check run conclusions that do not block (as branch protection counts them)."""
_MAX_PAGES = 10
"""Pages of 100 check runs read at most (a commit with more is not a Phalanx commit)."""

Checks = Literal["success", "pending", "failure", "none"]


class RateLimited(IntegrationError):
    """GitHub refused the call for a rate limit; ``resets_at`` says when to try again."""

    def __init__(
        self, message: str, *, resets_at: datetime, host: str, status: int, detail: str
    ) -> None:
        self.resets_at = resets_at
        super().__init__("GitHub", message, host=host, status=status, detail=detail)


def reduce_checks(check_runs: list[dict[str, object]], combined: dict[str, object]) -> Checks:
    """One word for a commit's checks: its check runs and its commit statuses together.

    - ``failure``: a check run completed with a conclusion other than success, neutral or
      skipped (failure, cancelled, timed_out, action_required, startup_failure, stale), or the
      combined status is ``failure`` (a status said error or failure). Failure wins over
      pending: the lead should hear at once that the pull request needs work.
    - ``pending``: else a check run not completed yet (queued, in_progress, waiting,
      requested, pending), or a combined status ``pending`` with at least one status.
    - ``success``: else at least one check run or status, all of them good.
    - ``none``: no check runs and no statuses at all (the combined status alone would say
      ``pending`` then, which would wait forever).
    """
    statuses = combined.get("total_count")
    has_statuses = isinstance(statuses, int) and statuses > 0
    state = combined.get("state") if has_statuses else None
    completed = [run for run in check_runs if run.get("status") == "completed"]
    if state in {"failure", "error"} or any(
        run.get("conclusion") not in _GOOD for run in completed
    ):
        return "failure"
    if state == "pending" or len(completed) < len(check_runs):
        return "pending"
    if check_runs or has_statuses:
        return "success"
    return "none"


class GitHubClient:
    """GitHub's REST API v3 (``X-GitHub-Api-Version: 2022-11-28``), with a token.

    Follows docs.github.com/rest (version 2022-11-28): ``GET /repos/{o}/{r}/branches/{b}``
    (404 ``Branch not found`` for a missing branch, plain ``Not Found`` for a repository we
    cannot see), ``GET /repos/{o}/{r}/pulls?head=o:b&state=all`` (list items carry
    ``merged_at`` but no ``merged``), ``GET .../commits/{sha}/check-runs`` (``filter=latest``
    by default: the latest run of each name), ``GET .../commits/{sha}/status`` (combined),
    ``PUT /repos/{o}/{r}/pulls/{n}/merge`` (405 not mergeable, 409 head moved when ``sha`` is
    given) and ``GET /rate_limit``. Rate limits (docs "Rate limits for the REST API"): 403 or
    429 with ``x-ratelimit-remaining: 0`` (until ``x-ratelimit-reset``, epoch seconds) or with
    ``retry-after`` (secondary limits).

    The token (fine-grained or a GitHub App's) needs read access to contents, pull requests,
    checks and commit statuses of the repositories, and write access to contents and pull
    requests where the bot merges.
    """

    system = "GitHub"

    def __init__(
        self,
        *,
        token: SecretStr,
        base_url: str = "https://api.github.com",
        timeout: float = 30.0,
        retries: int = 2,
        retry_delay: float = 1.0,
        merge_method: Literal["merge", "squash", "rebase"] = "merge",
    ) -> None:
        """``base_url`` is the API root (a setting, so tests can point it elsewhere).

        ``timeout`` bounds every call (seconds, whole request); a GET that met a refused
        connection or a 502/503/504 is tried ``retries`` more times, ``retry_delay`` apart
        (growing); a merge is sent once. ``merge_method`` must be one the repository allows.
        """
        self._api = BearerApi(
            system="GitHub",
            url=base_url,
            token=token,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            unreachable="GitHub",
            failure=self._failure,
        )
        self._merge_method = merge_method
        self.host = self._api.host
        self._heads: dict[tuple[str, int], str] = {}
        """(repo, number) -> the head commit whose checks we last read: a merge names it."""

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        await self._api.aclose()

    # --- the GitHub interface ---

    async def ping(self) -> None:
        """``GET /rate_limit``: GitHub answers, takes the token, and calls are left.

        Chosen over ``GET /user`` because it does not count against the rate limit and works
        for every kind of token (``/user`` answers 403 to a GitHub App installation token),
        while a bad token still gets 401. An exhausted limit fails the pre-flight with the time
        it resets.
        """
        doc = await self._api.get_object("/rate_limit")
        core = obj(obj(doc.get("resources")).get("core"))
        remaining, reset = core.get("remaining"), core.get("reset")
        if not isinstance(remaining, int) or not isinstance(reset, int):
            raise self._api.malformed("GET /rate_limit", 200, json.dumps(doc), "no resources.core")
        if remaining == 0:
            raise self._exhausted("GET /rate_limit", 200, reset, "core", json.dumps(core))

    async def branch_exists(self, repo: str, branch: str) -> bool:
        """Whether ``branch`` is pushed to ``repo`` (``a/b`` branches are one path segment)."""
        owner, name = _split(repo)
        path = f"/repos/{segment(owner)}/{segment(name)}/branches/{segment(branch)}"
        answer = await self._api.send("GET", path)
        status, text = answer.status, answer.text
        if status == HTTPStatus.OK:
            self._api.parse(f"GET {path}", answer, "object")
            return True
        if status == HTTPStatus.NOT_FOUND and _message(text).lower() == "branch not found":
            return False
        if status == HTTPStatus.NOT_FOUND:
            raise self._unknown_repo(repo, text)
        raise self._failure(f"GET {path}", answer)

    async def pull_request(self, repo: str, branch: str) -> PullRequest | None:
        """The most recently created pull request from ``owner:branch``, any state.

        ``merged`` is ``merged_at`` being set (list items have no ``merged`` field); ``checks``
        is :func:`reduce_checks` of the head commit's check runs and combined status.
        """
        owner, name = _split(repo)
        path = f"/repos/{segment(owner)}/{segment(name)}/pulls"
        query = {
            "head": f"{owner}:{branch}",
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": "1",
        }
        answer = await self._api.send("GET", path, params=query)
        status, text = answer.status, answer.text
        if status == HTTPStatus.NOT_FOUND:
            raise self._unknown_repo(repo, text)
        if status >= HTTPStatus.BAD_REQUEST:
            raise self._failure(f"GET {path}", answer)
        pulls = items(self._api.parse(f"GET {path}", answer, "array"))
        if not pulls:
            return None
        pr = obj(pulls[0])
        number, state, url = pr.get("number"), pr.get("state"), pr.get("html_url")
        sha = obj(pr.get("head")).get("sha")
        if (
            not isinstance(number, int)
            or state not in {"open", "closed"}
            or not isinstance(url, str)
            or not isinstance(sha, str)
        ):
            raise self._api.malformed(f"GET {path}", status, text, "not a pull request")
        checks = await self._checks(owner, name, sha)
        self._heads[(repo, number)] = sha
        return PullRequest(
            repo=repo,
            number=number,
            url=url,
            branch=branch,
            state="open" if state == "open" else "closed",
            merged=pr.get("merged_at") is not None,
            checks=checks,
        )

    async def merge(self, repo: str, number: int) -> None:
        """Merge the pull request, if its head is still the commit whose checks we read.

        The ``sha`` of the head seen by the last :meth:`pull_request` is sent, so a commit
        pushed since (whose checks nobody saw) makes GitHub refuse with 409 instead of merging.
        """
        owner, name = _split(repo)
        path = f"/repos/{segment(owner)}/{segment(name)}/pulls/{number}/merge"
        body: dict[str, object] = {"merge_method": self._merge_method}
        head = self._heads.get((repo, number))
        if head is not None:
            body["sha"] = head
        answer = await self._api.send("PUT", path, body=body)
        status, text = answer.status, answer.text
        said = _message(text)
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            raise self._api.error(
                f"{repo}#{number} cannot be merged: {said or 'not mergeable'}"
                " (checks, reviews, conflicts or the merge method)",
                status=status,
                text=text,
            )
        if status == HTTPStatus.CONFLICT:
            raise self._api.error(
                f"{repo}#{number} not merged: its head moved since its checks were read"
                f" ({said or 'conflict'}); look at it again",
                status=status,
                text=text,
            )
        if status == HTTPStatus.NOT_FOUND:
            raise self._api.error(
                f"{repo}#{number} not found (or the token cannot see {repo})",
                status=status,
                text=text,
            )
        if status >= HTTPStatus.BAD_REQUEST:
            raise self._failure(f"PUT {path}", answer)
        merged = obj(self._api.parse(f"PUT {path}", answer, "object"))
        if merged.get("merged") is not True:
            raise self._api.error(
                f"{repo}#{number} not merged: {said or 'GitHub did not say merged'}",
                status=status,
                text=text,
            )
        self._heads.pop((repo, number), None)

    async def cancel(self) -> None:
        """Nothing to stop: GitHub runs no operation of ours.

        Every call is one request bounded by its timeout, and a merge is atomic on GitHub's
        side; the waiting for a person to merge is the runner's loop, which the engine cancels
        as a task. So there is nothing this client could still be doing.
        """

    # --- the checks ---

    async def _checks(self, owner: str, name: str, sha: str) -> Checks:
        """:func:`reduce_checks` of the commit's check runs (every page) and combined status."""
        base = f"/repos/{segment(owner)}/{segment(name)}/commits/{segment(sha)}"
        runs: list[dict[str, object]] = []
        for page in range(1, _MAX_PAGES + 1):
            doc = await self._api.get_object(
                f"{base}/check-runs", params={"per_page": "100", "page": str(page)}
            )
            batch = [obj(run) for run in items(doc.get("check_runs"))]
            runs.extend(batch)
            total = doc.get("total_count")
            if not batch or not isinstance(total, int) or len(runs) >= total:
                break
        combined = await self._api.get_object(f"{base}/status")
        return reduce_checks(runs, combined)

    # --- errors ---

    def _unknown_repo(self, repo: str, text: str) -> IntegrationError:
        return self._api.error(
            f"repository {repo} not found, or the token cannot see it", status=404, text=text
        )

    def _exhausted(
        self, what: str, status: int, reset: int, resource: str, text: str
    ) -> RateLimited:
        resets_at = datetime.fromtimestamp(reset, UTC)
        wait = max(0, round(reset - time.time()))
        return RateLimited(
            f"{what}: rate limit exhausted ({resource}); it resets at"
            f" {resets_at:%H:%M:%S} UTC (in {wait} s)",
            resets_at=resets_at,
            host=self.host,
            status=status,
            detail=self._api.scrub(text),
        )

    def _failure(self, what: str, answer: Answer) -> IntegrationError:
        """The error for an HTTP error status: rate limits first, then by status."""
        status, headers, text = answer.status, answer.headers, answer.text
        said = _message(text)
        limited = status in {HTTPStatus.FORBIDDEN, HTTPStatus.TOO_MANY_REQUESTS}
        reset = headers.get("x-ratelimit-reset", "")
        if limited and headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            resource = headers.get("x-ratelimit-resource", "core")
            return self._exhausted(what, status, int(reset), resource, text)
        retry_after = headers.get("retry-after", "")
        if limited and (retry_after.isdigit() or "rate limit" in said.lower()):
            seconds = int(retry_after) if retry_after.isdigit() else 60
            resets_at = datetime.now(UTC) + timedelta(seconds=seconds)
            return RateLimited(
                f"{what}: secondary rate limit; retry after {seconds} s ({resets_at:%H:%M:%S} UTC)",
                resets_at=resets_at,
                host=self.host,
                status=status,
                detail=self._api.scrub(text),
            )
        return self._api.refused(
            what,
            answer,
            said=said,
            unauthorized=f"the token was refused ({said or 'unauthorized'}): renew it",
            forbidden=f"forbidden: {said or 'no permission'} (the token lacks a permission)",
        )


def _split(repo: str) -> tuple[str, str]:
    """``owner/name`` into its two parts."""
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise IntegrationError("GitHub", f"repository {repo!r} is not owner/name")
    return owner, name


def _message(text: str) -> str:
    """GitHub's ``message`` in an error body (``{"message": ..., "documentation_url": ...}``)."""
    return body_message(text, "message")
