"""Each event of a run as one line (or a few) a person reads: the terminal, the logbook report.

Pure: a run and an event in, text out. People are named by the names the run keeps (as the
requests that made them actors carried them), else by their user id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.reports.timeline import duration_text
from state.duration import format_duration
from state.events import (
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

if TYPE_CHECKING:
    from collections.abc import Sequence

    from state.run import Run, StepState


def indent(text: str, first: str) -> str:
    """``text`` behind ``first``, its further lines aligned under the first (the gutter)."""
    lines = text.splitlines() or [""]
    pad = " " * 11
    return first + lines[0] + "".join(f"\n{pad}{' ' * len(first)}{line}" for line in lines[1:])


def describe(run: Run, event: Event, *, seen: bool = True) -> str | None:  # noqa: C901, PLR0911, PLR0912  # a case per event
    """One line (or a few) for an event; ``None`` for events the terminal need not show.

    ``seen``: with what an overdue step's system looked like (the terminal leaves it to the
    notice it prints, the logbook keeps it).
    """
    step_id: str | None = getattr(event, "step_id", None)
    step = run.step(step_id) if step_id else None
    label = _label(run, step) if step else ""
    actor = run.name(event.actor)
    match event:
        case RunStarted():
            waived = "".join(f"\n  waived: {what}: {why}" for what, why in event.waived.items())
            return (
                f"Run {event.run_id}: {event.kind} of {event.site}, {len(event.steps)} steps, "
                f"led by {actor}" + (f" (cycle {event.cycle})" if event.cycle else "")
            ) + waived
        case StepStarted():
            how = {
                "activate": "",
                "approve": f" (approved by {actor})",
                "retry": f" (retry by {actor})",
            }
            attempt = f", attempt {event.attempt}" if event.attempt > 1 else ""
            # A step that waited for approval had its header then.
            phase_break = _phase_header(run, step) if event.verb == "activate" else ""
            return f"{phase_break}▶ {label}{how[event.verb]}{attempt}"
        case StepAwaitingApproval():
            if step is not None and step.step.action.proposes_targets():  # none up: no approval
                return f"{_phase_header(run, step)}⏸ {label} — reading which CSCs are still up"
            return f"{_phase_header(run, step)}⏸ {label} — awaiting the lead's approval"
        case StepSucceeded():
            return f"  ✓ {event.step_id}: {event.summary or 'done'}{_took(step)}"
        case StepFailed():
            kind = "cancelled" if event.cancelled else "TIMED OUT" if event.timed_out else "FAILED"
            text = indent(f"{event.step_id} {kind}: {event.error}", "  ✗ ")
            return text if event.cancelled else f"{text}\n{' ' * 15}{CHOICES}"
        case StepDoneWithIssues():
            said = f": {event.summary}" if event.summary else ""
            return (
                f"  ⚠ {event.step_id}: done with {len(event.issues)} in trouble{said}: "
                f"{_some(event.issues)}"
            )
        case TargetsProposed():
            who = "the bot reads" if event.actor == "bot" else f"{actor} sets"
            listed = _some(event.targets) if event.targets else "none"
            return f"  · {event.step_id}: {who} the CSCs still up: {listed}"
        case CscsLeftUp():
            return (
                f"  ⚠ {event.step_id}: {actor} goes on with {len(event.cscs)} CSC(s) "
                f"left up: {_some(event.cscs)}"
            )
        case StepOverdue():
            expected = getattr(step.step.action, "expected", None) if step else None
            line = (
                f"{event.step_id} is taking longer than expected "
                f"({format_duration(expected) if expected else '?'} expected): nothing was stopped"
            )
            looked = f"\n{event.seen}" if event.seen and seen else ""
            return f"{indent(line + looked, '  ⏳ ')}\n{' ' * 15}{PATIENCE}"
        case StepWaitExtended():
            return (
                f"  ⏳ {actor} keeps waiting for {event.step_id}: another "
                f"{format_duration(event.overdue_at - event.at)}"
            )
        case StepDoneByHand():
            note = f": {event.note}" if event.note else ""
            return f"  ✓ {event.step_id} marked done by {actor}{note}{_took(step)}"
        case StepSkipped():
            return f"  ↷ {event.step_id} skipped by {actor}: {event.reason}"
        case StepInterrupted():
            return (
                f"  ! {event.step_id} INTERRUPTED: the bot stopped while it ran "
                f"(attempt {event.attempt}); it will not run again by itself: "
                "the lead decides (Retry or Mark done)"
            )
        case StepReopened():
            return f"  ↺ {event.step_id} reopened by {actor}"
        case Announced():
            return None  # the announcer prints the announcement itself
        case AnnouncementHeld():
            return (
                f"  ⏳ {actor} holds {event.key} back until {event.until:%H:%M} UTC "
                "(integration testing goes on); the bot reminds them then"
            )
        case Acknowledged():
            return f"  ✔ {actor} acknowledged {event.key}"
        case BaselineRecorded():
            return f"  · baseline: {len(event.cscs)} CSCs beating at the start of the run"
        case RunPausedEvent():
            return f"Run paused by {actor}"
        case RunResumed():
            return f"Run resumed by {actor}"
        case LeadHandedOver():
            return f"{actor} handed the run over to {run.name(event.to)}"
        case RunTakenOver():
            return f"{actor} took the run over from {run.name(event.previous_lead)}: {event.reason}"
        case NoteAdded():
            return f"  ✎ note by {actor}: {event.text}"
        case RunAborted():
            return f"Run ABORTED by {actor}: {event.reason}"
        case RunCompleted():
            return "Run completed."


def _phase_header(run: Run, step: StepState | None) -> str:
    if step is None:
        return ""
    index = run.index(step.id)
    if index == 0 or run.steps[index - 1].step.phase != step.step.phase:
        return f"── {step.step.phase.upper()} ──\n" + " " * 11
    return ""


CHOICES = "the lead may: Retry, Mark done (did it by hand), or Skip (with a reason)"
PATIENCE = "the lead may: Keep waiting, Cancel (stops the operation), or Mark done (with a note)"
SHOWN = 8
"""Names listed in one line before "and N more"."""


def _some(names: Sequence[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def _label(run: Run, step: StepState) -> str:
    return f"{run.index(step.id) + 1}/{len(run.steps)} {step.id}: {step.step.title}"


def _took(step: StepState | None) -> str:
    if step is None or step.started_at is None or step.ended_at is None:
        return ""
    return f" ({duration_text(step.ended_at - step.started_at)})"
