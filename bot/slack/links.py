"""Links under a step's message that open what they name: the app, the project's list, the PR.

ArgoCD's UI routes an application at ``/applications/<namespace>/<name>`` (argo-cd
``ui/src/app/applications/components/utils.tsx`` ``getAppUrl``; the older
``/applications/<name>`` route finds an app only in ArgoCD's own namespace) and filters its
application list by project with ``?proj=`` (``applications-list.tsx`` reads ``proj``). Phalanx
keeps its Application objects in namespace ``argocd``. A pull request links to its page (its
``html_url``, which the GitHub runner writes in its progress and summary), or, before it is
found, to the list of pull requests from the run's branch.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.config.sites import SiteConfig
from state.actions import ArgocdSync, GithubPullRequest
from state.camera_actions import CcsSetAvailable
from state.run import StepState

ARGOCD_NAMESPACE = "argocd"
"""Where Phalanx's Application objects live (their ``metadata.namespace``)."""

_PR = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/pull/(\d+)")
"""A pull request's page, as the GitHub runner writes it."""


def argocd_links(action: ArgocdSync, site: SiteConfig) -> str:
    """The project's application list, or each app's page."""
    root = site.argocd_url
    if action.project is not None:
        url = f"{root}/applications?proj={quote(action.project, safe='')}"
        return f"<{url}|ArgoCD project {action.project}>"
    return " · ".join(
        f"<{root}/applications/{ARGOCD_NAMESPACE}/{quote(app, safe='')}|ArgoCD {app}>"
        for app in action.apps
    )


def pull_request_link(action: GithubPullRequest, found_in: str, branch: str | None) -> str:
    """The pull request's page if ``found_in`` names it, else the branch's pull requests."""
    found = _PR.search(found_in)
    if found:
        return f"<{found.group()}|{action.repo}#{found.group(1)}>"
    query = quote(f"is:pr head:{branch}" if branch else "is:pr", safe=":/")
    return f"<https://github.com/{action.repo}/pulls?q={query}|pull requests from {branch}>"


def step_links(state: StepState, site: SiteConfig, progress: str | None, branch: str | None) -> str:
    """The links for a step's message (empty when it has none)."""
    action = state.step.action
    if action.type.startswith("love."):
        return f"<{site.love_url}|LOVE>"
    if isinstance(action, ArgocdSync):
        return argocd_links(action, site)
    if isinstance(action, GithubPullRequest):
        return pull_request_link(action, f"{state.outcome or ''} {progress or ''}", branch)
    if action.type.startswith("efd.") or isinstance(action, CcsSetAvailable):
        return f"<https://{site.fqdn}/chronograf|Chronograf> · <{site.love_url}|LOVE>"
    return ""
