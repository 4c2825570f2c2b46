"""The page's ordering and safety rules over the steps of one run (one site, one kind).

Each rule is a sentence of "Deploying the Upgrade" (``shared/reference/deploying-the-upgrade.txt``)
or of what the real systems do (``rubin-interfaces.md``), checked on the step list a run of a
site and kind walks: a procedure that breaks one is refused before any run starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, get_args

from state.actions import (
    Announce,
    ArgocdSync,
    EfdWaitForStates,
    GithubPullRequest,
    KubeCleanup,
    KubePrepull,
    RunShutdownScript,
    SshSystemctl,
)
from state.problems import Problem

if TYPE_CHECKING:
    from state.actions import Action
    from state.procedure import Step

Requirement = Literal[
    "shutdown-script", "offline-check", "scriptqueues-last", "phalanx-pr", "end-state-watch"
]
"""A step the page requires; dropping it needs ``waived: {<requirement>: <reason>}``."""
REQUIREMENTS: tuple[Requirement, ...] = get_args(Requirement)

REQUIRED: dict[Requirement, tuple[str, Callable[[Action], bool]]] = {
    "shutdown-script": (
        "the orderly shutdown (system_wide_shutdown.py)",
        lambda a: isinstance(a, RunShutdownScript),
    ),
    "offline-check": (
        "the check by heartbeats that the CSCs are OFFLINE (efd.wait_for_states, offline)",
        lambda a: isinstance(a, EfdWaitForStates) and a.expect == "offline",
    ),
    "scriptqueues-last": (
        "the ScriptQueues OFFLINE, last",
        lambda a: a.is_scriptqueue_shutdown(),
    ),
    "phalanx-pr": (
        "the Phalanx pull request (github.pull_request)",
        lambda a: isinstance(a, GithubPullRequest),
    ),
    "end-state-watch": (
        "the watch of the end states (efd.wait_for_states, end-states)",
        lambda a: isinstance(a, EfdWaitForStates) and a.expect == "end-states",
    ),
}
"""What each requirement is, and how its step is recognised."""

STAGE_1 = "camera-stage-1"
STAGE_2 = "camera-stage-2"
NUBLADO_USERS = "nublado-users"
SYNC_ORDER = ("science-platform", "nublado", "sasquatch", "telescope")
"""The page: science-platform, then nublado, then sasquatch, then the telescope project."""


def run_problems(steps: Sequence[Step], waived: Mapping[Requirement, str]) -> Iterator[Problem]:
    """Every rule of the page the steps of one run break."""
    yield from _required(steps, waived)
    yield from _cleanups(steps)
    yield from _announcements(steps)
    yield from _syncs(steps)
    yield from _prepulls(steps)


def _first(steps: Sequence[Step], test: Callable[[Action], bool]) -> int | None:
    return next((i for i, step in enumerate(steps) if test(step.action)), None)


def _last(steps: Sequence[Step], test: Callable[[Action], bool]) -> int | None:
    found = [i for i, step in enumerate(steps) if test(step.action)]
    return found[-1] if found else None


def _required(steps: Sequence[Step], waived: Mapping[Requirement, str]) -> Iterator[Problem]:
    for requirement, (what, test) in REQUIRED.items():
        if requirement not in waived and _first(steps, test) is None:
            yield Problem(
                None,
                "steps",
                f"{what} is missing: the page requires it (to drop it, say why in "
                f"`waived: {{{requirement}: <reason>}}`; the run shows the reason)",
            )


def _syncs_love(action: Action) -> bool:
    """A sync that brings LOVE back: ``love`` by name, or a project that does not exclude it."""
    if not isinstance(action, ArgocdSync):
        return False
    return "love" in action.apps or (action.project is not None and "love" not in action.exclude)


def _cleanups(steps: Sequence[Step]) -> Iterator[Problem]:
    shutdown = _last(steps, lambda a: isinstance(a, RunShutdownScript))
    queues = _last(steps, lambda a: a.is_scriptqueue_shutdown())
    for index, step in enumerate(steps):
        action = step.action
        if not isinstance(action, KubeCleanup):
            continue
        if action.scope == "nublado":
            warned = any(
                isinstance(s.action, Announce) and NUBLADO_USERS in s.action.audiences
                for s in steps[:index]
            )
            if not warned:
                yield Problem(
                    step.id,
                    "action",
                    "cleans Nublado up before its users were warned: an announcement to "
                    f"`{NUBLADO_USERS}` comes first (they save their work)",
                )
            continue
        # Missing altogether, they are the requirements' problem (or waived, with a reason).
        if (shutdown is not None and index < shutdown) or (queues is not None and index < queues):
            yield Problem(
                step.id,
                "action",
                "deletes the CSCs' Jobs (the Watcher's and the ScriptQueues' with them) with no "
                "orderly shutdown: it comes after the shutdown script and the ScriptQueues step",
            )
        yield from _love_gone(steps, index)


def _love_gone(steps: Sequence[Step], cleanup: int) -> Iterator[Problem]:
    """Between the cleanup (LOVE's Deployments deleted) and the sync of LOVE, nothing needs it."""
    back = _first(steps[cleanup + 1 :], _syncs_love)
    end = len(steps) if back is None else cleanup + 1 + back
    for step in steps[cleanup + 1 : end]:
        if "love" in step.action.touches():
            yield Problem(
                step.id,
                "action",
                f"needs LOVE, whose Deployments {steps[cleanup].id!r} deleted; LOVE is back "
                "only once a sync brings it back (love, or the telescope project)",
            )


def _announcements(steps: Sequence[Step]) -> Iterator[Problem]:
    for index, step in enumerate(steps):
        action = step.action
        if not isinstance(action, Announce):
            continue
        before = steps[:index]
        if action.key == STAGE_1 and not any(
            isinstance(s.action, SshSystemctl)
            and s.action.hosts == "camera-bridges"
            and s.action.verb == "stop"
            for s in before
        ):
            yield Problem(
                step.id,
                "action.key",
                "Stage 1 is announced before the camera bridges are stopped: stop them first",
            )
        if action.key == STAGE_2 and not any(
            isinstance(s.action, ArgocdSync) and s.action.project is not None for s in before
        ):
            yield Problem(
                step.id,
                "action.key",
                "Stage 2 is announced before the T&S applications are deployed (the sync of "
                "the telescope project comes first)",
            )


def _sync_name(action: ArgocdSync) -> str | None:
    """Which of the page's syncs this is (by app, or the telescope project)."""
    if action.project is not None:
        return "telescope"
    return next((app for app in SYNC_ORDER if app in action.apps), None)


def _syncs(steps: Sequence[Step]) -> Iterator[Problem]:
    pull = _first(steps, lambda a: isinstance(a, GithubPullRequest))
    seen: list[str] = []
    for index, step in enumerate(steps):
        action = step.action
        if not isinstance(action, ArgocdSync):
            continue
        if pull is not None and index < pull:
            yield Problem(
                step.id,
                "action",
                "syncs before the Phalanx pull request step: the configuration is not merged yet",
            )
        name = _sync_name(action)
        if name is None:
            continue
        later = [s for s in seen if SYNC_ORDER.index(s) > SYNC_ORDER.index(name)]
        if later:
            yield Problem(
                step.id,
                "action",
                f"syncs {name} after {later[0]}: the page's order is {', then '.join(SYNC_ORDER)}",
            )
        seen.append(name)


def _prepulls(steps: Sequence[Step]) -> Iterator[Problem]:
    """A pre-pull helps only before the syncs: it belongs to the shutdown or the configuration."""
    sync = _first(steps, lambda a: isinstance(a, ArgocdSync))
    for index, step in enumerate(steps):
        if not isinstance(step.action, KubePrepull):
            continue
        if step.phase not in {"shutdown", "configuration"} or (sync is not None and index > sync):
            yield Problem(
                step.id,
                "phase",
                "a pre-pull comes before the first sync (in the shutdown or the configuration): "
                "later, the deployment pulls the images itself",
            )
