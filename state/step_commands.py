"""Deciding what the lead does to a step.

Approve, retry, mark done, skip, hold, cancel, keep waiting (an overdue step), reopen, and a
stragglers step's choices (edit the list, leave them up and go on).

Part of the pure state machine (:mod:`state.machine` is its entry point).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from state.actions import Announce, Manual
from state.checks import DECIDING, given_text, hint, require_lead, require_open, started
from state.commands import (
    Actor,
    Approve,
    Cancel,
    EditTargets,
    Hold,
    KeepWaiting,
    LeaveUp,
    MarkDone,
    Reopen,
    Retry,
    Skip,
    StepCommand,
)
from state.errors import (
    BadInput,
    NotAllowedNow,
    RunError,
    RunPaused,
    StaleCommand,
    StepNotCurrent,
    UnknownStep,
)
from state.events import (
    AnnouncementHeld,
    CscsLeftUp,
    Event,
    StepDoneByHand,
    StepFailed,
    StepReopened,
    StepSkipped,
    StepWaitExtended,
    TargetsProposed,
)
from state.run import Run, RunStatus, StepState, StepStatus
from state.scripts import CSC_INSTANCE

_VERB: dict[type[StepCommand], str] = {
    Approve: "approve",
    Retry: "retry",
    MarkDone: "mark_done",
    Skip: "skip",
    Hold: "skip",  # held back is skipped (with the window): a repeat is told by this verb
    Cancel: "cancel",
    KeepWaiting: "keep_waiting",
    Reopen: "reopen",
    EditTargets: "edit",
    LeaveUp: "leave_up",
}
_WHAT = {
    "approve": "approve this step",
    "retry": "retry this step",
    "mark_done": "mark this step done",
    "skip": "skip this step",
    "cancel": "cancel this step",
    "keep_waiting": "keep waiting for this step",
    "reopen": "reopen this step",
    "edit": "change the list of this step",
    "leave_up": "leave these CSCs up",
}


def step_command(run: Run, command: StepCommand, now: datetime) -> list[Event]:
    """The events a lead's command on a step causes, or why not."""
    verb = _VERB[type(command)]
    require_lead(run, command.actor, _WHAT[verb])
    state = run.step(command.step_id)
    if state is None:
        raise UnknownStep(command.step_id)
    if command.revision != state.revision:
        if command.revision < state.revision and state.history[command.revision] == verb:
            return []  # this very command was applied already: a double click, a retry
        raise StaleCommand(state.id, state.status.value, state.attempt)
    require_open(run)
    if isinstance(command, Reopen):
        return _reopen(run, state, command.actor, now)
    current = run.current
    if current is None or current.id != state.id:
        raise StepNotCurrent(state.id, current.id if current else None)
    user = command.actor.user
    status = state.status
    manual_running = status is StepStatus.RUNNING and isinstance(state.step.action, Manual)
    if isinstance(command, Approve | Retry):
        allowed = StepStatus.AWAITING_APPROVAL if isinstance(command, Approve) else None
        if (allowed and status is not allowed) or (
            not allowed and status not in {StepStatus.FAILED, StepStatus.INTERRUPTED}
        ):
            raise NotAllowedNow(state.id, verb, status.value, hint(state))
        if run.status is RunStatus.PAUSED:
            raise RunPaused(run.run_id)
        if state.step.action.proposes_targets() and state.proposed is None:
            raise NotAllowedNow(
                state.id,
                verb,
                status.value,
                "The bot is still reading which CSCs are up: wait a moment, or edit the list.",
            )
        return [started(state, now, user, "approve" if isinstance(command, Approve) else "retry")]
    if isinstance(command, EditTargets | LeaveUp):
        return _stragglers_choice(state, command, now)
    if isinstance(command, MarkDone):
        return _mark_done(state, command, now)
    if isinstance(command, Hold):
        return _hold(state, command, now)
    if isinstance(command, KeepWaiting):
        return _keep_waiting(state, user, now)
    if isinstance(command, Skip):
        if status not in DECIDING and not manual_running:
            raise NotAllowedNow(state.id, verb, status.value, hint(state))
        reason = given_text(command.reason, "a reason for skipping", required=True)
        return [StepSkipped(at=now, actor=user, step_id=state.id, reason=reason or "")]
    if not status.active:
        raise NotAllowedNow(state.id, verb, status.value, hint(state))
    return [
        StepFailed(
            at=now,
            actor=user,
            step_id=state.id,
            attempt=state.attempt,
            error=f"cancelled by {command.actor.name or user}",
            cancelled=True,
        )
    ]


def _mark_done(state: StepState, command: MarkDone, now: datetime) -> list[Event]:
    """Done by hand: a deciding or manual step, or an overdue one (its operation goes on)."""
    status = state.status
    manual_running = status is StepStatus.RUNNING and isinstance(state.step.action, Manual)
    overdue = status is StepStatus.OVERDUE
    if status not in DECIDING and not manual_running and not overdue:
        raise NotAllowedNow(state.id, "mark done", status.value, hint(state))
    # Always a note: what was done by hand goes in the record and the report. Overdue, the
    # operation is still going: the note says why the run can go on anyway.
    what = "a note: why the run can go on" if overdue else "a note: what was done by hand"
    note = given_text(command.note, what, required=True)
    user = command.actor.user
    return [StepDoneByHand(at=now, actor=user, step_id=state.id, attempt=state.attempt, note=note)]


def _keep_waiting(state: StepState, user: str, now: datetime) -> list[Event]:
    """Another expected period for an overdue step (its operation was never stopped)."""
    expected = getattr(state.step.action, "expected", None)
    if state.status is not StepStatus.OVERDUE or expected is None:
        raise NotAllowedNow(state.id, "keep waiting", state.status.value, hint(state))
    return [
        StepWaitExtended(
            at=now, actor=user, step_id=state.id, attempt=state.attempt, overdue_at=now + expected
        )
    ]


def _stragglers_choice(
    state: StepState, command: EditTargets | LeaveUp, now: datetime
) -> list[Event]:
    """The lead edits a stragglers step's list, or goes on with its CSCs still up (named)."""
    verb = _VERB[type(command)]
    if not state.step.action.proposes_targets():
        raise NotAllowedNow(
            state.id, verb, state.status.value, "Only a stragglers step has a list."
        )
    if state.status not in DECIDING:
        raise NotAllowedNow(state.id, verb, state.status.value, hint(state))
    user = command.actor.user
    if isinstance(command, EditTargets):
        targets = tuple(dict.fromkeys(t.strip() for t in command.targets if t.strip()))
        if not targets:
            raise BadInput(
                "Give at least one CSC (Name:index). To go on without sending any OFFLINE, "
                "leave them up."
            )
        wrong = [t for t in targets if not CSC_INSTANCE.match(t)]
        if wrong:
            raise BadInput(f"Not a CSC instance (Name:index, e.g. ATMCS:0): {', '.join(wrong)}")
        return [TargetsProposed(at=now, actor=user, step_id=state.id, targets=targets)]
    if not state.proposed:
        raise NotAllowedNow(
            state.id,
            verb,
            state.status.value,
            "No CSC is proposed yet: there is nothing to leave up.",
        )
    return [
        CscsLeftUp(at=now, actor=user, step_id=state.id, attempt=state.attempt, cscs=state.proposed)
    ]


HOLD_LIMIT = timedelta(days=7)
"""The longest an announcement may be held back (a typo in the window must not hide it)."""


def _hold(state: StepState, command: Hold, now: datetime) -> list[Event]:
    """Skip the announcement for now and remember until when (the bot reminds the lead)."""
    action = state.step.action
    if (
        state.status is not StepStatus.AWAITING_APPROVAL
        or not isinstance(action, Announce)
        or action.hold is None
    ):
        raise NotAllowedNow(
            state.id,
            "hold",
            state.status.value,
            "Only an announcement that offers it can be held back, while it awaits approval.",
        )
    until = command.until
    if until is None or until.tzinfo is None or until <= now:
        raise BadInput("Give the end of the testing window: a time to come (e.g. 2h, or 17:30).")
    if until - now > HOLD_LIMIT:
        raise BadInput("A testing window of more than 7 days: that looks like a typo.")
    user = command.actor.user
    reason = f"{action.hold.label} until {until:%Y-%m-%d %H:%M} UTC: {action.key} is held back"
    return [
        AnnouncementHeld(at=now, actor=user, key=action.key, until=until, step_id=state.id),
        StepSkipped(at=now, actor=user, step_id=state.id, reason=reason),
    ]


def _reopen(run: Run, state: StepState, actor: Actor, now: datetime) -> list[Event]:
    if not state.status.ended:
        raise NotAllowedNow(
            state.id, "reopen", state.status.value, "Only an ended step can be reopened."
        )
    running = run.running
    if running is not None:
        raise RunError(
            f"Step {running.id!r} is running; cancel it or let it end "
            f"before reopening {state.id!r}."
        )
    return [StepReopened(at=now, actor=actor.user, step_id=state.id)]
