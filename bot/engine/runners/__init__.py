"""One runner per action type: the step's symbolic action made concrete for its site.

Runners only talk to the integration interfaces, so the same code drives the simulated
observatory and the real one. A runner returns an :class:`Outcome` or raises
:class:`integrations.errors.IntegrationError` with the real error; the engine turns either into
the step's result. Some actions also have a *preview*, shown while the step waits for the
lead's approval: the exact script configuration, the commands, what will be deleted, the diff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from bot.engine.runners import (
    announce,
    argocd,
    cameras,
    efd,
    github,
    hosts,
    kube,
    love,
    preflight,
    prepull,
)
from bot.engine.runners.context import Outcome, SiteSystems, StepContext
from integrations.base import Integration
from state.actions import (
    Announce,
    ArgocdSync,
    EfdWaitForStates,
    GithubBranches,
    GithubPullRequest,
    KubeCleanup,
    KubePrepull,
    LoveCommand,
    PreflightCheck,
    RunOtherScript,
    RunSetSummaryState,
    RunShutdownScript,
    SshSystemctl,
)
from state.camera_actions import CcsSetAvailable, LoveEnterControl

Runner = Callable[[StepContext, Any], Awaitable[Outcome]]
Preview = Callable[[StepContext, Any], Awaitable[str]]

RUNNERS: dict[type, Runner] = {
    PreflightCheck: preflight.check,
    Announce: announce.announce,
    RunShutdownScript: love.run_script,
    RunSetSummaryState: love.run_script,
    RunOtherScript: love.run_script,
    LoveCommand: love.command,
    EfdWaitForStates: efd.wait_for_states,
    SshSystemctl: hosts.systemctl,
    KubeCleanup: kube.cleanup,
    KubePrepull: prepull.prepull,
    GithubPullRequest: github.pull_request,
    GithubBranches: github.branches,
    ArgocdSync: argocd.sync,
    CcsSetAvailable: cameras.set_available,
    LoveEnterControl: cameras.enter_control,
}
"""The runner of each action type (``manual`` has none: a person does it)."""

PREVIEWS: dict[type, Preview] = {
    RunShutdownScript: love.preview_script,
    RunSetSummaryState: love.preview_script,
    RunOtherScript: love.preview_script,
    SshSystemctl: hosts.preview,
    KubeCleanup: kube.preview,
    KubePrepull: prepull.preview,
    ArgocdSync: argocd.preview,
    LoveEnterControl: cameras.preview_enter_control,
}
"""What the lead sees before approving, where there is more to see than the instructions."""

PROPOSALS: dict[type, Callable[[StepContext, Any], Awaitable[list[str]]]] = {
    RunSetSummaryState: love.propose,
}
"""For a step whose targets are the stragglers: what it proposes to the lead (the CSCs up)."""

LIVE: dict[type, Preview] = {
    ArgocdSync: argocd.live,
    GithubPullRequest: github.live,
    CcsSetAvailable: cameras.live,
    RunShutdownScript: love.live_queue,
    RunSetSummaryState: love.live_queue,
    RunOtherScript: love.live_queue,
}
"""What the lead sees of the real state when a step was interrupted or failed (before Retry),
or went past its expected time (before keeping waiting, cancelling or marking it done)."""


_SYSTEM: dict[type, str] = {
    RunShutdownScript: "love",
    RunSetSummaryState: "love",
    RunOtherScript: "love",
    LoveCommand: "love",
    EfdWaitForStates: "efd",
    SshSystemctl: "hosts",
    KubeCleanup: "cluster",
    KubePrepull: "cluster",
    GithubPullRequest: "github",
    GithubBranches: "github",
    ArgocdSync: "argocd",
    CcsSetAvailable: "efd",
    LoveEnterControl: "love",
}
"""The attribute of :class:`SiteSystems` each action type operates through."""


def uses_system(action: object) -> bool:
    """Whether the action operates an outside system (one that can be asked to stop)."""
    return type(action) in _SYSTEM


def system_of(action: object, systems: SiteSystems) -> Integration | None:
    """The integration a running action uses, to stop its real operation on cancel."""
    name = _SYSTEM.get(type(action))
    return None if name is None else cast("Integration", getattr(systems, name))


__all__ = [
    "LIVE",
    "PREVIEWS",
    "PROPOSALS",
    "RUNNERS",
    "Outcome",
    "Preview",
    "Runner",
    "SiteSystems",
    "StepContext",
    "efd",
    "system_of",
    "uses_system",
]
