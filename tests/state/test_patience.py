"""A patient step past its expected time: overdue, and the lead's three choices.

Nothing is stopped by the bot: the step is *overdue* until the lead keeps waiting (another
expected period), cancels it, or marks it done with a note; its own outcome still counts.
"""

from __future__ import annotations

import json

import pytest

from state.commands import (
    Abort,
    ActionFailed,
    ActionSucceeded,
    Approve,
    Cancel,
    DeadlineReached,
    KeepWaiting,
    MarkDone,
    PastExpected,
    Skip,
)
from state.errors import BadInput, NotAllowedNow, StaleCommand
from state.events import (
    EVENT_ADAPTER,
    RunStarted,
    StepInterrupted,
    StepOverdue,
    StepStarted,
    StepSucceeded,
)
from state.evolve import replay
from state.machine import decide, handle, interrupt_running, start
from state.run import Run, StepStatus
from tests.state.test_machine import do, rev, status, sync_running
from tests.support.runs import LEAD, T0, at, start_command

SEEN = "love: OutOfSync, Progressing, operation Running\n  Pod love/love-nginx-1: ImagePullBackOff"


def overdue() -> Run:
    """The sync (expected 20 minutes) is past its expected time."""
    return do(sync_running(), PastExpected("sync", 1, SEEN), at(20))


def test_past_its_expected_time_a_sync_becomes_overdue_and_keeps_running() -> None:
    """Overdue: the lead chooses; what was seen is recorded; the step is still the running one."""
    run, events = handle(sync_running(), PastExpected("sync", 1, SEEN), at(20))
    assert [e.type for e in events] == ["step.overdue"]
    assert isinstance(events[0], StepOverdue)
    assert events[0].seen == SEEN
    sync = run.step("sync")
    assert sync is not None
    assert sync.status is StepStatus.OVERDUE
    assert (sync.overdue, sync.overdue_at, sync.attempt) == (1, None, 1)
    assert run.running == sync
    assert not sync.status.ended


def test_told_once_per_spell_and_only_for_patient_running_attempts() -> None:
    """A second tick, a stale attempt, a step that is not patient: nothing happens."""
    run = overdue()
    assert decide(run, PastExpected("sync", 1, SEEN), at(21)) == []
    assert decide(sync_running(), PastExpected("sync", 2, SEEN), at(20)) == []
    check = start(None, start_command(), T0)[0]  # its first step, a pre-flight check, runs
    assert decide(check, PastExpected("check", 1, ""), at(5)) == []


def test_keep_waiting_gives_another_expected_period() -> None:
    """Keep waiting: running again, overdue again 20 minutes later; old buttons do nothing."""
    run = overdue()
    keep = KeepWaiting(LEAD, "sync", rev(run, "sync"))
    run = do(run, keep, at(22))
    sync = run.step("sync")
    assert sync is not None
    assert sync.status is StepStatus.RUNNING
    assert sync.overdue_at == at(42)
    assert decide(run, keep, at(23)) == []
    run = do(run, PastExpected("sync", 1, SEEN), at(42))
    assert (status(run, "sync"), run.step("sync").overdue) == (StepStatus.OVERDUE, 2)  # type: ignore[union-attr]
    # The first spell's buttons, after the second overdue: its "Keep waiting" was applied
    # (a repeat, nothing more); its "Cancel" is stale.
    assert decide(run, keep, at(43)) == []
    with pytest.raises(StaleCommand, match="step 'sync' is now overdue"):
        decide(run, Cancel(LEAD, "sync", keep.revision), at(43))


def test_keep_waiting_only_when_overdue() -> None:
    """A running step is not waited for "again"; the hint says what can be done."""
    run = sync_running()
    with pytest.raises(NotAllowedNow, match="Cancel it first, or wait for it to end"):
        decide(run, KeepWaiting(LEAD, "sync", rev(run, "sync")), at(1))


def test_mark_an_overdue_step_done_needs_a_note() -> None:
    """Mark done while the operation still runs: only with a note saying why the run goes on."""
    run = overdue()
    with pytest.raises(BadInput, match="Please give a note: why the run can go on"):
        decide(run, MarkDone(LEAD, "sync", rev(run, "sync")), at(25))
    note = "love's pods still pulling; the rest is Healthy; I follow love in ArgoCD"
    run = do(run, MarkDone(LEAD, "sync", rev(run, "sync"), note=note), at(25))
    sync = run.step("sync")
    assert sync is not None
    assert (sync.status, sync.reason, sync.ended_by) == (StepStatus.DONE_BY_HAND, note, "U_LEAD")
    assert status(run, "watch") is StepStatus.RUNNING  # the run goes on


def test_skip_is_not_one_of_the_choices() -> None:
    """Skipping an operation that is still running is refused; the hint lists the choices."""
    run = overdue()
    with pytest.raises(NotAllowedNow, match=r"Keep waiting, cancel it .* or mark it done with a"):
        decide(run, Skip(LEAD, "sync", rev(run, "sync"), reason="x"), at(25))


def test_the_operations_own_end_still_counts_while_overdue() -> None:
    """An overdue sync that ends well succeeds; one that fails fails, for the lead to retry."""
    done = do(overdue(), ActionSucceeded("sync", 1, "1 app(s) Synced and Healthy"), at(30))
    assert status(done, "sync") is StepStatus.SUCCEEDED
    failed = do(overdue(), ActionFailed("sync", 1, "ArgoCD: nublado: Degraded"), at(30))
    assert status(failed, "sync") is StepStatus.FAILED


def test_an_overdue_step_is_interrupted_by_a_restart_and_cancelled_by_an_abort() -> None:
    """The process died under it: interrupted; the run aborted: cancelled."""
    run = overdue()
    [interrupted] = interrupt_running(run, at(30))
    assert isinstance(interrupted, StepInterrupted)
    assert interrupted.step_id == "sync"
    aborted = do(run, Abort(LEAD, "rehearsal over"), at(30))
    assert status(aborted, "sync") is StepStatus.FAILED


def test_replay_of_the_patience_path_gives_the_same_run() -> None:
    """Every arrow is an event: the folded run equals the replay of its events."""
    run, events = start(None, start_command(), T0)
    run, new = handle(run, ActionSucceeded("check", 1), at(1))
    events += new
    run, new = handle(run, MarkDone(LEAD, "manual", rev(run, "manual"), note="done by hand"), at(1))
    events += new
    run, new = handle(run, Approve(LEAD, "sync", rev(run, "sync")), at(2))
    events += new
    run, new = handle(run, PastExpected("sync", 1, SEEN), at(22))
    events += new
    run, new = handle(run, KeepWaiting(LEAD, "sync", rev(run, "sync")), at(23))
    events += new
    run, new = handle(run, ActionSucceeded("sync", 1, "synced"), at(30))
    events += new
    assert replay(events) == run
    assert status(run, "sync") is StepStatus.SUCCEEDED


def test_a_watch_records_who_it_found_up_in_offline_and_the_camera_teams() -> None:
    """Both at the deadline (with trouble) and when it succeeds: named on the step."""
    run = do(overdue(), ActionSucceeded("sync", 1), at(30))
    offline_up, camera_team = ("MTAOS:0",), ("ATCamera:0", "MTCamera:0")
    trouble = ("MTDome:0 FAULT, beating",)
    issues = do(run, DeadlineReached("watch", 1, trouble, offline_up, camera_team), at(60))
    state = issues.step("watch")
    assert state is not None
    assert (state.status, state.offline_up, state.camera_team) == (
        StepStatus.DONE_WITH_ISSUES,
        ("MTAOS:0",),
        ("ATCamera:0", "MTCamera:0"),
    )
    fine = do(
        run,
        ActionSucceeded("watch", 1, "all up", offline_up=offline_up, camera_team=camera_team),
        at(40),
    )
    assert fine.step("watch").camera_team == ("ATCamera:0", "MTCamera:0")  # type: ignore[union-attr]


def test_events_stored_before_patience_still_load() -> None:
    """A run started before: its sync's ``timeout``, no ``overdue_at``, no watch remarks."""
    steps = start_command().steps
    raw = json.loads(start(None, start_command(), T0)[1][0].model_dump_json())
    for step in raw["steps"]:
        action = step["action"]
        if "expected" in action:
            action["timeout"] = action.pop("expected")
    loaded = EVENT_ADAPTER.validate_json(json.dumps(raw))
    assert isinstance(loaded, RunStarted)
    assert loaded.steps == steps
    started = EVENT_ADAPTER.validate_json(
        '{"type": "step.started", "v": 1, "at": "2026-01-05T10:00:00Z", "actor": "bot", '
        '"step_id": "sync", "attempt": 1, "verb": "approve", "timeout_at": null}'
    )
    assert isinstance(started, StepStarted)
    assert started.overdue_at is None
    ended = EVENT_ADAPTER.validate_json(
        '{"type": "step.succeeded", "v": 1, "at": "2026-01-05T10:00:00Z", "actor": "bot", '
        '"step_id": "watch", "attempt": 1, "summary": "all as expected"}'
    )
    assert isinstance(ended, StepSucceeded)
    assert ended.camera_team == ()


def test_snapshots_stored_before_patience_still_load() -> None:
    """A run's snapshot from before: no overdue fields, its running sync with a timeout.

    The engine makes such a sync overdue at its ``timeout_at`` (never stops it); overdue, it
    has neither time left.
    """
    run = sync_running()
    raw = json.loads(run.model_dump_json())
    for state in raw["steps"]:
        state["timeout_at"] = state.pop("overdue_at") or state["timeout_at"]
        for field in ("overdue", "offline_up", "camera_team"):
            del state[field]
        action = state["step"]["action"]
        if "expected" in action:
            action["timeout"] = action.pop("expected")
    old = Run.model_validate_json(json.dumps(raw))
    sync = old.step("sync")
    assert sync is not None
    assert (sync.timeout_at, sync.overdue_at) == (at(20), None)
    assert old.model_copy(update={"steps": run.steps}) == run  # the rest is the same
    overdue, _ = handle(old, PastExpected("sync", 1, SEEN), at(20))
    late = overdue.step("sync")
    assert late is not None
    assert (late.status, late.timeout_at, late.overdue_at) == (StepStatus.OVERDUE, None, None)
