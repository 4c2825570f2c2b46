"""Deciding the run's commands: pause, resume, hand over, take over, note, abort, acknowledge.

What the bot reports is :mod:`state.outcomes`.

Part of the pure state machine (:mod:`state.machine` is its entry point).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from state.actions import Announce
from state.checks import given_text, require_lead, require_open
from state.commands import (
    Abort,
    Acknowledge,
    AddNote,
    HandOver,
    Pause,
    Resume,
    RunCommand,
    TakeOver,
)
from state.errors import BadInput, NotAdmin, UnknownStep
from state.events import (
    Acknowledged,
    Event,
    LeadHandedOver,
    NoteAdded,
    RunAborted,
    RunPausedEvent,
    RunResumed,
    RunTakenOver,
    StepFailed,
)
from state.run import Run, RunStatus, StepStatus


def run_command(run: Run, command: RunCommand, now: datetime) -> list[Event]:
    """The events a command on the whole run causes, or why not."""
    user = command.actor.user
    if isinstance(command, Acknowledge):  # anyone; it moves nothing
        if command.key not in run.announced and not _announcing(run, command.key):
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
        if to == run.lead:
            return []
        return [LeadHandedOver(at=now, actor=user, to=to, to_name=command.to_name)]
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
            error=f"cancelled: run aborted by {command.actor.name or user}",
            cancelled=True,
        )
        for s in run.steps
        if s.status.active
    ]
    events.append(RunAborted(at=now, actor=user, reason=reason))
    return events


def _announcing(run: Run, key: str) -> bool:
    """Whether the announcement is going out, so its Acknowledge button may already show.

    Its step runs (the post comes before its record), or the lead releases it after a hold.
    """
    if key in run.held:
        return True
    return any(
        s.status is StepStatus.RUNNING
        and isinstance(s.step.action, Announce)
        and s.step.action.key == key
        for s in run.steps
    )


_RUN_WHAT: dict[type[Any], str] = {
    Pause: "pause the run",
    Resume: "resume the run",
    HandOver: "hand the run over",
    AddNote: "add notes to the run",
    Abort: "abort the run",
}
