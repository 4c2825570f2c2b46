"""What the bot's own commands cause: outcomes, deadlines, overdue, the record it keeps.

An action's outcome, a watch's deadline, a step overdue; an announcement made, the baseline,
the stragglers read for a step. The other half of :func:`state.machine.decide` (people's
commands are in :mod:`state.step_commands` and :mod:`state.run_commands`). An outcome names the
attempt it is for: one that arrives for an attempt no longer running (cancelled, interrupted,
marked done) is ignored, so a late result never changes a decided step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from state.checks import DECIDING
from state.commands import (
    ActionFailed,
    ActionInterrupted,
    ActionSucceeded,
    BotCommand,
    DeadlineReached,
    PastExpected,
    ProposeTargets,
    RecordAnnouncement,
    RecordBaseline,
)
from state.events import (
    BOT,
    Announced,
    BaselineRecorded,
    Event,
    StepDoneWithIssues,
    StepFailed,
    StepInterrupted,
    StepOverdue,
    StepSucceeded,
    TargetsProposed,
)
from state.run import StepStatus

if TYPE_CHECKING:
    from datetime import datetime

    from state.run import Run, StepState

SEEN_LIMIT = 2000
"""Characters kept of what an overdue step's system looked like (the record, not a report)."""


def outcome_events(run: Run, command: BotCommand, now: datetime) -> list[Event]:
    """The events a bot command causes in ``run`` (empty if it changes nothing)."""
    if isinstance(command, ProposeTargets | RecordAnnouncement | RecordBaseline):
        return _record(run, command, now)
    state = run.step(command.step_id)
    if (
        not run.status.open
        or state is None
        or not state.status.active
        or state.attempt != command.attempt
    ):
        return []  # an outcome for an attempt that is no longer running: ignored
    return _outcome(state, command, now)


def _record(
    run: Run, command: ProposeTargets | RecordAnnouncement | RecordBaseline, now: datetime
) -> list[Event]:
    """What the bot keeps in the run's record (each once)."""
    if isinstance(command, ProposeTargets):
        return _propose(run, command, now)
    if isinstance(command, RecordAnnouncement):
        if command.key in run.announced:
            return []
        return [Announced(at=now, actor=BOT, key=command.key, step_id=command.step_id)]
    if not run.status.open or run.baseline is not None:
        return []  # the first reading is the one that counts
    return [BaselineRecorded(at=now, actor=BOT, cscs=tuple(sorted(command.cscs)))]


def _outcome(
    state: StepState,
    command: ActionSucceeded | ActionFailed | ActionInterrupted | DeadlineReached | PastExpected,
    now: datetime,
) -> list[Event]:
    """What an outcome does to the (running or overdue) attempt it is for."""
    step_id, attempt = state.id, state.attempt
    if isinstance(command, ActionInterrupted):
        return [StepInterrupted(at=now, actor=BOT, step_id=step_id, attempt=attempt)]
    if isinstance(command, PastExpected):
        if state.status is StepStatus.OVERDUE or not state.step.action.patient():
            return []  # told already (a second tick), or not a step the lead is asked about
        seen = command.seen[:SEEN_LIMIT]
        return [StepOverdue(at=now, actor=BOT, step_id=step_id, attempt=attempt, seen=seen)]
    if isinstance(command, ActionFailed):
        failed = StepFailed(
            at=now,
            actor=BOT,
            step_id=step_id,
            attempt=attempt,
            error=command.error,
            timed_out=command.timed_out,
        )
        return [failed]
    offline_up, camera_team = command.offline_up, command.camera_team
    issues = command.in_trouble if isinstance(command, DeadlineReached) else command.issues
    if issues:
        return [
            StepDoneWithIssues(
                at=now,
                actor=BOT,
                step_id=step_id,
                attempt=attempt,
                issues=issues,
                summary=command.summary if isinstance(command, ActionSucceeded) else "",
                offline_up=offline_up,
                camera_team=camera_team,
            )
        ]
    summary = command.summary if isinstance(command, ActionSucceeded) else "all as expected"
    return [
        StepSucceeded(
            at=now,
            actor=BOT,
            step_id=step_id,
            attempt=attempt,
            summary=summary,
            offline_up=offline_up,
            camera_team=camera_team,
        )
    ]


def _propose(run: Run, command: ProposeTargets, now: datetime) -> list[Event]:
    """The CSCs still up, for a stragglers step waiting on the lead; none: nothing to do."""
    state = run.step(command.step_id)
    if (
        not run.status.open
        or state is None
        or state.status not in DECIDING
        or not state.step.action.proposes_targets()
        or state.proposed == command.targets
    ):
        return []
    proposed = TargetsProposed(at=now, actor=BOT, step_id=state.id, targets=command.targets)
    if command.targets:
        return [proposed]
    still = "still" if state.attempt == 0 else "any more"
    done = StepSucceeded(
        at=now,
        actor=BOT,
        step_id=state.id,
        attempt=state.attempt,
        summary=f"nothing to do: no CSC is {still} up",
    )
    return [proposed, done]
