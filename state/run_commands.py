"""Deciding the run's commands, and what the bot reports.

The run's: pause, resume, hand over, take over, note, abort, acknowledge. The bot's: an
action's outcome, a deadline, an announcement made, the baseline, the stragglers read for a step.

Part of the pure state machine (:mod:`state.machine` is its entry point).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from state.checks import DECIDING, given_text, require_lead, require_open
from state.commands import (
    Abort,
    Acknowledge,
    ActionFailed,
    ActionSucceeded,
    AddNote,
    BotCommand,
    HandOver,
    Pause,
    ProposeTargets,
    RecordAnnouncement,
    RecordBaseline,
    Resume,
    RunCommand,
    TakeOver,
)
from state.errors import BadInput, NotAdmin, UnknownStep
from state.events import (
    BOT,
    Acknowledged,
    Announced,
    BaselineRecorded,
    Event,
    LeadHandedOver,
    NoteAdded,
    RunAborted,
    RunPausedEvent,
    RunResumed,
    RunTakenOver,
    StepDoneWithIssues,
    StepFailed,
    StepSucceeded,
    TargetsProposed,
)
from state.run import Run, RunStatus, StepStatus


def run_command(run: Run, command: RunCommand, now: datetime) -> list[Event]:
    """The events a command on the whole run causes, or why not."""
    user = command.actor.user
    if isinstance(command, Acknowledge):  # anyone; it moves nothing
        if command.key not in run.announced:
            raise BadInput(f"Nothing was announced as {command.key!r} in this run.")
        if user in run.acknowledged.get(command.key, ()):
            return []
        return [Acknowledged(at=now, actor=user, key=command.key)]
    if isinstance(command, TakeOver):
        if not command.actor.admin:
            raise NotAdmin(user)
        require_open(run)
        if user == run.lead:
            return []
        reason = given_text(command.reason, "a reason", required=True) or ""
        return [RunTakenOver(at=now, actor=user, previous_lead=run.lead, reason=reason)]
    require_lead(run, command.actor, _RUN_WHAT[type(command)])
    if isinstance(command, Abort) and run.status is RunStatus.ABORTED:
        return []
    require_open(run)
    if isinstance(command, Pause):
        return [] if run.status is RunStatus.PAUSED else [RunPausedEvent(at=now, actor=user)]
    if isinstance(command, Resume):
        return [] if run.status is RunStatus.ACTIVE else [RunResumed(at=now, actor=user)]
    if isinstance(command, HandOver):
        to = command.to.strip()
        if not to:
            raise BadInput("Please name the person to hand over to.")
        return [] if to == run.lead else [LeadHandedOver(at=now, actor=user, to=to)]
    if isinstance(command, AddNote):
        if command.step_id is not None and run.step(command.step_id) is None:
            raise UnknownStep(command.step_id)
        text = given_text(command.text, "the text of the note", required=True) or ""
        return [NoteAdded(at=now, actor=user, text=text, step_id=command.step_id)]
    reason = given_text(command.reason, "a reason for aborting", required=True) or ""
    events: list[Event] = [
        StepFailed(
            at=now,
            actor=user,
            step_id=s.id,
            attempt=s.attempt,
            error=f"cancelled: run aborted by {user}",
            cancelled=True,
        )
        for s in run.steps
        if s.status is StepStatus.RUNNING
    ]
    events.append(RunAborted(at=now, actor=user, reason=reason))
    return events


_RUN_WHAT: dict[type[Any], str] = {
    Pause: "pause the run",
    Resume: "resume the run",
    HandOver: "hand the run over",
    AddNote: "add notes to the run",
    Abort: "abort the run",
}


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


def bot_command(run: Run, command: BotCommand, now: datetime) -> list[Event]:
    """The events of what the bot reports (stale outcomes are ignored)."""
    if isinstance(command, ProposeTargets):
        return _propose(run, command, now)
    if isinstance(command, RecordAnnouncement):
        if command.key in run.announced:
            return []
        return [Announced(at=now, actor=BOT, key=command.key, step_id=command.step_id)]
    if isinstance(command, RecordBaseline):
        if not run.status.open or run.baseline is not None:
            return []  # the first reading is the one that counts
        return [BaselineRecorded(at=now, actor=BOT, cscs=tuple(sorted(command.cscs)))]
    state = run.step(command.step_id)
    if (
        not run.status.open
        or state is None
        or state.status is not StepStatus.RUNNING
        or state.attempt != command.attempt
    ):
        return []  # an outcome for an attempt that is no longer running: ignored
    if isinstance(command, ActionSucceeded) and command.issues:
        return [
            StepDoneWithIssues(
                at=now,
                actor=BOT,
                step_id=state.id,
                attempt=state.attempt,
                issues=command.issues,
                summary=command.summary,
            )
        ]
    if isinstance(command, ActionSucceeded):
        return [
            StepSucceeded(
                at=now, actor=BOT, step_id=state.id, attempt=state.attempt, summary=command.summary
            )
        ]
    if isinstance(command, ActionFailed):
        return [
            StepFailed(
                at=now,
                actor=BOT,
                step_id=state.id,
                attempt=state.attempt,
                error=command.error,
                timed_out=command.timed_out,
            )
        ]
    if not command.in_trouble:
        return [
            StepSucceeded(
                at=now,
                actor=BOT,
                step_id=state.id,
                attempt=state.attempt,
                summary="all as expected",
            )
        ]
    return [
        StepDoneWithIssues(
            at=now, actor=BOT, step_id=state.id, attempt=state.attempt, issues=command.in_trouble
        )
    ]
