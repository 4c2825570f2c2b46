"""The stragglers step in the state machine: proposed by the bot, edited or left up by the lead.

A CSC that will not go down is the normal path: nothing is claimed "done by hand"; an empty
list is nothing to do and asks nobody; what the lead leaves up is named in the run.
"""

from __future__ import annotations

import pytest

from state.commands import (
    ActionFailed,
    ActionSucceeded,
    Approve,
    EditTargets,
    LeaveUp,
    ProposeTargets,
)
from state.errors import BadInput, NotAllowedNow, NotLead
from state.events import StepDoneWithIssues, TargetsProposed
from state.machine import handle, start
from state.run import Run, StepStatus
from tests.support.runs import LEAD, OTHER, at, start_command, stragglers_step

STEP = "offline-stragglers"


def awaiting() -> tuple[Run, list[object]]:
    """A run whose stragglers step awaits the lead (nothing read yet)."""
    run, events = start(None, start_command(steps=(stragglers_step(),)), at(0))
    state = run.step(STEP)
    assert state is not None
    assert state.status is StepStatus.AWAITING_APPROVAL
    assert state.proposed is None
    return run, list(events)


def test_no_approval_before_the_bot_read_who_is_up() -> None:
    """Approving an unread list is refused: the lead approves what they were shown."""
    run, _ = awaiting()
    with pytest.raises(NotAllowedNow, match="still reading which CSCs are up"):
        handle(run, Approve(LEAD, STEP, run.step(STEP).revision), at(1))  # type: ignore[union-attr]


def test_the_bots_proposal_is_kept_without_moving_the_buttons() -> None:
    """The read list is kept; it is no transition, so the lead's buttons stay valid."""
    run, _ = awaiting()
    before = run.step(STEP).revision  # type: ignore[union-attr]
    run, events = handle(run, ProposeTargets(STEP, ("ATMCS:0",)), at(1))
    assert [type(e) for e in events] == [TargetsProposed]
    state = run.step(STEP)
    assert state is not None
    assert state.proposed == ("ATMCS:0",)
    assert state.revision == before
    run, events = handle(run, Approve(LEAD, STEP, before), at(2))
    assert run.step(STEP).status is StepStatus.RUNNING  # type: ignore[union-attr]
    assert handle(run, ProposeTargets(STEP, ("ATMCS:0",)), at(3))[1] == []  # running: no


def test_an_empty_list_is_nothing_to_do_and_asks_nobody() -> None:
    """None up: the step ends at once, succeeded, never started; the run goes on."""
    run, _ = awaiting()
    run, _ = handle(run, ProposeTargets(STEP, ()), at(1))
    state = run.step(STEP)
    assert state is not None
    assert state.status is StepStatus.SUCCEEDED
    assert state.outcome == "nothing to do: no CSC is still up"
    assert state.attempt == 0
    assert state.approved_by is None
    assert run.status.value == "completed"  # its only step: the run goes on, to its end


def test_the_lead_edits_the_list_checked_instance_by_instance() -> None:
    """The lead's list replaces the bot's (a transition); bad names are refused, saying which."""
    run, _ = awaiting()
    run, _ = handle(run, ProposeTargets(STEP, ("ATMCS:0",)), at(1))
    rev = run.step(STEP).revision  # type: ignore[union-attr]
    with pytest.raises(BadInput, match=r"Not a CSC instance .*: ATMCS, mtdome:0"):
        handle(run, EditTargets(LEAD, STEP, rev, ("ATMCS", "mtdome:0")), at(2))
    with pytest.raises(BadInput, match="Give at least one CSC"):
        handle(run, EditTargets(LEAD, STEP, rev, (" ",)), at(2))
    with pytest.raises(NotLead):
        handle(run, EditTargets(OTHER, STEP, rev, ("MTDome:0",)), at(2))
    run, events = handle(
        run, EditTargets(LEAD, STEP, rev, ("MTDome:0", "ATMCS:0", "MTDome:0")), at(2)
    )
    state = run.step(STEP)
    assert state is not None
    assert state.proposed == ("MTDome:0", "ATMCS:0")
    assert state.revision == rev + 1
    assert events[0].actor == LEAD.user
    assert handle(run, EditTargets(LEAD, STEP, rev, ("MTDome:0",)), at(3))[1] == []  # a repeat


def test_the_lead_goes_on_with_them_up_named() -> None:
    """After a failed attempt, "leave them up": done with issues, named, kept in the run."""
    run, _ = awaiting()
    run, _ = handle(run, ProposeTargets(STEP, ("ATMCS:0",)), at(1))
    run, _ = handle(run, Approve(LEAD, STEP, run.step(STEP).revision), at(2))  # type: ignore[union-attr]
    run, _ = handle(run, ActionFailed(STEP, 1, "ATMCS:0 failed to transition to OFFLINE"), at(3))
    state = run.step(STEP)
    assert state is not None
    with pytest.raises(NotLead):
        handle(run, LeaveUp(OTHER, STEP, state.revision), at(4))
    run, history = handle(run, LeaveUp(LEAD, STEP, state.revision), at(4))
    left = run.step(STEP)
    assert left is not None
    assert left.status is StepStatus.DONE_WITH_ISSUES
    assert left.issues == ("ATMCS:0 left up by U_LEAD",)
    assert left.outcome == "went on with 1 still up: ATMCS:0"
    assert run.left_up == ("ATMCS:0",)
    assert history[0].actor == LEAD.user
    assert handle(run, LeaveUp(LEAD, STEP, state.revision), at(5))[1] == []  # a double click


def test_a_script_that_leaves_cscs_up_ends_the_step_done_with_issues() -> None:
    """An outcome with issues (the shutdown script ended FAILED, CSCs up): done with issues."""
    run, _ = awaiting()
    run, _ = handle(run, ProposeTargets(STEP, ("ATMCS:0",)), at(1))
    run, _ = handle(run, Approve(LEAD, STEP, run.step(STEP).revision), at(2))  # type: ignore[union-attr]
    summary = "set_summary_state.py ended FAILED: 1 CSC(s) did not go OFFLINE"
    run, events = handle(
        run, ActionSucceeded(STEP, 1, summary, issues=("ATMCS:0 STANDBY, beating",)), at(3)
    )
    assert isinstance(events[0], StepDoneWithIssues)
    state = run.step(STEP)
    assert state is not None
    assert state.status is StepStatus.DONE_WITH_ISSUES
    assert state.outcome == summary
    assert state.issues == ("ATMCS:0 STANDBY, beating",)


def test_only_a_stragglers_step_has_a_list() -> None:
    """Editing or leaving up on another step is refused."""
    run, _ = start(None, start_command(), at(0))
    check = run.step("check")
    assert check is not None
    with pytest.raises(NotAllowedNow, match="Only a stragglers step has a list"):
        handle(run, LeaveUp(LEAD, "check", check.revision), at(1))
