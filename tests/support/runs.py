"""Builders for runs: a small procedure with one step of each shape, fixed actors and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from state.commands import Actor, StartRun
from state.machine import start
from state.procedure import Step, parse_procedure
from state.run import Run
from tests.support.procedures import SCRIPTQUEUES, STRAGGLERS, WAIVED, procedure

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEAD = Actor("U_LEAD")
OTHER = Actor("U_OTHER")
ADMIN = Actor("U_ADMIN", admin=True)

SMALL = (
    """
name: small
steps:
  - id: check
    title: Automated, no approval
    phase: shutdown
    action: {type: preflight.check, timeout: 2m}
  - id: manual
    title: Manual
    phase: configuration
    action: {type: manual}
  - id: sync
    title: Automated, needs approval
    phase: deployment
    needs_approval: true
    action: {type: argocd.sync, apps: [nublado], timeout: 20m}
  - id: watch
    title: Watch with a deadline
    phase: verification
    action: {type: efd.wait_for_states, expect: end-states, deadline: 30m}
"""
    + WAIVED
)


HELD = (
    """
name: held
steps:
  - id: announce-nublado-available
    title: Announce that Nublado can be used again
    phase: verification
    needs_approval: true
    action:
      type: announce
      key: nublado-available
      audiences: [nublado-users]
      hold: {label: Continue integration testing, window: 2h}
      message: ":white_check_mark: *{site}*: Nublado can be used again."
"""
    + WAIVED
)
"""One step: the end-of-run announcement the lead may hold back (integration testing)."""


def stragglers_step() -> Step:
    """The stragglers step (proposed by the bot before the lead decides).

    Parsed with the ScriptQueues step after it, without which no procedure sends CSCs OFFLINE.
    """
    text = procedure("stragglers", STRAGGLERS, SCRIPTQUEUES)
    return parse_procedure(text, "stragglers").steps[0]


def small_steps() -> tuple[Step, ...]:
    """Four steps: automated, manual, approved automated, watch."""
    return parse_procedure(SMALL, "small").steps


def start_command(
    run_id: str = "run-1", site: str = "tts", steps: tuple[Step, ...] | None = None
) -> StartRun:
    """The lead opens a cycle upgrade of ``site``."""
    return StartRun(
        actor=LEAD,
        run_id=run_id,
        site=site,  # type: ignore[arg-type]  # tests pass valid sites
        kind="cycle-upgrade",
        procedure="small",
        steps=steps if steps is not None else small_steps(),
        cycle="Cycle 40",
        phalanx_branch="tickets/DM-1",
    )


def started(run_id: str = "run-1", site: str = "tts") -> Run:
    """A freshly started run of the small procedure (its first step running)."""
    run, _ = start(None, start_command(run_id, site), T0)
    return run


def at(minutes: float) -> datetime:
    """``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)
