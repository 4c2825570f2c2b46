"""The rules of a run, as pure functions: (run, command, now) -> the events it causes.

``decide`` checks a command against the run and returns the events it causes, or raises a
:class:`state.errors.RunError` saying why not; it never changes anything. ``evolve`` (in
:mod:`state.evolve`, the other half) folds one event into a run. The store persists what
``decide`` returned and the folded snapshot in one transaction; replaying the events through
``evolve`` gives the snapshot back, exactly. Deciding is split by who asks:
:mod:`state.step_commands` (the lead, on a step), :mod:`state.run_commands` (on the run, and
what the bot reports), both checked by :mod:`state.checks`.

No clock, no I/O, no Slack: ``now`` is passed in, so tests choose the time and a replay is
deterministic.
"""

from __future__ import annotations

from datetime import datetime

from state.checks import started
from state.commands import Actor, Command, RunCommand, StartRun, StepCommand
from state.errors import BadInput, RunAlreadyActive
from state.events import BOT, Event, RunCompleted, RunStarted, StepAwaitingApproval, StepInterrupted
from state.evolve import evolve, fold
from state.outcomes import outcome_events
from state.run import Run, RunStatus, StepStatus
from state.run_commands import run_command
from state.step_commands import step_command


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
        waived=dict(command.waived),
        rehearsal=command.rehearsal,
    )
    run = evolve(None, started)
    events: list[Event] = [started, *_advance(run, now)]
    return fold(run, events[1:]), events


def decide(run: Run, command: Command, now: datetime) -> list[Event]:
    """The events ``command`` causes in ``run`` (empty if it was already applied)."""
    _aware(now)
    if isinstance(command, StepCommand):
        events = step_command(run, command, now)
    elif isinstance(command, RunCommand):
        events = run_command(run, command, now)
    else:
        events = outcome_events(run, command, now)
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
        if s.status.active and not s.step.action.survives_restart()
    ]


# ---------------------------------------------------------------------------- deciding


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


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
    return [started(current, now, BOT, "activate")]
