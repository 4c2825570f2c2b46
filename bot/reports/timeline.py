"""A run's timeline in text: when each step came up and how long it took, who did what.

Pure (a run and its events in, text out), shared by the terminal, the logbook report and the
summary the bot posts at the end of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from state.duration import human_duration
from state.events import StepAwaitingApproval, StepStarted
from state.names import PHASES
from state.run import Run, StepState, StepStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from state.events import Event


def clock_text(seconds: float) -> str:
    """``+1:02:03`` from the run's start."""
    seconds = max(0, int(seconds))
    return f"+{seconds // 3600}:{seconds % 3600 // 60:02}:{seconds % 60:02}"


def duration_text(delta: timedelta | float | None) -> str:
    """``1h2m``, ``12m5s``, ``40s`` (:func:`state.duration.human_duration`); ``-`` when unknown."""
    return "-" if delta is None else human_duration(delta)


@dataclass(frozen=True)
class Timing:
    """When each step first came up and how long it took, and the time spent per phase."""

    began: dict[str, datetime]
    took: dict[str, timedelta]
    per_phase: dict[str, timedelta]


def timing(run: Run, events: Sequence[Event]) -> Timing:
    """A step's time runs from when it first came up (awaiting approval, or started)."""
    began: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, StepStarted | StepAwaitingApproval):
            began.setdefault(event.step_id, event.at)
    took: dict[str, timedelta] = {}
    per_phase: dict[str, timedelta] = {}
    for state in run.steps:
        start = began.get(state.id)
        if start is not None and state.ended_at is not None:
            took[state.id] = state.ended_at - start
            phase = state.step.phase
            per_phase[phase] = per_phase.get(phase, timedelta()) + took[state.id]
    return Timing(began, took, per_phase)


def summary(run: Run, events: Sequence[Event]) -> str:
    """The end-of-run summary: per step who did what, when and how long; per phase; in total."""
    times = timing(run, events)
    total = duration_text(run.elapsed(run.ended_at or run.started_at))
    lines = [
        (
            f"Summary of run {run.run_id}: {run.kind} of {run.site}, {run.status.value} in "
            f"{total}, lead {run.name(run.lead)}"
        ),
        f"{'#':>3} {'step':<26} {'result':<17} {'att':>3} {'at':>8} {'took':>7}  who / why",
    ]
    for index, state in enumerate(run.steps, start=1):
        began = times.began.get(state.id)
        at = clock_text((began - run.started_at).total_seconds()) if began else "-"
        lines.append(
            f"{index:>3} {state.id:<26} {state.status.value:<17} {state.attempt:>3} {at:>8} "
            f"{duration_text(times.took.get(state.id)):>7}  {who(run, state)}"
        )
    per_phase = ", ".join(
        f"{phase} {duration_text(times.per_phase.get(phase))}" for phase in PHASES
    )
    lines.append(f"Per phase: {per_phase}")
    if run.abort_reason:
        lines.append(f"Aborted: {run.abort_reason}")
    return "\n".join(lines)


def who(run: Run, state: StepState) -> str:
    """Who did what to the step, by name, and why (approved by, done by hand by, the reason)."""
    parts = []
    if state.approved_by:
        parts.append(f"approved by {run.name(state.approved_by)}")
    if state.status in {StepStatus.DONE_BY_HAND, StepStatus.SKIPPED} and state.ended_by:
        parts.append(f"{state.status.value.replace('_', ' ')} by {run.name(state.ended_by)}")
    if state.reason:
        parts.append(state.reason)
    if state.issues:
        parts.append(f"{len(state.issues)} in trouble")
    return "; ".join(parts) or ("bot" if state.status is StepStatus.SUCCEEDED else "")
