"""Leads for the terminal: a simulated one for the demo, and the person at the keyboard.

The simulated lead decides like a careful person: approves after a moment, does the manual
steps (taking the time they take), retries a failed step once and then marks it done by hand
with a note, and retries a step it finds interrupted after a restart, up to a bound: a step
interrupted again and again (a demo killed at the same place each time) is then marked done
by hand, with a note that says so, rather than retried for ever. A step taking longer
than expected (image pulls are slow) gets patience once: the lead keeps waiting another
expected period; overdue again, it is cancelled (its operation stopped), which makes it a
failed step like any other: retried once, then done by hand. Every decision is an ordinary
command through the engine, recorded like anyone's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import structlog

from bot.engine.changes import Change, RunChanged
from state.commands import (
    Abort,
    Actor,
    Approve,
    Cancel,
    Command,
    EditTargets,
    KeepWaiting,
    LeaveUp,
    MarkDone,
    Retry,
    Skip,
)
from state.errors import RunError
from state.events import (
    RunAborted,
    RunCompleted,
    StepAwaitingApproval,
    StepFailed,
    StepInterrupted,
    StepOverdue,
    StepStarted,
)
from state.run import Run, StepState, StepStatus

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from integrations.clock import Clock

THINK = 30.0
"""Seconds the simulated lead takes to read a step before approving it."""


FAILED_ATTEMPTS = 2
"""A failed step is tried this often in all, then marked done by hand with a note."""
INTERRUPTED_ATTEMPTS = 3
"""An interrupted step is tried this often in all (an interruption is the bot's, not the
step's: it gets one more chance than a failure), then marked done by hand with a note."""

MANUAL_WORK = {"ess-controllers": 1200.0, "bare-metal-config": 900.0}
"""Seconds a person takes for a manual step (others: :data:`DEFAULT_WORK`)."""
DEFAULT_WORK = 600.0


class SimulatedLead:
    """Decides every step of the runs it follows; sets :attr:`finished` when the run ends."""

    def __init__(self, *, engine: Engine, clock: Clock, user: str) -> None:
        """Follow runs led by ``user``."""
        self._engine = engine
        self._clock = clock
        self.user = user
        self.finished: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
        self._tasks: set[asyncio.Task[None]] = set()
        self._log = structlog.get_logger("upgrade_bot.lead")

    async def __call__(self, change: Change) -> None:
        """The engine's listener: decisions are scheduled, never made inside the notification."""
        if not isinstance(change, RunChanged) or change.run.lead != self.user:
            return
        run = change.run
        for event in change.events:
            if isinstance(event, RunCompleted | RunAborted) and not self.finished.done():
                self.finished.set_result(run)
            if not run.status.open:  # aborted: its steps were cancelled, nothing to decide
                continue
            step_id: str | None = getattr(event, "step_id", None)
            state = run.step(step_id) if step_id else None
            if state is None:
                continue
            if self.decide(state, event) is not None:
                self._schedule(run.run_id, state, event)

    def decide(
        self, state: StepState, event: object
    ) -> tuple[float, Callable[[StepState], Command]] | None:
        """What to do about ``event`` on ``state``, after how long (``None``: nothing)."""
        user = self._engine.actor(self.user)
        if isinstance(event, StepAwaitingApproval):
            return THINK, lambda s: _approve_or_skip(user, s)
        if isinstance(event, StepStarted) and state.step.action.type == "manual":
            work = MANUAL_WORK.get(state.id, DEFAULT_WORK)
            return work, lambda s: MarkDone(
                user, s.id, s.revision, note="done by hand (simulated lead)"
            )
        if isinstance(event, StepInterrupted):
            if state.attempt < INTERRUPTED_ATTEMPTS:
                return THINK, lambda s: Retry(user, s.id, s.revision)
            note = (
                f"done by hand after {state.attempt} interrupted attempts (the simulated lead "
                "retries an interrupted step no more)"
            )
            return THINK, lambda s: MarkDone(user, s.id, s.revision, note=note)
        if isinstance(event, StepOverdue | StepFailed):
            return THINK, self._in_trouble(state, event)
        return None

    def _in_trouble(
        self, state: StepState, event: StepOverdue | StepFailed
    ) -> Callable[[StepState], Command]:
        """Overdue: patience once, then cancel it; failed: as :func:`_after_failure`."""
        user = self._engine.actor(self.user)
        if isinstance(event, StepOverdue):
            if state.overdue <= 1:
                return lambda s: KeepWaiting(user, s.id, s.revision)
            return lambda s: Cancel(user, s.id, s.revision)
        return _after_failure(user, state, event)

    def resume(self, run: Run) -> None:
        """Pick a resumed run up: decide on the step it stands at."""
        state = run.current
        if state is None or state.status not in {
            StepStatus.AWAITING_APPROVAL,
            StepStatus.INTERRUPTED,
            StepStatus.FAILED,
            StepStatus.OVERDUE,
        }:
            return
        if state.status is StepStatus.AWAITING_APPROVAL:
            event: object = StepAwaitingApproval(at=run.started_at, actor="bot", step_id=state.id)
        elif state.status is StepStatus.OVERDUE:
            event = StepOverdue(
                at=run.started_at, actor="bot", step_id=state.id, attempt=state.attempt
            )
        else:
            event = StepInterrupted(
                at=run.started_at, actor="bot", step_id=state.id, attempt=state.attempt
            )
        self._schedule(run.run_id, state, event)

    def _schedule(self, run_id: str, state: StepState, event: object) -> None:
        """Carry the decision out later, on the run as it will be then."""
        decision = self.decide(state, event)
        if decision is None:
            return
        delay, make = decision

        async def act() -> None:
            await self._clock.sleep(delay)
            run = await self._engine.store.get(run_id)
            state = run.current
            if state is None:
                return
            try:
                await self._engine.execute(run_id, make(state))
            except RunError as e:  # the run moved on meanwhile: nothing to do
                self._log.info("Decision not applied", run=run_id, reason=str(e))

        self._keep(asyncio.create_task(act()))

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class TerminalLead(SimulatedLead):
    """The person at the keyboard decides (``--interactive``); the same triggers, asked."""

    def __init__(
        self, *, engine: Engine, clock: Clock, user: str, out: TextIO | None = None
    ) -> None:
        """Ask on the terminal, one question at a time."""
        super().__init__(engine=engine, clock=clock, user=user)
        self._out = out or sys.stdout
        self._asking = asyncio.Lock()

    def _schedule(self, run_id: str, state: StepState, event: object) -> None:
        """Ask the person instead, wherever the simulated lead would have decided."""
        del state, event

        async def ask() -> None:
            async with self._asking:
                run = await self._engine.store.get(run_id)
                state = run.current
                if state is None:
                    return
                try:
                    command = await self._ask(state)
                except EOFError as e:  # nobody left to decide: stop waiting, keep the run
                    if not self.finished.done():
                        self.finished.set_exception(e)
                    return
                try:
                    await self._engine.execute(run_id, command)
                except RunError as e:
                    self._out.write(f"  refused: {e}\n")

        self._keep(asyncio.create_task(ask()))

    async def _ask(self, state: StepState) -> Command:
        user = self._engine.actor(self.user)
        stragglers = state.step.action.proposes_targets() and state.status.waits_for_lead
        if stragglers:
            listed = ", ".join(state.proposed or ()) or "not read yet"
            self._out.write(f"  CSCs still up, proposed: {listed}\n")
        prompt, simple = _prompt(state, stragglers=stragglers)
        while True:
            answer = (await self._input(prompt)).strip().lower()[:1]
            if answer in simple:
                return simple[answer](user, state.id, state.revision)
            if answer in {"e", "l"} and stragglers:
                return await self._stragglers(user, state, answer)
            if answer == "m":
                note = ""
                while not note.strip():  # as the Slack form: what was done, never empty
                    note = await self._input("  what was done (a note, required) > ")
                return MarkDone(user, state.id, state.revision, note=note)
            if answer == "s":
                return Skip(user, state.id, state.revision, reason=await self._input("  reason > "))
            if answer == "b":
                return Abort(user, await self._input("  reason for aborting > "))

    async def _stragglers(self, user: Actor, state: StepState, answer: str) -> Command:
        """A stragglers step: edit its list, or leave them up and go on."""
        if answer == "l":
            return LeaveUp(user, state.id, state.revision)
        typed = await self._input("  CSCs to send OFFLINE (Name:index, comma-separated) > ")
        targets = tuple(t.strip() for t in typed.split(",") if t.strip())
        return EditTargets(user, state.id, state.revision, targets=targets)

    async def _input(self, prompt: str) -> str:
        self._out.write(prompt)
        self._out.flush()
        line: str = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line:  # end of input: nobody is there to decide
            raise EOFError("standard input closed")
        return line.rstrip("\n")


def _prompt(
    state: StepState, *, stragglers: bool
) -> tuple[str, dict[str, type[Approve | Retry | KeepWaiting | Cancel]]]:
    """The question for a step waiting on the lead, and the one-key answers that are commands."""
    status = state.status.value.replace("_", " ")
    overdue = state.status is StepStatus.OVERDUE
    choices = {
        StepStatus.AWAITING_APPROVAL: "[a]pprove [m]ark done [s]kip",
        StepStatus.FAILED: "[r]etry [m]ark done [s]kip",
        StepStatus.INTERRUPTED: "[r]etry [m]ark done [s]kip",
        StepStatus.OVERDUE: "[k]eep waiting [c]ancel [m]ark done (with a note)",
    }.get(state.status, "[m]ark done [s]kip")
    if stragglers:
        choices += " [e]dit the list [l]eave them up and go on"
    if overdue:
        status = "taking longer than expected"
    simple: dict[str, type[Approve | Retry | KeepWaiting | Cancel]] = {}
    if state.status is StepStatus.AWAITING_APPROVAL:
        simple["a"] = Approve
    if state.status in {StepStatus.FAILED, StepStatus.INTERRUPTED}:
        simple["r"] = Retry
    if overdue:
        simple |= {"k": KeepWaiting, "c": Cancel}
    return f"  {state.id} is {status}: {choices} a[b]ort > ", simple


def _after_failure(
    user: Actor, state: StepState, event: StepFailed
) -> Callable[[StepState], Command]:
    """Retry once; then stragglers that will not go are left up, named; else done by hand."""
    if state.attempt < FAILED_ATTEMPTS:  # once more, then by hand
        return lambda s: Retry(user, s.id, s.revision)
    if state.step.action.proposes_targets():
        return lambda s: LeaveUp(user, s.id, s.revision)
    note = f"fixed by hand after {state.attempt} failed attempts ({_head(event.error)})"
    return lambda s: MarkDone(user, s.id, s.revision, note=note)


def _approve_or_skip(user: Actor, state: StepState) -> Command:
    """Approve; a stragglers step whose CSCs the bot could not read is skipped, saying why."""
    if state.step.action.proposes_targets() and state.proposed is None:
        reason = "the bot could not read which CSCs are still up; checked in LOVE by hand"
        return Skip(user, state.id, state.revision, reason=reason)
    return Approve(user, state.id, state.revision)


def _head(text: str, limit: int = 80) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
