"""Every command of the state machine, and every refusal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from state.commands import (
    Abort,
    Acknowledge,
    ActionFailed,
    ActionSucceeded,
    Actor,
    AddNote,
    Approve,
    Cancel,
    Command,
    DeadlineReached,
    HandOver,
    Hold,
    MarkDone,
    PastExpected,
    Pause,
    RecordAnnouncement,
    RecordBaseline,
    Reopen,
    Resume,
    Retry,
    Skip,
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
from state.events import BOT, RunTakenOver
from state.evolve import fold
from state.machine import decide, handle, interrupt_running, start
from state.procedure import parse_procedure
from state.run import Run, RunStatus, StepStatus
from tests.support.runs import ADMIN, HELD, LEAD, OTHER, T0, at, start_command, started


def rev(run: Run, step_id: str) -> int:
    """The revision a button for this step would carry now."""
    state = run.step(step_id)
    assert state is not None
    return state.revision


def status(run: Run, step_id: str) -> StepStatus:
    """The status of a step."""
    state = run.step(step_id)
    assert state is not None
    return state.status


def do(run: Run, command: Command, now: datetime = T0) -> Run:
    """Apply a command that must change something."""
    after, events = handle(run, command, now)
    assert events, f"{command} changed nothing"
    return after


def at_sync() -> Run:
    """A run whose current step, ``sync``, awaits approval."""
    run = do(started(), ActionSucceeded("check", 1))
    return do(run, MarkDone(LEAD, "manual", rev(run, "manual"), note="done by hand"))


def sync_running() -> Run:
    """A run whose ``sync`` step is running (attempt 1)."""
    run = at_sync()
    return do(run, Approve(LEAD, "sync", rev(run, "sync")))


# ------------------------------------------------------------------------------ start


def test_start_runs_first_step_without_approval() -> None:
    """A run starts with its lead, and a first step that needs no approval runs at once."""
    run, events = start(None, start_command(), T0)
    assert [e.type for e in events] == ["run.started", "step.started"]
    assert run.lead == LEAD.user
    assert run.status is RunStatus.ACTIVE
    assert status(run, "check") is StepStatus.RUNNING
    check = run.step("check")
    assert check is not None
    assert check.attempt == 1
    assert check.timeout_at == T0 + timedelta(minutes=2)
    assert run.version == 2


def test_start_refused_while_site_has_open_run() -> None:
    """One open run per site: a second start names the open run and its lead."""
    with pytest.raises(
        RunAlreadyActive, match="tts already has an open run \\(run-1, led by U_LEAD\\)"
    ):
        start(started(), start_command("run-2"), T0)


def test_start_allowed_after_previous_run_ended() -> None:
    """A site whose last run ended may start another."""
    aborted = do(started(), Abort(LEAD, "rehearsal"))
    run, _ = start(aborted, start_command("run-2"), at(1))
    assert run.run_id == "run-2"


def test_start_without_steps_refused() -> None:
    """A procedure with nothing for this site and kind is a clear error."""
    with pytest.raises(BadInput, match="no step"):
        start(None, start_command(steps=()), T0)


def test_now_must_be_aware() -> None:
    """The machine never guesses a timezone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(started(), Pause(LEAD), datetime(2026, 1, 1))  # noqa: DTZ001  # the point of the test


# ---------------------------------------------------------------------- step commands


def test_outcome_activates_next_step() -> None:
    """When a step succeeds the next becomes current; a manual step runs until marked done."""
    run = do(started(), ActionSucceeded("check", 1, "all reachable"))
    assert status(run, "check") is StepStatus.SUCCEEDED
    check = run.step("check")
    assert check is not None
    assert check.outcome == "all reachable"
    assert status(run, "manual") is StepStatus.RUNNING
    run = do(run, MarkDone(LEAD, "manual", rev(run, "manual"), note="done by Ana"))
    assert status(run, "manual") is StepStatus.DONE_BY_HAND
    assert status(run, "sync") is StepStatus.AWAITING_APPROVAL


def test_approve_starts_attempt_with_its_expected_end() -> None:
    """Approving runs attempt 1 and records who approved and when it is expected to end.

    A sync is patient: it never times out; its ``timeout: 20m`` (a file written before
    patience) is read as its expected time, past which the lead chooses.
    """
    run = do(at_sync(), Approve(LEAD, "sync", rev(at_sync(), "sync")), at(5))
    sync = run.step("sync")
    assert sync is not None
    assert sync.status is StepStatus.RUNNING
    assert sync.attempt == 1
    assert sync.approved_by == LEAD.user
    assert sync.timeout_at is None
    assert sync.overdue_at == at(25)


def test_non_lead_cannot_press_buttons() -> None:
    """Anyone but the lead is refused, with the lead named, for every step command."""
    run = at_sync()
    r = rev(run, "sync")
    for command in (
        Approve(OTHER, "sync", r),
        Skip(OTHER, "sync", r, reason="x"),
        MarkDone(OTHER, "sync", r, note="done by hand"),
        Retry(OTHER, "sync", r),
        Cancel(OTHER, "sync", r),
        Reopen(OTHER, "check", rev(run, "check")),
    ):
        with pytest.raises(NotLead, match="Only the lead, U_LEAD"):
            decide(run, command, T0)


def test_double_click_is_one_click() -> None:
    """The same button twice: the second is a no-op, not an error and not a second run."""
    run = at_sync()
    approve = Approve(LEAD, "sync", rev(run, "sync"))
    run = do(run, approve)
    assert decide(run, approve, at(1)) == []


def test_stale_button_refused() -> None:
    """A button rendered before another decision is refused, saying where the step is."""
    run = at_sync()
    r = rev(run, "sync")
    run = do(run, Skip(LEAD, "sync", r, reason="not this cycle"))
    with pytest.raises(StaleCommand, match="step 'sync' is now skipped"):
        decide(run, Approve(LEAD, "sync", r), T0)
    with pytest.raises(StaleCommand):
        decide(run, Approve(LEAD, "sync", r + 5), T0)


def test_unknown_and_not_current_steps_refused() -> None:
    """Commands name a step the run has, and the step it is at."""
    run = at_sync()
    with pytest.raises(UnknownStep):
        decide(run, Approve(LEAD, "nope", 0), T0)
    with pytest.raises(StepNotCurrent, match="the run is at step 'sync'"):
        decide(run, Skip(LEAD, "watch", 0, reason="x"), T0)


def test_approve_only_when_awaiting_approval() -> None:
    """Approve on a running step is refused with what can be done instead."""
    run = sync_running()
    with pytest.raises(NotAllowedNow, match=r"it is running\. Cancel it first"):
        decide(run, Approve(LEAD, "sync", rev(run, "sync")), T0)


def test_failure_then_retry_is_a_new_attempt() -> None:
    """A failed step shows its error; retry runs attempt 2; a repeated retry is a no-op."""
    run = do(sync_running(), ActionFailed("sync", 1, "nublado ended Degraded"))
    sync = run.step("sync")
    assert sync is not None
    assert sync.status is StepStatus.FAILED
    assert sync.outcome == "nublado ended Degraded"
    retry = Retry(LEAD, "sync", rev(run, "sync"))
    run = do(run, retry, at(3))
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.attempt, sync.approved_by) == (StepStatus.RUNNING, 2, LEAD.user)
    assert decide(run, retry, at(4)) == []


def test_retry_only_after_failure() -> None:
    """Retry of a step awaiting approval is refused."""
    run = at_sync()
    with pytest.raises(NotAllowedNow, match="Cannot retry step 'sync': it is awaiting approval"):
        decide(run, Retry(LEAD, "sync", rev(run, "sync")), T0)


def test_timeout_is_a_failure_marked_timed_out() -> None:
    """A timed-out action fails the step and says so."""
    run = do(sync_running(), ActionFailed("sync", 1, "timed out after 20m", timed_out=True))
    sync = run.step("sync")
    assert sync is not None
    assert sync.timed_out
    assert sync.status is StepStatus.FAILED


@pytest.mark.parametrize("overdue", [False, True], ids=["running", "overdue"])
def test_cancel_running_step(overdue: bool) -> None:  # noqa: FBT001  # a parameter of the test
    """Cancel ends the running attempt as failed (cancelled); a late result is ignored.

    The same for a step overdue (past its expected time, still running).
    """
    run = sync_running()
    if overdue:
        run = do(run, PastExpected("sync", 1, "seen"), at(1))
    run = do(run, Cancel(LEAD, "sync", rev(run, "sync")))
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.cancelled, sync.outcome) == (
        StepStatus.FAILED,
        True,
        "cancelled by U_LEAD",
    )
    assert decide(run, ActionSucceeded("sync", 1), at(1)) == []


def test_cancel_only_running() -> None:
    """Nothing to cancel on a step that is not running."""
    run = at_sync()
    with pytest.raises(NotAllowedNow, match="Approve, mark it done or skip it"):
        decide(run, Cancel(LEAD, "sync", rev(run, "sync")), T0)


def test_mark_done_from_each_deciding_status() -> None:
    """Mark done works on a step awaiting approval, failed or interrupted."""
    awaiting = at_sync()
    failed = do(sync_running(), ActionFailed("sync", 1, "boom"))
    interrupted = fold(sync_running(), interrupt_running(sync_running(), at(1)))
    for run in (awaiting, failed, interrupted):
        after = do(run, MarkDone(LEAD, "sync", rev(run, "sync"), note="by hand"), at(2))
        assert status(after, "sync") is StepStatus.DONE_BY_HAND


def test_mark_done_refused_while_action_runs() -> None:
    """An automated step must be cancelled (or end) before it is marked done."""
    run = sync_running()
    with pytest.raises(NotAllowedNow, match="Cancel it first"):
        decide(run, MarkDone(LEAD, "sync", rev(run, "sync"), note="done by hand"), T0)


def test_mark_done_needs_a_note_of_what_was_done() -> None:
    """Done by hand is recorded with what was done: without a note it is refused."""
    run = started()
    run = do(run, ActionSucceeded("check", 1))
    for empty in (None, "", "   "):
        with pytest.raises(BadInput, match="Please give a note: what was done by hand"):
            decide(run, MarkDone(LEAD, "manual", rev(run, "manual"), note=empty), T0)
    run = do(run, MarkDone(LEAD, "manual", rev(run, "manual"), note=" stopped it by hand "))
    manual = run.step("manual")
    assert manual is not None
    assert manual.status is StepStatus.DONE_BY_HAND
    assert manual.reason == "stopped it by hand"


def test_skip_needs_reason() -> None:
    """Skipping without a reason is refused; with one it is recorded."""
    run = at_sync()
    with pytest.raises(BadInput, match="reason for skipping"):
        decide(run, Skip(LEAD, "sync", rev(run, "sync"), reason="  "), T0)
    run = do(run, Skip(LEAD, "sync", rev(run, "sync"), reason="no change this cycle"))
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.reason) == (StepStatus.SKIPPED, "no change this cycle")
    assert status(run, "watch") is StepStatus.RUNNING


def test_skip_running_manual_step() -> None:
    """A manual step is running while the person works; the lead may skip it."""
    run = do(started(), ActionSucceeded("check", 1))
    run = do(run, Skip(LEAD, "manual", rev(run, "manual"), reason="not needed"))
    assert status(run, "manual") is StepStatus.SKIPPED


def test_skip_running_automated_step_refused() -> None:
    """An automated step is cancelled first, then skipped."""
    run = sync_running()
    with pytest.raises(NotAllowedNow):
        decide(run, Skip(LEAD, "sync", rev(run, "sync"), reason="x"), T0)


def test_deadline_with_issues_then_completion() -> None:
    """A watch ends "done with issues" naming them; the run then completes."""
    run = do(at_sync(), Skip(LEAD, "sync", rev(at_sync(), "sync"), reason="x"), at(1))
    watch = run.step("watch")
    assert watch is not None
    assert watch.deadline_at == at(31)
    assert watch.timeout_at is None
    run = do(run, DeadlineReached("watch", 1, ("ATDome:0", "MTMount:0")), at(31))
    watch = run.step("watch")
    assert watch is not None
    assert (watch.status, watch.issues) == (StepStatus.DONE_WITH_ISSUES, ("ATDome:0", "MTMount:0"))
    assert run.status is RunStatus.COMPLETED
    assert run.ended_at == at(31)


def test_deadline_with_nothing_in_trouble_succeeds() -> None:
    """At the deadline with every CSC where it should be, the watch simply succeeded."""
    run = do(at_sync(), Skip(LEAD, "sync", rev(at_sync(), "sync"), reason="x"))
    run = do(run, DeadlineReached("watch", 1, ()))
    assert status(run, "watch") is StepStatus.SUCCEEDED


def test_outcome_for_other_attempt_ignored() -> None:
    """A result for an attempt that is not the running one changes nothing."""
    run = sync_running()
    assert decide(run, ActionSucceeded("sync", 2), T0) == []
    assert decide(run, ActionFailed("check", 1, "late"), T0) == []


# ----------------------------------------------------------------------- run commands


def test_pause_blocks_new_work_and_resume_goes_on() -> None:
    """Paused: approvals are refused and the next step waits; resume activates it."""
    run = do(started(), Pause(LEAD))
    assert decide(run, Pause(LEAD), T0) == []
    run = do(run, ActionSucceeded("check", 1))  # a running step still finishes
    assert status(run, "manual") is StepStatus.PENDING
    run = do(run, Resume(LEAD))
    assert status(run, "manual") is StepStatus.RUNNING
    assert decide(run, Resume(LEAD), T0) == []


def test_paused_run_refuses_approval_but_allows_cancel() -> None:
    """The lead can always stop things, but nothing starts while paused."""
    paused = do(at_sync(), Pause(LEAD))
    with pytest.raises(RunPaused, match="Resume it first"):
        decide(paused, Approve(LEAD, "sync", rev(paused, "sync")), T0)
    running = do(sync_running(), Pause(LEAD))
    after = do(running, Cancel(LEAD, "sync", rev(running, "sync")))
    assert status(after, "sync") is StepStatus.FAILED
    with pytest.raises(RunPaused):
        decide(after, Retry(LEAD, "sync", rev(after, "sync")), T0)


def test_handover_moves_the_buttons() -> None:
    """After a hand-over the new lead decides and the old one is refused."""
    run = do(at_sync(), HandOver(LEAD, "U_NEW"))
    assert run.lead == "U_NEW"
    with pytest.raises(NotLead):
        decide(run, Approve(LEAD, "sync", rev(run, "sync")), T0)
    run = do(run, Approve(Actor("U_NEW"), "sync", rev(run, "sync")))
    sync = run.step("sync")
    assert sync is not None
    assert sync.approved_by == "U_NEW"
    assert decide(run, HandOver(Actor("U_NEW"), "U_NEW"), T0) == []
    with pytest.raises(BadInput):
        decide(run, HandOver(Actor("U_NEW"), " "), T0)


def test_takeover_by_admin_only_and_recorded() -> None:
    """Only an admin takes over; the event keeps the previous lead and the reason."""
    run = at_sync()
    with pytest.raises(NotAdmin):
        decide(run, TakeOver(OTHER), T0)
    after, events = handle(run, TakeOver(ADMIN, reason="lead off shift"), T0)
    assert after.lead == ADMIN.user
    taken = events[0]
    assert isinstance(taken, RunTakenOver)
    assert (taken.previous_lead, taken.reason) == (LEAD.user, "lead off shift")
    assert decide(after, TakeOver(ADMIN), T0) == []


def test_notes() -> None:
    """The lead adds notes (optionally about a step); empty, overlong or misplaced notes refused."""
    run = do(started(), AddNote(LEAD, "camera team on site", step_id="check"))
    assert [(n.by, n.text, n.step_id) for n in run.notes] == [
        (LEAD.user, "camera team on site", "check")
    ]
    with pytest.raises(BadInput):
        decide(run, AddNote(LEAD, ""), T0)
    with pytest.raises(BadInput, match="too long"):
        decide(run, AddNote(LEAD, "x" * 2001), T0)
    with pytest.raises(UnknownStep):
        decide(run, AddNote(LEAD, "x", step_id="nope"), T0)
    with pytest.raises(NotLead):
        decide(run, AddNote(OTHER, "x"), T0)


def test_abort_cancels_running_step_and_ends_run() -> None:
    """Abort needs a reason, cancels the running step, and nothing changes the run after."""
    run = sync_running()
    with pytest.raises(BadInput):
        decide(run, Abort(LEAD, ""), T0)
    with pytest.raises(NotLead):
        decide(run, Abort(OTHER, "x"), T0)
    run = do(run, Abort(LEAD, "LOVE is down for the night"), at(2))
    assert run.status is RunStatus.ABORTED
    assert run.abort_reason == "LOVE is down for the night"
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.cancelled) == (StepStatus.FAILED, True)
    assert decide(run, Abort(LEAD, "again"), T0) == []
    for command in (Pause(LEAD), Retry(LEAD, "sync", rev(run, "sync")), AddNote(LEAD, "x")):
        with pytest.raises(RunNotActive, match="aborted"):
            decide(run, command, T0)
    assert decide(run, ActionSucceeded("sync", 1), T0) == []


def test_completed_run_accepts_nothing_but_repeats() -> None:
    """After the last step nothing applies, but the last click repeated is still a no-op."""
    run = do(at_sync(), Skip(LEAD, "sync", rev(at_sync(), "sync"), reason="x"))
    run = do(run, Cancel(LEAD, "watch", rev(run, "watch")))
    last = Skip(LEAD, "watch", rev(run, "watch"), reason="checked by eye")
    run = do(run, last)
    assert run.status is RunStatus.COMPLETED
    assert decide(run, last, T0) == []
    with pytest.raises(RunNotActive, match="completed"):
        decide(run, Pause(LEAD), T0)


# --------------------------------------------------------------------------- reopen


def test_reopen_ended_step_waits_for_approval() -> None:
    """A reopened step asks approval again; the step that was waiting goes back to pending."""
    run = at_sync()
    run = do(run, Reopen(LEAD, "check", rev(run, "check")))
    assert status(run, "check") is StepStatus.AWAITING_APPROVAL
    assert status(run, "sync") is StepStatus.PENDING
    assert run.current is not None
    assert run.current.id == "check"
    run = do(run, Approve(LEAD, "check", rev(run, "check")))
    check = run.step("check")
    assert check is not None
    assert check.attempt == 2
    run = do(run, ActionSucceeded("check", 2))
    # The manual step was done already; the run goes straight back to sync.
    assert status(run, "manual") is StepStatus.DONE_BY_HAND
    assert status(run, "sync") is StepStatus.AWAITING_APPROVAL


def test_old_button_after_reopen_is_stale() -> None:
    """A Mark done rendered before a reopen does not act on the reopened step."""
    run = do(started(), ActionSucceeded("check", 1))
    old = MarkDone(LEAD, "manual", rev(run, "manual"), note="done by hand")
    run = do(run, old)
    run = do(run, Reopen(LEAD, "manual", rev(run, "manual")))
    with pytest.raises(StaleCommand):
        decide(run, MarkDone(LEAD, "manual", old.revision - 1, note="done by hand"), T0)
    assert decide(run, old, T0) == []  # the very same click, repeated: still a no-op


def test_reopen_refused_while_running_or_not_ended() -> None:
    """Reopen needs an ended step and nothing running."""
    run = sync_running()
    with pytest.raises(RunError, match="'sync' is running"):
        decide(run, Reopen(LEAD, "check", rev(run, "check")), T0)
    with pytest.raises(NotAllowedNow, match="Only an ended step"):
        decide(at_sync(), Reopen(LEAD, "sync", rev(at_sync(), "sync")), T0)


# ----------------------------------------------------------------------- crash, misc


def test_a_watch_survives_a_restart_to_the_same_deadline() -> None:
    """A watch only reads: it is not interrupted at start-up, and its deadline still holds."""
    run = do(at_sync(), Skip(LEAD, "sync", rev(at_sync(), "sync"), reason="x"), at(1))
    assert status(run, "watch") is StepStatus.RUNNING
    assert interrupt_running(run, at(2)) == []
    watch = run.step("watch")
    assert watch is not None
    assert (watch.deadline_at, watch.since) == (at(31), at(1))
    assert run.changed_at == at(1)
    aborted = do(run, Abort(LEAD, "the night is over"), at(3))  # an abort stops a watch too
    watch = aborted.step("watch")
    assert watch is not None
    assert (watch.status, watch.cancelled) == (StepStatus.FAILED, True)


def test_interrupted_step_waits_for_lead() -> None:
    """A step found running at start-up is interrupted, never re-run; the lead retries it."""
    run = sync_running()
    events = interrupt_running(run, at(1))
    assert [(e.type, e.actor) for e in events] == [("step.interrupted", BOT)]
    run = fold(run, events)
    assert status(run, "sync") is StepStatus.INTERRUPTED
    assert interrupt_running(run, at(2)) == []
    assert decide(run, Pause(LEAD), at(2)) != []  # the run itself goes on
    run = do(run, Retry(LEAD, "sync", rev(run, "sync")), at(3))
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.attempt) == (StepStatus.RUNNING, 2)


def test_announcement_recorded_once() -> None:
    """An announcement key is recorded once; the second time is a no-op."""
    run = do(started(), RecordAnnouncement("camera-stage-1", "announce"), at(1))
    assert run.announced == {"camera-stage-1": at(1)}
    assert decide(run, RecordAnnouncement("camera-stage-1"), at(2)) == []


def test_baseline_recorded_once() -> None:
    """The CSCs beating at the start are recorded once; a later reading does not replace it."""
    run = do(started(), RecordBaseline(("ATDome:0", "ESS:1")), at(1))
    assert run.baseline == ("ATDome:0", "ESS:1")
    assert decide(run, RecordBaseline(("ATDome:0",)), at(2)) == []


def test_anyone_acknowledges_an_announcement_once() -> None:
    """The camera team (not the lead) acknowledges a made announcement; again is a no-op."""
    run = started()
    with pytest.raises(BadInput, match="Nothing was announced as 'camera-stage-1'"):
        decide(run, Acknowledge(OTHER, "camera-stage-1"), at(1))
    run, _ = handle(run, RecordAnnouncement("camera-stage-1", "check"), at(1))
    run, events = handle(run, Acknowledge(OTHER, "camera-stage-1"), at(2))
    assert [e.type for e in events] == ["run.acknowledged"]
    assert run.acknowledged == {"camera-stage-1": (OTHER.user,)}
    assert decide(run, Acknowledge(OTHER, "camera-stage-1"), at(3)) == []
    run, _ = handle(run, Acknowledge(LEAD, "camera-stage-1"), at(4))
    assert run.acknowledged["camera-stage-1"] == (OTHER.user, LEAD.user)
    assert run.current is not None  # nothing moved


# ----------------------------------------------------------------- holding an announcement


def at_announcement() -> Run:
    """A run whose only step, an announcement the lead may hold back, awaits the lead."""
    steps = parse_procedure(HELD, "held").steps
    run, _ = start(None, start_command(steps=steps), T0)
    assert status(run, "announce-nublado-available") is StepStatus.AWAITING_APPROVAL
    return run


def test_holding_an_announcement_skips_it_and_keeps_the_window() -> None:
    """The lead continues testing: the step is skipped saying until when, the run ends."""
    run = at_announcement()
    step = "announce-nublado-available"
    hold = Hold(LEAD, step, rev(run, step), until=at(120))
    run = do(run, hold, at(1))
    state = run.step(step)
    assert state is not None
    assert state.status is StepStatus.SKIPPED
    assert state.reason == (
        "Continue integration testing until 2026-11-25 14:00 UTC: nublado-available is held back"
    )
    assert run.held == {"nublado-available": at(120)}
    assert run.status is RunStatus.COMPLETED
    assert decide(run, hold, at(2)) == []  # a double click


def test_holding_is_refused_when_it_cannot_be_meant() -> None:
    """Not the lead, a window in the past or of weeks, a step that offers no hold."""
    run = at_announcement()
    step = "announce-nublado-available"
    with pytest.raises(NotLead):
        decide(run, Hold(OTHER, step, rev(run, step), until=at(60)), at(1))
    for until in (None, at(0), at(60 * 24 * 8)):
        with pytest.raises(BadInput):
            decide(run, Hold(LEAD, step, rev(run, step), until=until), at(1))
    other = at_sync()
    with pytest.raises(NotAllowedNow, match="Only an announcement that offers it"):
        decide(other, Hold(LEAD, "sync", rev(other, "sync"), until=at(60)), at(1))
