"""The rules of a run, as pure functions: (run, command, now) -> the events it causes.

``decide`` checks a command against the run and returns the events it causes, or raises a
:class:`state.errors.RunError` saying why not; it never changes anything. ``evolve`` (in
:mod:`state.evolve`, the other half) folds one event into a run. The store persists what
``decide`` returned and the folded snapshot in one transaction; replaying the events through
``evolve`` gives the snapshot back, exactly.

No clock, no I/O, no Slack: ``now`` is passed in, so tests choose the time and a replay is
deterministic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from state.actions import Announce, EfdWaitForStates, Manual
from state.commands import (
    Abort,
    Acknowledge,
    ActionFailed,
    ActionSucceeded,
    Actor,
    AddNote,
    Approve,
    BotCommand,
    Cancel,
    Command,
    HandOver,
    Hold,
    MarkDone,
    Pause,
    RecordAnnouncement,
    RecordBaseline,
    Reopen,
    Resume,
    Retry,
    RunCommand,
    Skip,
    StartRun,
    StepCommand,
    TakeOver,
)
from state.errors import (
    BadInput,
    NotAdmin,
    NotAllowedNow,
    NotLead,
    RunAlreadyActive,
    RunError,
    RunNotActive,
    RunPaused,
    StaleCommand,
    StepNotCurrent,
    UnknownStep,
)
from state.events import (
    BOT,
    Acknowledged,
    Announced,
    AnnouncementHeld,
    BaselineRecorded,
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
    StepReopened,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from state.evolve import evolve, fold
from state.run import Run, RunStatus, StepState, StepStatus

NOTE_LIMIT = 2000
"""Longest note or reason kept (characters); Slack shows 3000 a section, with room for the rest."""

_VERB: dict[type[StepCommand], str] = {
    Approve: "approve",
    Retry: "retry",
    MarkDone: "mark_done",
    Skip: "skip",
    Hold: "skip",  # held back is skipped (with the window): a repeat is told by this verb
    Cancel: "cancel",
    Reopen: "reopen",
}
_WHAT = {
    "approve": "approve this step",
    "retry": "retry this step",
    "mark_done": "mark this step done",
    "skip": "skip this step",
    "cancel": "cancel this step",
    "reopen": "reopen this step",
}
_DECIDING = {StepStatus.AWAITING_APPROVAL, StepStatus.FAILED, StepStatus.INTERRUPTED}


def start(open_run: Run | None, command: StartRun, now: datetime) -> tuple[Run, list[Event]]:
    """Open a run for a site; ``open_run`` is the site's open run, if it has one."""
    _aware(now)
    if open_run is not None and open_run.status.open:
        lead = open_run.lead
        raise RunAlreadyActive(open_run.site, open_run.run_id, lead, open_run.name(lead))
    if not command.steps:
        raise BadInput(f"The procedure has no step for a {command.kind} of {command.site}.")
    started = RunStarted(
        at=now,
        actor=command.actor.user,
        actor_name=command.actor.name,
        run_id=command.run_id,
        site=command.site,
        kind=command.kind,
        cycle=command.cycle,
        phalanx_branch=command.phalanx_branch,
        procedure=command.procedure,
        steps=command.steps,
    )
    run = evolve(None, started)
    events: list[Event] = [started, *_advance(run, now)]
    return fold(run, events[1:]), events


def decide(run: Run, command: Command, now: datetime) -> list[Event]:
    """The events ``command`` causes in ``run`` (empty if it was already applied)."""
    _aware(now)
    if isinstance(command, Approve | Retry | MarkDone | Skip | Hold | Cancel | Reopen):
        events = _step_command(run, command, now)
    elif isinstance(command, Pause | Resume | HandOver | TakeOver | AddNote | Abort | Acknowledge):
        events = _run_command(run, command, now)
    else:
        events = _bot_command(run, command, now)
    actor: Actor | None = getattr(command, "actor", None)
    if actor is not None and actor.name:  # the run keeps how the request named its actor
        events = [
            e.model_copy(update={"actor_name": actor.name}) if e.actor == actor.user else e
            for e in events
        ]
    if events:
        events.extend(_advance(fold(run, events), now))
    return events


def handle(run: Run, command: Command, now: datetime) -> tuple[Run, list[Event]]:
    """Decide and fold: the new snapshot and the events to store with it."""
    events = decide(run, command, now)
    return fold(run, events), events


def interrupt_running(run: Run, now: datetime) -> list[Event]:
    """At start-up: every step found running was cut off by the process dying.

    It becomes *interrupted* and waits for the lead (re-run or mark done): it is never run
    again by itself, because the real operation may have half happened. A watch is spared: it
    only reads, so the engine picks it up again and its deadline still holds.
    """
    _aware(now)
    if not run.status.open:
        return []
    return [
        StepInterrupted(at=now, actor=BOT, step_id=s.id, attempt=s.attempt)
        for s in run.steps
        if s.status is StepStatus.RUNNING and not s.step.action.survives_restart()
    ]


# ---------------------------------------------------------------------------- deciding


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _require_lead(run: Run, actor: Actor, what: str) -> None:
    if actor.user != run.lead:
        raise NotLead(actor.user, run.lead, what, run.name(run.lead))


def _require_open(run: Run) -> None:
    if not run.status.open:
        raise RunNotActive(run.run_id, run.status.value)


def _text(value: str | None, what: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise BadInput(f"Please give {what}.")
    if len(text) > NOTE_LIMIT:
        raise BadInput(
            f"{what.capitalize()} is too long ({len(text)} characters; {NOTE_LIMIT} at most)."
        )
    return text or None


def _step_command(run: Run, command: StepCommand, now: datetime) -> list[Event]:
    verb = _VERB[type(command)]
    _require_lead(run, command.actor, _WHAT[verb])
    state = run.step(command.step_id)
    if state is None:
        raise UnknownStep(command.step_id)
    if command.revision != state.revision:
        if command.revision < state.revision and state.history[command.revision] == verb:
            return []  # this very command was applied already: a double click, a retry
        raise StaleCommand(state.id, state.status.value, state.attempt)
    _require_open(run)
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
            raise NotAllowedNow(state.id, verb, status.value, _hint(state))
        if run.status is RunStatus.PAUSED:
            raise RunPaused(run.run_id)
        return [_started(state, now, user, "approve" if isinstance(command, Approve) else "retry")]
    if isinstance(command, MarkDone):
        if status not in _DECIDING and not manual_running:
            raise NotAllowedNow(state.id, "mark done", status.value, _hint(state))
        note = _text(command.note, "a note", required=False)
        return [
            StepDoneByHand(at=now, actor=user, step_id=state.id, attempt=state.attempt, note=note)
        ]
    if isinstance(command, Hold):
        return _hold(state, command, now)
    if isinstance(command, Skip):
        if status not in _DECIDING and not manual_running:
            raise NotAllowedNow(state.id, verb, status.value, _hint(state))
        reason = _text(command.reason, "a reason for skipping", required=True)
        return [StepSkipped(at=now, actor=user, step_id=state.id, reason=reason or "")]
    if status is not StepStatus.RUNNING:
        raise NotAllowedNow(state.id, verb, status.value, _hint(state))
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


def _hint(state: StepState) -> str:
    """What the lead can do with the step as it is."""
    if state.status is StepStatus.RUNNING:
        if isinstance(state.step.action, Manual):
            return "Mark it done or skip it."
        return "Cancel it first, or wait for it to end."
    if state.status.waits_for_lead:
        choices = "Approve" if state.status is StepStatus.AWAITING_APPROVAL else "Retry"
        return f"{choices}, mark it done or skip it."
    if state.status.ended:
        return "Reopen it to run it again."
    return ""


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


def _run_command(run: Run, command: RunCommand, now: datetime) -> list[Event]:
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
        _require_open(run)
        if user == run.lead:
            return []
        reason = _text(command.reason, "a reason", required=True) or ""
        return [RunTakenOver(at=now, actor=user, previous_lead=run.lead, reason=reason)]
    _require_lead(run, command.actor, _RUN_WHAT[type(command)])
    if isinstance(command, Abort) and run.status is RunStatus.ABORTED:
        return []
    _require_open(run)
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
        text = _text(command.text, "the text of the note", required=True) or ""
        return [NoteAdded(at=now, actor=user, text=text, step_id=command.step_id)]
    reason = _text(command.reason, "a reason for aborting", required=True) or ""
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
        if s.status is StepStatus.RUNNING
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


def _bot_command(run: Run, command: BotCommand, now: datetime) -> list[Event]:
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


def _started(state: StepState, now: datetime, actor: str, verb: str) -> StepStarted:
    action = state.step.action
    timeout = getattr(action, "timeout", None)
    deadline = action.deadline if isinstance(action, EfdWaitForStates) else None
    return StepStarted(
        at=now,
        actor=actor,
        step_id=state.id,
        attempt=state.attempt + 1,
        verb=verb,  # type: ignore[arg-type]  # one of the three literals, by the callers
        timeout_at=now + timeout if timeout else None,
        deadline_at=now + deadline if deadline else None,
    )


def _advance(run: Run, now: datetime) -> list[Event]:
    """Move an active run on: make the next step current, or complete the run."""
    if run.status is not RunStatus.ACTIVE:
        return []
    current = run.current
    if current is None:
        return [RunCompleted(at=now, actor=BOT)]
    if current.status is not StepStatus.PENDING:
        return []
    if current.step.needs_approval:
        return [StepAwaitingApproval(at=now, actor=BOT, step_id=current.id)]
    return [_started(current, now, BOT, "activate")]
