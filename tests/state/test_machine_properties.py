"""Properties of the state machine over generated sequences of commands (hypothesis).

Each generated "move" is turned into a command against the run as it stands (so most moves
are plausible clicks, with stale revisions, wrong actors and late outcomes mixed in), applied,
and the whole history is then checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from state.commands import (
    Abort,
    ActionFailed,
    ActionSucceeded,
    Actor,
    AddNote,
    Approve,
    Cancel,
    Command,
    DeadlineReached,
    EditTargets,
    HandOver,
    Hold,
    KeepWaiting,
    LeaveUp,
    MarkDone,
    PastExpected,
    Pause,
    ProposeTargets,
    RecordAnnouncement,
    RecordBaseline,
    Reopen,
    Resume,
    Retry,
    Skip,
    TakeOver,
)
from state.errors import RunError
from state.events import BOT, Event, RunStarted, RunTakenOver, StepReopened, StepStarted
from state.evolve import evolve, fold, replay
from state.machine import handle, interrupt_running, start
from state.procedure import parse_procedure
from state.run import Run
from tests.support.runs import (
    ADMIN,
    HELD,
    LEAD,
    OTHER,
    at,
    small_steps,
    start_command,
    stragglers_step,
)

ACTORS = (LEAD, OTHER, ADMIN, Actor("U_NEW"))
STEPS = (stragglers_step(), *small_steps(), *parse_procedure(HELD, "held").steps)
"""One step of each shape: first the stragglers (proposed by the bot), last an announcement
the lead may hold back."""
STEP_VERBS = (
    "approve", "retry", "mark_done", "skip", "hold", "cancel", "keep_waiting", "reopen", "edit",
    "leave_up",
)  # fmt: skip
RUN_VERBS = ("pause", "resume", "note", "handover", "takeover", "abort")
BOT_VERBS = (
    "succeed", "succeed_with_issues", "fail", "deadline", "overdue", "announce", "baseline",
    "propose", "restart",
)  # fmt: skip

# Abort ends a run at once: keep it rare so that most sequences get deep into the run.
WEIGHTED = (*STEP_VERBS * 3, *RUN_VERBS[:-1], "abort", *BOT_VERBS * 3)


@dataclass(frozen=True)
class Move:
    """A generated intention, made concrete against the current run."""

    verb: str
    noise: bool
    actor: int
    step: int
    delta: int


moves = st.lists(
    st.builds(
        Move,
        verb=st.sampled_from(WEIGHTED),
        noise=st.sampled_from([False, False, True]),  # mostly the lead's fresh buttons
        actor=st.sampled_from([0, 0, 0, 1, 2, 3]),  # 0: whoever leads now
        step=st.sampled_from([-1, -1, -1, 0, 1, 2, 3]),  # mostly the current step
        delta=st.sampled_from([0, 0, 0, -1, 1]),  # mostly fresh buttons
    ),
    max_size=80,
)


def command_for(run: Run, move: Move) -> Command | None:
    """The command a move stands for (``None`` for a simulated restart)."""
    current = run.current or run.steps[-1]
    if move.noise:  # another person, another step, an old or bogus button, a late outcome
        actor = ACTORS[move.actor]
        state = current if move.step < 0 else run.steps[move.step % len(run.steps)]
        delta = move.delta
    else:
        actor, state, delta = run_lead(run), current, 0
    revision = max(0, state.revision + delta)
    step_commands: dict[str, Command] = {
        "approve": Approve(actor, state.id, revision),
        "retry": Retry(actor, state.id, revision),
        "mark_done": MarkDone(actor, state.id, revision, note="generated" * move.noise),
        "skip": Skip(actor, state.id, revision, reason="generated"),
        "hold": Hold(actor, state.id, revision, until=at(600 + move.delta * 30)),
        "cancel": Cancel(actor, state.id, revision),
        "keep_waiting": KeepWaiting(actor, state.id, revision),
        "reopen": Reopen(actor, state.id, revision),
        "edit": EditTargets(actor, state.id, revision, ("ATDome:0", "MTDome:0")),
        "leave_up": LeaveUp(actor, state.id, revision),
    }
    other = ACTORS[(move.actor + 1) % len(ACTORS)]
    run_commands: dict[str, Command] = {
        "pause": Pause(actor),
        "resume": Resume(actor),
        "note": AddNote(actor, "generated note"),
        "handover": HandOver(actor, other.user),
        "takeover": TakeOver(actor),
        "abort": Abort(actor, "generated"),
        "succeed": ActionSucceeded(state.id, state.attempt + delta),
        "succeed_with_issues": ActionSucceeded(
            state.id,
            state.attempt + delta,
            "script ended FAILED",
            issues=("ATMCS:0 STANDBY, beating",),
        ),
        "propose": ProposeTargets(state.id, ("MTDome:0",) * max(0, move.delta + 1)),
        "fail": ActionFailed(state.id, state.attempt + delta, "generated failure"),
        "deadline": DeadlineReached(state.id, state.attempt, ("ATDome:0",) * (move.delta + 1)),
        "overdue": PastExpected(state.id, state.attempt + delta, "generated look"),
        "announce": RecordAnnouncement(f"key-{move.step}"),
        "baseline": RecordBaseline((f"ESS:{move.step}",)),
    }
    if move.verb == "restart":
        return None
    return step_commands.get(move.verb) or run_commands[move.verb]


def run_lead(run: Run) -> Actor:
    """Whoever leads now (hand-overs move the buttons), as an actor."""
    return next((a for a in ACTORS if a.user == run.lead), Actor(run.lead))


def play(sequence: list[Move]) -> tuple[Run, list[Event]]:
    """Apply the moves in order, as the engine would, keeping every event."""
    run, history = start(None, start_command(steps=STEPS), at(0))
    for minute, move in enumerate(sequence, start=1):
        command = command_for(run, move)
        if command is None:
            new = interrupt_running(run, at(minute))
            run = fold(run, new)
        else:
            try:
                run, new = handle(run, command, at(minute))
            except RunError:
                continue
        history.extend(new)
    return run, history


@settings(max_examples=400, deadline=None)
@given(moves)
def test_replay_always_equals_snapshot(sequence: list[Move]) -> None:
    """Folding the stored events from nothing gives exactly the snapshot, at every length."""
    run, history = play(sequence)
    assert replay(history) == run
    assert run.version == len(history)


@settings(max_examples=400, deadline=None)
@given(moves)
def test_no_step_runs_twice_without_retry(sequence: list[Move]) -> None:
    """A second start of a step is always a retry or follows a reopen; attempts count by one."""
    _, history = play(sequence)
    last_attempt: dict[str, int] = {}
    reopened: set[str] = set()
    for event in history:
        if isinstance(event, StepReopened):
            reopened.add(event.step_id)
        if isinstance(event, StepStarted):
            previous = last_attempt.get(event.step_id)
            if previous is None:
                assert event.attempt == 1
            else:
                assert event.verb == "retry" or event.step_id in reopened
                assert event.attempt == previous + 1
            reopened.discard(event.step_id)
            last_attempt[event.step_id] = event.attempt


@settings(max_examples=400, deadline=None)
@given(moves)
def test_no_non_lead_changes_a_run(sequence: list[Move]) -> None:
    """Each event a person caused was caused by the lead of the moment (or an admin taking over)."""
    _, history = play(sequence)
    run: Run | None = None
    admins = {a.user for a in ACTORS if a.admin}
    for event in history:
        if run is not None and event.actor != BOT and not isinstance(event, RunStarted):
            if isinstance(event, RunTakenOver):
                assert event.actor in admins
            else:
                assert event.actor == run.lead
        run = evolve(run, event)


@settings(max_examples=400, deadline=None)
@given(moves)
def test_at_most_one_step_running(sequence: list[Move]) -> None:
    """A run executes one step at a time, and only while it is open."""
    run, history = play(sequence)
    snapshot: Run | None = None
    for event in history:
        snapshot = evolve(snapshot, event)
        running = [s for s in snapshot.steps if s.status.active]
        assert len(running) <= 1
        if not snapshot.status.open:
            assert running == []
    assert snapshot == run
