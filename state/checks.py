"""What every command of a run is checked against.

Who may, whether the run is open, the texts people give, and the hint that says what the lead
can do with a step as it is.

Shared by the two halves of deciding (:mod:`state.step_commands`, :mod:`state.run_commands`);
pure, as the rest of the machine.
"""

from __future__ import annotations

from datetime import datetime

from state.actions import EfdWaitForStates, Manual
from state.commands import Actor
from state.errors import BadInput, NotLead, RunNotActive
from state.events import StepStarted
from state.run import Run, StepState, StepStatus

NOTE_LIMIT = 2000
"""Longest note or reason kept (characters); Slack shows 3000 a section, with room for the rest."""

DECIDING = {StepStatus.AWAITING_APPROVAL, StepStatus.FAILED, StepStatus.INTERRUPTED}
"""The statuses in which the lead decides about a step (approve or retry, mark done, skip)."""


def require_lead(run: Run, actor: Actor, what: str) -> None:
    """Only the lead may do ``what``."""
    if actor.user != run.lead:
        raise NotLead(actor.user, run.lead, what, run.name(run.lead))


def require_open(run: Run) -> None:
    """Nothing changes in a run that is over."""
    if not run.status.open:
        raise RunNotActive(run.run_id, run.status.value)


def given_text(value: str | None, what: str, *, required: bool) -> str | None:
    """A note or reason as kept: stripped, within :data:`NOTE_LIMIT`; ``None`` when empty."""
    text = (value or "").strip()
    if required and not text:
        raise BadInput(f"Please give {what}.")
    if len(text) > NOTE_LIMIT:
        raise BadInput(
            f"{what.capitalize()} is too long ({len(text)} characters; {NOTE_LIMIT} at most)."
        )
    return text or None


def hint(state: StepState) -> str:
    """What the lead can do with the step as it is."""
    status = state.status
    if status is StepStatus.OVERDUE:
        return "Keep waiting, cancel it (the operation is stopped) or mark it done with a note."
    if status is StepStatus.RUNNING:
        if isinstance(state.step.action, Manual):
            return "Mark it done or skip it."
        return "Cancel it first, or wait for it to end."
    if status.waits_for_lead:
        choices = "Approve" if status is StepStatus.AWAITING_APPROVAL else "Retry"
        if state.step.action.proposes_targets():
            return f"{choices}, edit the list, leave them up and go on, or skip it."
        return f"{choices}, mark it done or skip it."
    return "Reopen it to run it again." if status.ended else ""


def started(state: StepState, now: datetime, actor: str, verb: str) -> StepStarted:
    """A new attempt of the step, with its timeout, deadline and expected end from now."""
    action = state.step.action
    timeout = getattr(action, "timeout", None)
    expected = getattr(action, "expected", None)
    deadline = action.deadline if isinstance(action, EfdWaitForStates) else None
    return StepStarted(
        at=now,
        actor=actor,
        step_id=state.id,
        attempt=state.attempt + 1,
        verb=verb,  # type: ignore[arg-type]  # one of the three literals, by the callers
        timeout_at=now + timeout if timeout else None,
        deadline_at=now + deadline if deadline else None,
        overdue_at=now + expected if expected else None,
    )
