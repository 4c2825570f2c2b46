"""The page's ordering and safety rules, checked on every procedure before it is used.

Each rule is checked on the step list of every (site, kind) a run can have, because steps are
filtered per site and kind: a rule that holds for the whole file may break for one site.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING

from state.action_base import SUMMIT_ONLY_SYSTEMS
from state.actions import (
    Announce,
    ArgocdSync,
    LoveCommand,
    RunSetSummaryState,
    RunShutdownScript,
    SshSystemctl,
)
from state.camera_actions import CcsSetAvailable, LoveEnterControl
from state.names import PHASES, RUN_KINDS, SITES
from state.page_rules import run_problems
from state.problems import Problem
from state.subsystems import names_problem, ref_problem

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from state.procedure import Procedure, Step


def check_rules(procedure: Procedure) -> list[Problem]:
    """Every rule broken by the procedure, each problem once, in file order."""
    problems = list(dict.fromkeys(_whole_file(procedure.steps, PHASES)))
    runs = [f"{site}/{kind}" for site in SITES for kind in RUN_KINDS]
    found: dict[Problem, list[str]] = {}
    for run in runs:
        site, kind = run.split("/")
        steps = procedure.for_run(site, kind)  # type: ignore[arg-type]  # from SITES, RUN_KINDS
        for problem in (*_per_run(steps), *run_problems(steps, procedure.waived)):
            found.setdefault(problem, []).append(run)
    for problem, where in found.items():
        if len(where) < len(runs):  # say which runs, unless it is all of them
            problems.append(
                Problem(problem.step, problem.field, f"{problem.message} (in {', '.join(where)})")
            )
        else:
            problems.append(problem)
    return problems


def _whole_file(steps: Sequence[Step], phases: Sequence[str]) -> Iterator[Problem]:
    for step_id, count in Counter(step.id for step in steps).items():
        if count > 1:
            yield Problem(step_id, "id", f"used by {count} steps; ids must be unique")
    keys = Counter(step.action.key for step in steps if isinstance(step.action, Announce))
    for step in steps:
        if isinstance(step.action, Announce) and keys[step.action.key] > 1:
            yield Problem(
                step.id, "action.key", f"announcement key {step.action.key!r} is used twice"
            )
    for before, step in itertools.pairwise(steps):
        if phases.index(step.phase) < phases.index(before.phase):
            yield Problem(
                step.id, "phase", f"{step.phase} comes after {before.phase} (step {before.id!r})"
            )
    for step in steps:
        yield from _step_rules(step)


def _step_rules(step: Step) -> Iterator[Problem]:
    yield from _names(step)
    action = step.action
    if action.changes_observatory() and not step.needs_approval:
        yield Problem(
            step.id,
            "needs_approval",
            f"{action.type} changes the observatory, so the lead must approve it (the page: "
            "no one does anything without the lead's consent)",
        )
    if isinstance(action, Announce):
        yield from _announce_rules(step, action)
    summit_only = sorted(set(action.touches()) & SUMMIT_ONLY_SYSTEMS)
    if summit_only and set(step.sites) != {"summit"}:
        yield Problem(
            step.id,
            "sites",
            f"touches {', '.join(summit_only)}, which exist at the summit only; "
            "sites must be [summit]",
        )
    if isinstance(action, RunShutdownScript):
        if action.config.start_with[:1] != ("Watcher",):
            yield Problem(
                step.id,
                "action.config.start_with",
                "must begin with Watcher: it must come down first, to avoid a flurry of alarms",
            )
        if "Watcher" in action.config.ignore:
            yield Problem(
                step.id, "action.config.ignore", "the Watcher must come down, not be ignored"
            )
    if isinstance(action, ArgocdSync) and "sasquatch" in action.apps:
        if not action.show_diff:
            yield Problem(
                step.id,
                "action.show_diff",
                "syncing sasquatch must show its diff first "
                "(there may be changes not to apply yet)",
            )
        if not step.needs_approval:
            yield Problem(step.id, "needs_approval", "syncing sasquatch needs the lead's approval")


def _names(step: Step) -> Iterator[Problem]:
    """CSC names and instances as the scripts match them (ts_xml's list, case, indices)."""
    action = step.action
    lists: dict[str, tuple[str, ...]] = {}
    if isinstance(action, RunShutdownScript):
        lists = {
            f"action.config.{field}": getattr(action.config, field)
            for field in ("start_with", "end_with", "ignore")
        }
    for field, names in lists.items():
        for name in names:
            problem = names_problem(name)
            if problem:
                yield Problem(step.id, field, problem)
    refs: list[tuple[str, str, bool]] = []
    if isinstance(action, RunSetSummaryState):
        refs = [("action.config.data", entry[0], True) for entry in action.config.data]
    elif isinstance(action, LoveCommand):
        refs = [("action.csc", f"{action.csc}:{action.index}", False)]
    for field, ref, any_index in refs:
        problem = ref_problem(ref, any_index=any_index)
        if problem:
            yield Problem(step.id, field, problem)


def _announce_rules(step: Step, action: Announce) -> Iterator[Problem]:
    if action.hold is not None and not step.needs_approval:
        yield Problem(
            step.id,
            "needs_approval",
            "an announcement the lead may hold back waits for the lead's choice: "
            "needs_approval must be true",
        )
    if action.hands_over_cameras and "system-restart" in step.kinds:
        yield Problem(
            step.id,
            "kinds",
            "an announcement that hands the cameras over to the camera team belongs to cycle "
            "upgrades: in a system restart the deployment team starts the cameras (the page)",
        )


def _per_run(steps: Sequence[Step]) -> Iterator[Problem]:
    # A run without a ScriptQueues step is the requirements' problem (state.page_rules).
    yield from _cameras(steps)
    queues = [i for i, step in enumerate(steps) if step.action.is_scriptqueue_shutdown()]
    for q in queues:
        queue_step = steps[q]
        if queue_step.phase != "shutdown":
            yield Problem(queue_step.id, "phase", "the ScriptQueues step belongs to the shutdown")
        for later in steps[q + 1 :]:
            if later.action.sends_offline():
                yield Problem(
                    later.id,
                    "action",
                    f"sends CSCs OFFLINE after the ScriptQueues step {queue_step.id!r}; "
                    "the ScriptQueues must come down last",
                )
            elif later.phase == "shutdown" and later.action.changes_csc_states():
                yield Problem(
                    later.id,
                    "action",
                    f"commands CSC states after the ScriptQueues step {queue_step.id!r}; "
                    "it must be the last CSC-state step of the shutdown",
                )


def _cameras(steps: Sequence[Step]) -> Iterator[Problem]:
    """The CCS part and ``enterControl`` come after the camera bridges are started."""
    started = False
    for step in steps:
        action = step.action
        if isinstance(action, SshSystemctl) and action.hosts == "camera-bridges":
            started = action.verb == "start"
        elif isinstance(action, CcsSetAvailable | LoveEnterControl) and not started:
            yield Problem(
                step.id,
                "action",
                "comes before a step that starts the camera bridges: a camera CSC exists only "
                "once its bridge runs",
            )
