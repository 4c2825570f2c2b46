"""Leads for the terminal: a simulated one for the demo, and the person at the keyboard.

The simulated lead decides like a careful person: approves after a moment, does the manual
steps (taking the time they take), retries a failed step once and then marks it done by hand
with a note, and retries a step it finds interrupted after a restart, up to a bound: a step
interrupted again and again (a demo killed at the same place each time) is then marked done
by hand, with a note that says so, rather than retried for ever. Every decision is an
ordinary command through the engine, recorded like anyone's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import structlog

from bot.engine.engine import Change, RunChanged
from state.commands import Abort, Approve, Command, MarkDone, Retry, Skip
from state.errors import RunError
from state.events import (
    RunAborted,
    RunCompleted,
    StepAwaitingApproval,
    StepFailed,
    StepInterrupted,
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
            return THINK, lambda s: Approve(user, s.id, s.revision)
        if isinstance(event, StepStarted) and state.step.action.type == "manual":
            work = MANUAL_WORK.get(state.id, DEFAULT_WORK)
            return work, lambda s: MarkDone(
                user, s.id, s.revision, note="done by hand (simulated lead)"
            )
        if isinstance(event, StepInterrupted):
            note = (
                f"done by hand after {state.attempt} interrupted attempts (the simulated lead "
                "retries an interrupted step no more)"
            )
            return self._again_or_by_hand(state, INTERRUPTED_ATTEMPTS, note)
        if isinstance(event, StepFailed) and not (event.cancelled and event.actor == self.user):
            note = f"fixed by hand after {state.attempt} failed attempts ({_head(event.error)})"
            return self._again_or_by_hand(state, FAILED_ATTEMPTS, note)
        return None

    def _again_or_by_hand(
        self, state: StepState, attempts: int, note: str
    ) -> tuple[float, Callable[[StepState], Command]]:
        """Retry until ``attempts`` were made, then mark the step done by hand with ``note``."""
        user = self._engine.actor(self.user)
        if state.attempt < attempts:
            return THINK, lambda s: Retry(user, s.id, s.revision)
        return THINK, lambda s: MarkDone(user, s.id, s.revision, note=note)

    def resume(self, run: Run) -> None:
        """Pick a resumed run up: decide on the step it stands at."""
        state = run.current
        if state is None or state.status not in {
            StepStatus.AWAITING_APPROVAL,
            StepStatus.INTERRUPTED,
            StepStatus.FAILED,
        }:
            return
        if state.status is StepStatus.AWAITING_APPROVAL:
            event: object = StepAwaitingApproval(at=run.started_at, actor="bot", step_id=state.id)
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
        status = state.status.value.replace("_", " ")
        choices = {
            StepStatus.AWAITING_APPROVAL: "[a]pprove",
            StepStatus.FAILED: "[r]etry",
            StepStatus.INTERRUPTED: "[r]etry",
        }.get(state.status, "")
        prompt = f"  {state.id} is {status}: {choices} [m]ark done [s]kip a[b]ort > "
        while True:
            answer = (await self._input(prompt)).strip().lower()[:1]
            if answer == "a" and state.status is StepStatus.AWAITING_APPROVAL:
                return Approve(user, state.id, state.revision)
            if answer == "r" and state.status in {StepStatus.FAILED, StepStatus.INTERRUPTED}:
                return Retry(user, state.id, state.revision)
            if answer == "m":
                note = await self._input("  note (optional) > ")
                return MarkDone(user, state.id, state.revision, note=note or None)
            if answer == "s":
                return Skip(user, state.id, state.revision, reason=await self._input("  reason > "))
            if answer == "b":
                return Abort(user, await self._input("  reason for aborting > "))

    async def _input(self, prompt: str) -> str:
        self._out.write(prompt)
        self._out.flush()
        line: str = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if not line:  # end of input: nobody is there to decide
            raise EOFError("standard input closed")
        return line.rstrip("\n")


def _head(text: str, limit: int = 80) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
