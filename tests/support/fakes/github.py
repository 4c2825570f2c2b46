"""A fake of GitHub's REST API (2022-11-28) on 127.0.0.1: repos, branches, pulls, checks, merge.

It serves the paths, verbs, bodies and errors the bot uses, as docs.github.com/rest describes
them:

- ``GET /repos/{o}/{r}/branches/{branch}``: the branch, or 404 ``Branch not found``; a repo it
  does not have is 404 ``Not Found``. Like GitHub it takes a branch with slashes encoded
  (``a%2Fb``) or not; the raw path is recorded so a test can see which was sent;
- ``GET /repos/{o}/{r}/pulls?head=o:branch&state=...&sort=created&direction=desc``: list items
  with ``merged_at`` and no ``merged`` field, as GitHub's list does;
- ``GET /repos/{o}/{r}/commits/{sha}/check-runs`` (paginated, ``total_count``) and
  ``GET .../commits/{sha}/status`` (the combined state GitHub computes);
- ``PUT /repos/{o}/{r}/pulls/{n}/merge``: 200 merged; 405 ``Pull Request is not mergeable``
  (closed, or not mergeable) or a disallowed merge method; 409 ``Head branch was modified...``
  when ``sha`` is not the head;
- ``GET /rate_limit``: never limited itself.

Every call needs ``Authorization: Bearer <token>`` (401 ``Bad credentials``) and is recorded
with its headers. Rate-limit modes answer 403 or 429 with ``x-ratelimit-remaining: 0`` and
``x-ratelimit-reset`` (primary) or ``retry-after`` (secondary); faults make chosen calls slow,
fail with a status, or answer malformed JSON.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

TOKEN = "ghp_test_token_value"  # noqa: S105  # a test value, not a secret
DOCS = "https://docs.github.com/rest"
RECORDED_HEADERS = ("Authorization", "Accept", "X-GitHub-Api-Version", "User-Agent")


@dataclass
class CheckRun:
    """One check run on a commit."""

    name: str
    status: str = "completed"
    """``queued``, ``in_progress``, ``completed``, ``waiting``, ``requested``, ``pending``."""
    conclusion: str | None = "success"
    """``success``, ``failure``, ``neutral``, ``cancelled``, ``skipped``, ``timed_out``..."""


@dataclass
class Pull:
    """A pull request."""

    number: int
    branch: str
    head: str
    state: Literal["open", "closed"] = "open"
    merged_at: str | None = None
    mergeable: bool = True
    created: int = 0


@dataclass
class Repo:
    """A repository: its branches (name -> head commit) and pull requests."""

    owner: str
    name: str
    branches: dict[str, str] = field(default_factory=dict)
    pulls: list[Pull] = field(default_factory=list)
    merge_methods: frozenset[str] = frozenset({"merge", "squash", "rebase"})


@dataclass
class Call:
    """One request the client made."""

    method: str
    path: str
    """The raw (still encoded) path."""
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class Fault:
    """Make matching calls misbehave: wait ``delay``, then answer ``status`` with ``body``."""

    method: str | None = None
    path: str = ""
    """A substring of the decoded path (``""``: every path)."""
    status: int | None = 500
    """``None``: answer normally after the delay."""
    body: str | None = None
    delay: float = 0.0
    times: int | None = 1
    content_type: str = "application/json"


@dataclass
class FakeGitHub:
    """The fake's state and knobs."""

    token: str = TOKEN
    repos: dict[str, Repo] = field(default_factory=dict)
    check_runs: dict[str, list[CheckRun]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """Commit -> its statuses (``state``: error, failure, pending, success; ``context``)."""
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rate_limit: Literal["primary", "secondary"] | None = None
    limit_status: int = 403
    """GitHub answers a rate limit with 403 or 429."""
    reset_at: int = field(default_factory=lambda: int(time.time()) + 600)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(101))
    _commits: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def repo(self, full_name: str) -> Repo:
        """The repository ``owner/name``, created empty (with ``main``) if new."""
        if full_name not in self.repos:
            owner, name = full_name.split("/")
            self.repos[full_name] = Repo(owner, name, {"main": self.commit()})
        return self.repos[full_name]

    def commit(self) -> str:
        """A new commit id."""
        return hashlib.sha1(str(next(self._commits)).encode(), usedforsecurity=False).hexdigest()

    def push(self, full_name: str, branch: str) -> str:
        """A new commit on the branch (it moves the head of its pull requests)."""
        repo = self.repo(full_name)
        sha = repo.branches[branch] = self.commit()
        for pull in repo.pulls:
            if pull.branch == branch and pull.state == "open":
                pull.head = sha
        return sha

    def pull(
        self,
        full_name: str,
        branch: str,
        *,
        checks: list[CheckRun] | None = None,
        **kwargs: Any,
    ) -> Pull:
        """A pull request from ``branch`` (pushed if new) with check runs on its head."""
        repo = self.repo(full_name)
        head = repo.branches.get(branch) or self.push(full_name, branch)
        number = next(self._numbers)
        pull = Pull(number, branch, head, created=number, **kwargs)
        repo.pulls.append(pull)
        if checks is not None:
            self.check_runs[head] = checks
        return pull

    def misbehave(self, **kwargs: Any) -> Fault:
        """Add a :class:`Fault`."""
        fault = Fault(**kwargs)
        self.faults.append(fault)
        return fault

    def of(self, method: str, path: str = "") -> list[Call]:
        """The calls with this method whose raw path contains ``path``."""
        return [c for c in self.calls if c.method == method and path in c.path]

    def app(self) -> web.Application:
        """The aiohttp application to serve (the API root is the server's root)."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/rate_limit", self._rate_limit)
        app.router.add_get("/repos/{owner}/{repo}/branches/{branch:.+}", self._branch)
        app.router.add_get("/repos/{owner}/{repo}/pulls", self._pulls)
        app.router.add_get("/repos/{owner}/{repo}/commits/{ref}/check-runs", self._check_runs)
        app.router.add_get("/repos/{owner}/{repo}/commits/{ref}/status", self._status)
        app.router.add_put("/repos/{owner}/{repo}/pulls/{number}/merge", self._merge)
        return app

    # --- plumbing ---

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.body_exists:
            text = await request.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        headers = {h: request.headers[h] for h in RECORDED_HEADERS if h in request.headers}
        path = request.raw_path.split("?")[0]
        self.calls.append(Call(request.method, path, dict(request.query), headers, body))
        injected = await self._fault(request)
        if injected is not None:
            return injected
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return error(401, "Requires authentication")
        if authorization != f"Bearer {self.token}":
            return error(401, "Bad credentials")
        if self.rate_limit is not None and request.path != "/rate_limit":
            return self._limited()
        response: web.StreamResponse = await handler(request)
        response.headers.update(self._rate_headers(remaining=4999))
        return response

    async def _fault(self, request: web.Request) -> web.Response | None:
        for fault in self.faults:
            if fault.times == 0:
                continue
            if fault.method not in {None, request.method} or fault.path not in request.path:
                continue
            if fault.times is not None:
                fault.times -= 1
            await asyncio.sleep(fault.delay)
            if fault.status is None:
                return None
            text = fault.body
            if text is None:
                text = json.dumps({"message": "Server Error"})
            return web.Response(status=fault.status, text=text, content_type=fault.content_type)
        return None

    def _rate_headers(self, *, remaining: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-used": str(5000 - remaining),
            "x-ratelimit-resource": "core",
        }

    def _limited(self) -> web.Response:
        if self.rate_limit == "primary":
            response = error(
                self.limit_status,
                "API rate limit exceeded for user ID 4242. If you reach out to GitHub Support"
                " for help, please include the request ID 9F3C:1B2A:5E6D7F8.",
            )
            response.headers.update(self._rate_headers(remaining=0))
            return response
        response = error(
            self.limit_status,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you"
            " try again. If you reach out to GitHub Support for help, please include the"
            " request ID 9F3C:1B2A:5E6D7F8.",
        )
        response.headers.update(self._rate_headers(remaining=4321))
        response.headers["retry-after"] = "60"
        return response

    def _repo(self, request: web.Request) -> Repo | web.Response:
        full_name = f"{request.match_info['owner']}/{request.match_info['repo']}"
        repo = self.repos.get(full_name)
        return repo if repo is not None else error(404, "Not Found")

    def _known(self, sha: str) -> bool:
        return any(
            sha in repo.branches.values() or any(p.head == sha for p in repo.pulls)
            for repo in self.repos.values()
        )

    # --- handlers ---

    async def _rate_limit(self, _request: web.Request) -> web.Response:
        remaining = 0 if self.rate_limit == "primary" else 4999
        core = {"limit": 5000, "used": 5000 - remaining, "remaining": remaining}
        core["reset"] = self.reset_at
        return web.json_response(
            {"resources": {"core": core, "search": dict(core, limit=30)}, "rate": core}
        )

    async def _branch(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if isinstance(repo, web.Response):
            return repo
        name = request.match_info["branch"]
        sha = repo.branches.get(name)
        if sha is None:
            return error(404, "Branch not found")
        return web.json_response(
            {
                "name": name,
                "commit": {"sha": sha, "url": f"https://api.github.com/commits/{sha}"},
                "protected": name == "main",
                "_links": {"html": f"https://github.com/{repo.owner}/{repo.name}/tree/{name}"},
            }
        )

    async def _pulls(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if isinstance(repo, web.Response):
            return repo
        query = request.query
        pulls = list(repo.pulls)
        if "head" in query:
            owner, _, branch = query["head"].partition(":")
            pulls = [p for p in pulls if owner == repo.owner and p.branch == branch]
        state = query.get("state", "open")
        if state != "all":
            pulls = [p for p in pulls if p.state == state]
        pulls.sort(key=lambda p: p.created, reverse=query.get("direction", "desc") == "desc")
        per_page = int(query.get("per_page", "30"))
        page = int(query.get("page", "1"))
        chosen = pulls[(page - 1) * per_page : page * per_page]
        return web.json_response([_pull_json(repo, p) for p in chosen])

    async def _check_runs(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if isinstance(repo, web.Response):
            return repo
        sha = request.match_info["ref"]
        if not self._known(sha):
            return error(422, f"No commit found for SHA: {sha}")
        runs = self.check_runs.get(sha, [])
        per_page = int(request.query.get("per_page", "30"))
        page = int(request.query.get("page", "1"))
        chosen = runs[(page - 1) * per_page : page * per_page]
        start = (page - 1) * per_page
        items = [_run_json(sha, start + i, run) for i, run in enumerate(chosen)]
        return web.json_response({"total_count": len(runs), "check_runs": items})

    async def _status(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if isinstance(repo, web.Response):
            return repo
        sha = request.match_info["ref"]
        if not self._known(sha):
            return error(422, f"No commit found for SHA: {sha}")
        statuses = self.statuses.get(sha, [])
        states = {s["state"] for s in statuses}
        if states & {"error", "failure"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return web.json_response(
            {
                "state": state,
                "statuses": [
                    {"id": i + 1, "state": s["state"], "context": s["context"]}
                    for i, s in enumerate(statuses)
                ],
                "sha": sha,
                "total_count": len(statuses),
                "repository": {"full_name": f"{repo.owner}/{repo.name}"},
            }
        )

    async def _merge(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        if isinstance(repo, web.Response):
            return repo
        number = int(request.match_info["number"])
        pull = next((p for p in repo.pulls if p.number == number), None)
        if pull is None:
            return error(404, "Not Found")
        body = await request.json() if request.body_exists else {}
        method = body.get("merge_method", "merge")
        if pull.state != "open" or not pull.mergeable:
            return error(405, "Pull Request is not mergeable")
        if method not in repo.merge_methods:
            kind = {"merge": "Merge commits", "squash": "Squash merges", "rebase": "Rebase"}
            return error(405, f"{kind.get(method, method)} are not allowed on this repository.")
        if "sha" in body and body["sha"] != pull.head:
            return error(409, "Head branch was modified. Review and try the merge again.")
        pull.state = "closed"
        pull.merged_at = "2026-01-05T10:00:00Z"
        merged = self.commit()
        repo.branches["main"] = merged
        return web.json_response(
            {"sha": merged, "merged": True, "message": "Pull Request successfully merged"}
        )


def error(status: int, message: str) -> web.Response:
    """An error as GitHub's REST API answers it."""
    return web.json_response(
        {"message": message, "documentation_url": DOCS, "status": str(status)}, status=status
    )


def _pull_json(repo: Repo, pull: Pull) -> dict[str, Any]:
    full_name = f"{repo.owner}/{repo.name}"
    return {
        "url": f"https://api.github.com/repos/{full_name}/pulls/{pull.number}",
        "id": 1_000_000 + pull.number,
        "number": pull.number,
        "state": pull.state,
        "title": f"Update for {pull.branch}",
        "html_url": f"https://github.com/{full_name}/pull/{pull.number}",
        "head": {"label": f"{repo.owner}:{pull.branch}", "ref": pull.branch, "sha": pull.head},
        "base": {"label": f"{repo.owner}:main", "ref": "main", "sha": repo.branches["main"]},
        "merged_at": pull.merged_at,
        "closed_at": pull.merged_at,
        "created_at": "2026-01-05T09:00:00Z",
        "draft": False,
    }


def _run_json(sha: str, index: int, run: CheckRun) -> dict[str, Any]:
    return {
        "id": 5_000_000 + index,
        "name": run.name,
        "head_sha": sha,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": "2026-01-05T09:01:00Z",
        "completed_at": "2026-01-05T09:05:00Z" if run.status == "completed" else None,
        "app": {"slug": "github-actions"},
    }
