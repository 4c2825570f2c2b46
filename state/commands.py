"""What people (and the bot's own actions) ask of a run.

A command on a step carries the step's ``revision`` it was meant for: the state the button
showed. If the step is still there, the command applies; if the step has moved on *by this
very command* (a double click, a Slack retry) it is a no-op; otherwise it is stale and
refused. Revisions rather than attempt numbers, because a reopened step can go back to a
status with the same attempt, and an old button must not act on it.

Outcomes of actions carry the attempt instead: a result that arrives for an attempt that is no
longer running (cancelled, interrupted) is ignored.

Commands are not stored; the events they produce are.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from state.names import RunKind, Site
from state.procedure import Step


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends a command: a Slack user id (or a terminal user), and whether they are an admin.

    ``name`` is how Slack named them in the request (kept in the run, so messages and the
    logbook report show people by name without mentioning, and so notifying, them).
    """

    user: str
    admin: bool = False
    name: str | None = None


# --------------------------------------------------------------------------- by people


@dataclass(frozen=True, slots=True)
class StartRun:
    """Open a run of a site; the actor becomes its lead."""

    actor: Actor
    run_id: str
    site: Site
    kind: RunKind
    procedure: str
    steps: tuple[Step, ...]
    cycle: str | None = None
    phalanx_branch: str | None = None
    waived: tuple[tuple[str, str], ...] = ()
    """Steps the page requires that the procedure leaves out: (requirement, why)."""
    rehearsal: bool = False
    """A rehearsal (demo, ``run --simulate``): the simulated observatory, never the real one."""


@dataclass(frozen=True, slots=True)
class _StepCommand:
    actor: Actor
    step_id: str
    revision: int


@dataclass(frozen=True, slots=True)
class Approve(_StepCommand):
    """Run the step that awaits approval."""


@dataclass(frozen=True, slots=True)
class Retry(_StepCommand):
    """Run a failed or interrupted step again (a new attempt)."""


@dataclass(frozen=True, slots=True)
class MarkDone(_StepCommand):
    """The step is done by hand (a manual step, or work the lead did outside the bot)."""

    note: str | None = None


@dataclass(frozen=True, slots=True)
class Skip(_StepCommand):
    """Leave the step out, saying why."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Hold(_StepCommand):
    """Hold an announcement back until ``until``: integration testing goes on.

    The step is skipped, and the bot reminds the lead when the window ends.
    """

    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cancel(_StepCommand):
    """Stop the running step (the engine stops the real operation too)."""


@dataclass(frozen=True, slots=True)
class KeepWaiting(_StepCommand):
    """An overdue step: wait another expected period (nothing is stopped either way)."""


@dataclass(frozen=True, slots=True)
class Reopen(_StepCommand):
    """Go back to an ended step: it waits for approval to run again."""


@dataclass(frozen=True, slots=True)
class EditTargets(_StepCommand):
    """The lead changes the CSCs a stragglers step will send (``Name:index`` each)."""

    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LeaveUp(_StepCommand):
    """The lead goes on with the stragglers the step proposes still up (named, recorded)."""


@dataclass(frozen=True, slots=True)
class Pause:
    """No further step starts until resumed; a running step finishes."""

    actor: Actor


@dataclass(frozen=True, slots=True)
class Resume:
    """Go on after a pause."""

    actor: Actor


@dataclass(frozen=True, slots=True)
class HandOver:
    """Make someone else the lead (``to_name``: their name, as the mention carried it)."""

    actor: Actor
    to: str
    to_name: str | None = None


@dataclass(frozen=True, slots=True)
class TakeOver:
    """An admin becomes the lead of a run whose lead is gone (recorded)."""

    actor: Actor
    reason: str = "the lead is not available"


@dataclass(frozen=True, slots=True)
class AddNote:
    """Add a note to the run's record."""

    actor: Actor
    text: str
    step_id: str | None = None


@dataclass(frozen=True, slots=True)
class Abort:
    """End the run now, saying why (a running step is cancelled)."""

    actor: Actor
    reason: str


# ------------------------------------------------------------------- by the bot itself


@dataclass(frozen=True, slots=True)
class ActionSucceeded:
    """The step's action for this attempt finished; with ``issues``, leaving these in trouble.

    A shutdown script that ends FAILED because some CSCs stayed up has done its work: the run
    goes on to the stragglers step with those CSCs, rather than waiting on the lead.
    """

    step_id: str
    attempt: int
    summary: str = ""
    _: KW_ONLY
    issues: tuple[str, ...] = ()
    offline_up: tuple[str, ...] = ()
    """CSCs a watch found up in OFFLINE (done, but named)."""
    camera_team: tuple[str, ...] = ()
    """Camera CSCs a watch left to the camera team (handed over, not up yet)."""


@dataclass(frozen=True, slots=True)
class ActionFailed:
    """The step's action for this attempt failed (``timed_out`` if its timeout passed)."""

    step_id: str
    attempt: int
    error: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class ActionInterrupted:
    """The bot stopped (a graceful stop) before this attempt's action ended: outcome unknown.

    The same verdict as a step found running after a crash, given by the bot that stops
    instead of the one that starts next: the lead decides (retry or mark done).
    """

    step_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    """A watching step reached its deadline with these still in trouble (may be none)."""

    step_id: str
    attempt: int
    in_trouble: tuple[str, ...]
    offline_up: tuple[str, ...] = ()
    camera_team: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PastExpected:
    """A patient step's attempt went past its expected time (``seen``: its system now)."""

    step_id: str
    attempt: int
    seen: str = ""


@dataclass(frozen=True, slots=True)
class RecordAnnouncement:
    """An announcement with this key is being made: record it so it is made once."""

    key: str
    step_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProposeTargets:
    """The CSCs still up, read for a stragglers step as it comes up (or after an attempt).

    An empty list is nothing to do: the step ends at once, with no approval asked.
    """

    step_id: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecordBaseline:
    """The CSCs heartbeating as the run starts (read from the EFD by the pre-flight step)."""

    cscs: tuple[str, ...]


StepCommand = (
    Approve | Retry | MarkDone | Skip | Hold | Cancel | KeepWaiting | Reopen | EditTargets | LeaveUp
)


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Anyone acknowledges an announcement made in the run (the camera team, at Stage 1/2)."""

    actor: Actor
    key: str


RunCommand = Pause | Resume | HandOver | TakeOver | AddNote | Abort | Acknowledge
BotCommand = (
    ActionSucceeded
    | ActionFailed
    | ActionInterrupted
    | DeadlineReached
    | PastExpected
    | RecordAnnouncement
    | RecordBaseline
    | ProposeTargets
)
Command = StepCommand | RunCommand | BotCommand
"""Every command :func:`state.machine.decide` takes (:func:`state.machine.start` opens a run)."""
