"""How a run changes: ``evolve`` folds one event into a run; ``fold`` and ``replay`` fold many.

The other half of the state machine (:mod:`state.machine` decides which events a command
causes). Folding is total and deterministic: the store keeps the fold of a run's events as its
snapshot, and replaying the events from nothing gives that snapshot back, exactly.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any

from state.events import (
    BOT,
    Acknowledged,
    Announced,
    AnnouncementHeld,
    BaselineRecorded,
    CscsLeftUp,
    Event,
    LeadHandedOver,
    NoteAdded,
    RunAborted,
    RunCompleted,
    RunPausedEvent,
    RunResumed,
    RunStarted,
    RunTakenOver,
    StepAwaitingApproval,
    StepDoneByHand,
    StepDoneWithIssues,
    StepFailed,
    StepInterrupted,
    StepOverdue,
    StepReopened,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    StepWaitExtended,
    TargetsProposed,
)
from state.run import Note, Run, RunStatus, StepState, StepStatus

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime


def replay(events: Iterable[Event]) -> Run:
    """The run the events describe, folded from nothing."""
    run: Run | None = None
    for event in events:
        run = evolve(run, event)
    if run is None:
        raise ValueError("no events to replay")
    return run


def fold(run: Run, events: Iterable[Event]) -> Run:
    """``run`` with ``events`` applied in order."""
    return reduce(evolve, events, run)


def evolve(run: Run | None, event: Event) -> Run:
    """``run`` after ``event``; ``None`` before the run's first event."""
    if isinstance(event, RunStarted):
        if run is not None:
            raise ValueError(f"run {run.run_id} has already started")
        return Run(
            run_id=event.run_id,
            site=event.site,
            kind=event.kind,
            lead=event.actor,
            started_by=event.actor,
            cycle=event.cycle,
            phalanx_branch=event.phalanx_branch,
            procedure=event.procedure,
            started_at=event.at,
            steps=tuple(StepState(step=step) for step in event.steps),
            waived=event.waived,
            rehearsal=event.rehearsal,
            version=1,
            names=_names({}, event),
        )
    if run is None:
        raise ValueError(f"{event.type} before run.started")
    run = _evolve_run(run, event)
    return run.model_copy(
        update={
            "version": run.version + 1,
            "changed_at": event.at,
            "names": _names(run.names, event),
        }
    )


def _names(names: dict[str, str], event: Event) -> dict[str, str]:
    """The names the run knows, with those the event carries (the actor's, a new lead's)."""
    found = {event.actor: event.actor_name} if event.actor_name else {}
    if isinstance(event, LeadHandedOver) and event.to_name:
        found[event.to] = event.to_name
    return {**names, **found} if found else names


def _evolve_run(run: Run, event: Event) -> Run:  # one case per event type
    at, actor = event.at, event.actor
    match event:
        case StepAwaitingApproval():
            return _step(run, event.step_id, "activate", at, status=StepStatus.AWAITING_APPROVAL)
        case StepStarted():
            return _step(
                run,
                event.step_id,
                event.verb,
                at,
                status=StepStatus.RUNNING,
                attempt=event.attempt,
                started_at=at,
                ended_at=None,
                timeout_at=event.timeout_at,
                deadline_at=event.deadline_at,
                overdue_at=event.overdue_at,
                overdue=0,
                offline_up=(),
                camera_team=(),
                approved_by=None if event.verb == "activate" else actor,
                ended_by=None,
                outcome=None,
                issues=(),
                reason=None,
                cancelled=False,
                timed_out=False,
            )
        case StepSucceeded():
            return _ended(
                run,
                event.step_id,
                "succeed",
                StepStatus.SUCCEEDED,
                at,
                actor,
                outcome=event.summary or None,
                offline_up=event.offline_up,
                camera_team=event.camera_team,
            )
        case StepFailed():
            return _ended(
                run,
                event.step_id,
                "cancel" if event.cancelled else "fail",
                StepStatus.FAILED,
                at,
                actor,
                outcome=event.error,
                cancelled=event.cancelled,
                timed_out=event.timed_out,
            )
        case StepDoneWithIssues():
            return _ended(
                run,
                event.step_id,
                "deadline" if not event.summary else "succeed",
                StepStatus.DONE_WITH_ISSUES,
                at,
                actor,
                issues=event.issues,
                outcome=event.summary or f"{len(event.issues)} still in trouble at the deadline",
                offline_up=event.offline_up,
                camera_team=event.camera_team,
            )
        case StepOverdue():
            times = run.steps[run.index(event.step_id)].overdue + 1
            return _step(
                run, event.step_id, "overdue", at, status=StepStatus.OVERDUE, overdue_at=None,
                timeout_at=None, overdue=times,
            )  # fmt: skip
        case StepWaitExtended():
            return _step(
                run, event.step_id, "keep_waiting", at, status=StepStatus.RUNNING,
                overdue_at=event.overdue_at,
            )  # fmt: skip
        case TargetsProposed() if actor == BOT:  # what the bot read: no transition
            return _update(run, event.step_id, proposed=event.targets)
        case TargetsProposed():
            return _step(run, event.step_id, "edit", at, proposed=event.targets)
        case CscsLeftUp():
            run = _ended(
                run,
                event.step_id,
                "leave_up",
                StepStatus.DONE_WITH_ISSUES,
                at,
                actor,
                issues=tuple(f"{ref} left up by {actor}" for ref in event.cscs),
                outcome=f"went on with {len(event.cscs)} still up: {', '.join(event.cscs)}",
            )
            left = tuple(dict.fromkeys((*run.left_up, *event.cscs)))
            return run.model_copy(update={"left_up": left})
        case StepDoneByHand():
            return _ended(
                run,
                event.step_id,
                "mark_done",
                StepStatus.DONE_BY_HAND,
                at,
                actor,
                reason=event.note,
            )
        case StepSkipped():
            return _ended(
                run, event.step_id, "skip", StepStatus.SKIPPED, at, actor, reason=event.reason
            )
        case StepInterrupted():
            return _ended(
                run,
                event.step_id,
                "interrupt",
                StepStatus.INTERRUPTED,
                at,
                actor,
                outcome="the bot stopped while this step ran; it may have half happened",
            )
        case StepReopened():
            reopened = run.index(event.step_id)
            for later in run.steps[reopened + 1 :]:
                if later.status is StepStatus.AWAITING_APPROVAL:  # back in the queue
                    run = _step(run, later.id, "requeue", at, status=StepStatus.PENDING)
            return _step(run, event.step_id, "reopen", at, status=StepStatus.AWAITING_APPROVAL)
        case RunPausedEvent():
            return run.model_copy(update={"status": RunStatus.PAUSED})
        case RunResumed():
            return run.model_copy(update={"status": RunStatus.ACTIVE})
        case LeadHandedOver():
            return run.model_copy(update={"lead": event.to})
        case RunTakenOver():
            return run.model_copy(update={"lead": actor})
        case NoteAdded():
            note = Note(at=at, by=actor, text=event.text, step_id=event.step_id)
            return run.model_copy(update={"notes": (*run.notes, note)})
        case Announced():
            return run.model_copy(update={"announced": {**run.announced, event.key: at}})
        case AnnouncementHeld():
            return run.model_copy(update={"held": {**run.held, event.key: event.until}})
        case Acknowledged():
            by = (*run.acknowledged.get(event.key, ()), actor)
            return run.model_copy(update={"acknowledged": {**run.acknowledged, event.key: by}})
        case BaselineRecorded():
            return run.model_copy(update={"baseline": event.cscs})
        case RunAborted():
            return run.model_copy(
                update={"status": RunStatus.ABORTED, "ended_at": at, "abort_reason": event.reason}
            )
        case RunCompleted():
            return run.model_copy(update={"status": RunStatus.COMPLETED, "ended_at": at})
        case RunStarted():
            raise ValueError(f"run {run.run_id} has already started")


def _ended(
    run: Run,
    step_id: str,
    verb: str,
    status: StepStatus,
    at: datetime,
    actor: str,
    **changes: Any,  # noqa: ANN401  # StepState fields
) -> Run:
    return _step(run, step_id, verb, at, status=status, ended_at=at, ended_by=actor, **changes)


def _update(run: Run, step_id: str, **changes: Any) -> Run:  # noqa: ANN401  # StepState fields
    """The step's fields changed, not its status: no transition, no revision."""
    index = run.index(step_id)
    updated = run.steps[index].model_copy(update=changes)
    return run.model_copy(update={"steps": (*run.steps[:index], updated, *run.steps[index + 1 :])})


def _step(run: Run, step_id: str, verb: str, at: datetime, **changes: Any) -> Run:  # noqa: ANN401  # StepState fields
    index = run.index(step_id)
    state = run.steps[index]
    updated = state.model_copy(
        update={
            **changes,
            "revision": state.revision + 1,
            "history": (*state.history, verb),
            "since": at,
        }
    )
    return run.model_copy(update={"steps": (*run.steps[:index], updated, *run.steps[index + 1 :])})
