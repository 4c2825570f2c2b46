"""The engine: commands from any front end, through the state machine and the store, to action.

A front end (the terminal demo, Slack) calls :meth:`Engine.open_run` and :meth:`Engine.execute`
and subscribes to changes; the engine knows nothing of Slack. For every command it asks the
store to decide and persist (one transaction), tells the subscribers, and then acts on what
the new events say: a step started -> its runner runs as an asyncio task; a step cancelled or
the run aborted -> the task is cancelled *and* the integration asked to stop the real
operation; a step awaiting approval -> its preview is computed for the lead.

Time-driven work (timeouts, watch deadlines, what the bot says by itself: see
:mod:`bot.engine.speaker`) is data in the store (``timeout_at``, ``deadline_at``, the keys of
what was posted) done by :meth:`Engine.tick`, which a scheduler wakes and tests call with a
chosen ``now``. After a crash, :meth:`Engine.start` marks steps found running as interrupted;
nothing is re-run without the lead, but a watch (it only reads) goes on to its deadline.

Only the bot holding the store's lease acts: before a runner starts its outside action, the
engine confirms the lease (a bot that lost it starts nothing; its writes are refused anyway).
On a graceful stop (:meth:`Engine.stop`) the steps under way get a moment to record their
outcome; those still running are recorded as interrupted by this bot, for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from bot.config.runs import nothing_to_do, procedure_problems, run_steps
from bot.engine import looks, notices
from bot.engine.changes import Change, Listener, RunChanged, StepProgress
from bot.engine.looks import Looks
from bot.engine.once import Post, PostOnce
from bot.engine.runners import (
    RUNNERS,
    SiteSystems,
    StepContext,
    efd,
    system_of,
)
from bot.engine.speaker import Speaker
from bot.engine.work import Work
from integrations.errors import IntegrationError
from state.actions import EfdWaitForStates
from state.commands import (
    ActionFailed,
    ActionInterrupted,
    ActionSucceeded,
    Actor,
    Command,
    DeadlineReached,
    PastExpected,
    RecordBaseline,
    StartRun,
)
from state.duration import format_duration
from state.errors import RunError
from state.events import (
    Event,
    RunAborted,
    RunCompleted,
    StepAwaitingApproval,
    StepDoneByHand,
    StepDoneWithIssues,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    TargetsProposed,
)
from state.machine import decide
from state.run import Run, StepState, StepStatus
from state.stored import LeaseLost, StoreError

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from integrations.clock import Clock
    from state.names import RunKind, Site
    from state.procedure import Procedure
    from state.store import Store

CANCEL_TIMEOUT = 30.0
"""Seconds an integration has to stop its real operation after a cancel, timeout or abort."""


COMMANDS_TIMEOUT = 2.0
"""Seconds a graceful stop waits for the commands under way (a few store writes) to end."""


class Engine:
    """Drives the runs of every site. Create, :meth:`start`, use, :meth:`aclose`."""

    def __init__(
        self,
        *,
        store: Store,
        procedure: Procedure,
        sites: Mapping[Site, SiteConfig],
        systems: Mapping[Site, SiteSystems],
        clock: Clock,
        admins: frozenset[str] = frozenset(),
        rehearsal: bool = False,
    ) -> None:
        """Keep the process-lifetime parts; no work starts until :meth:`start`.

        ``rehearsal``: the runs it opens are rehearsals (the simulated observatory).

        Refuses (``ValueError``) a site configuration that does not fit the procedure: watch
        deadlines that name no watch step, applications its project does not have.
        """
        unfit = [str(p) for site in sites.values() for p in procedure_problems(site, procedure)]
        if unfit:
            raise ValueError("; ".join(unfit))
        self._store = store
        self._told_unreadable: set[str] = set()
        self._procedure = procedure
        self._sites = sites
        self._systems = systems
        self._clock = clock
        self._admins = admins
        self._rehearsal = rehearsal
        self._listeners: list[Listener] = []
        self._work = Work()
        self._stopping = False
        self._once = PostOnce(store, self.execute)
        self._looks = Looks(
            work=self._work, store=store, context=self._context, execute=self.execute
        )
        self.speaker = Speaker(store=store, sites=sites, systems=systems, once=self._once)
        """What the bot says by itself (notices), and the buttons under them."""
        self._log = structlog.get_logger("upgrade_bot.engine")

    @property
    def procedure(self) -> Procedure:
        """The procedure new runs follow."""
        return self._procedure

    @property
    def store(self) -> Store:
        """Where runs are kept (front ends read runs and progress from it)."""
        return self._store

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every change, in order, before any action it causes starts."""
        self._listeners.append(listener)

    def now(self) -> datetime:
        """The engine's time (front ends show elapsed times by it)."""
        return self._clock.now()

    def actor(self, user: str, name: str | None = None) -> Actor:
        """The actor for a user id (``name``: as the request named them), with their admin right."""
        return Actor(user, admin=user in self._admins, name=name)

    async def check(self, run_id: str, command: Command) -> list[Event]:
        """The events ``command`` would cause now, changing nothing; raises its refusal.

        So a request that will be refused (a stale button, someone not the lead) is refused
        before a form asks for more.
        """
        return decide(await self._store.get(run_id), command, self._clock.now())

    async def start(self) -> list[Run]:
        """At start-up: steps found running are interrupted, watches resumed; the open runs."""
        shown: set[tuple[str, str]] = set()
        for run in await self._store.recover(self._clock.now()):
            interrupted = [s for s in run.steps if s.status is StepStatus.INTERRUPTED]
            self._log.warning(
                "Interrupted steps found", run=run.run_id, steps=[s.id for s in interrupted]
            )
            events = tuple((await self._store.events(run.run_id))[-len(interrupted) :])
            await self._notify(RunChanged(run, events))
            for state in interrupted:
                self._looks.waiting(run, state)
                shown.add((run.run_id, state.id))
        runs = await self._store.open_runs()
        for run in runs:
            current = run.current
            if current is not None and (run.run_id, current.id) not in shown:
                await self._looks.resumed(run)  # what it lacks, if the bot stopped before
            watch = run.running
            if watch is not None and watch.step.action.survives_restart():
                self._log.info("Watch resumed", run=run.run_id, step=watch.id)
                self._work.spawn(run.run_id, watch, self._run_step(run, watch), "run")
        return runs

    async def stop(self, grace: float) -> None:
        """A graceful stop: start nothing more, give the steps under way ``grace`` seconds.

        A step whose action ends meanwhile records its outcome; one still running then is
        cut off and recorded as interrupted here (a watch is left running: the next bot picks
        it up, as after a crash). A refused write (the lease is lost) is logged: the next bot
        interrupts the step at its start instead.
        """
        self._stopping = True
        # A command under way ends first: a step it starts now is recorded interrupted.
        if not await self._work.settle(COMMANDS_TIMEOUT):
            self._log.warning("Stopping with a command still under way")
        cut = await self._work.cut(grace)
        await self.aclose()
        for run_id, state in cut:
            if state.step.action.survives_restart():
                continue
            self._log.warning("Step cut off by the stop", run=run_id, step=state.id)
            try:
                await self.execute(run_id, ActionInterrupted(state.id, state.attempt))
            except StoreError as e:
                self._log.warning("Could not record the interruption", run=run_id, error=str(e))

    async def end_background(self, run_id: str) -> bool:
        """The lead's word: end the run's background work (a pre-pull); whether there was any."""
        return await self._work.end_background(run_id)

    def following(self) -> list[tuple[str, str]]:
        """The (run, step) the engine has a task under way for: running, or a look."""
        return self._work.following()

    async def aclose(self) -> None:
        """Stop the runners' tasks (the steps will show as interrupted at the next start)."""
        await self._work.cancel_all()

    # ----------------------------------------------------------------------- commands

    async def open_run(
        self,
        user: str,
        site: Site,
        kind: RunKind,
        *,
        cycle: str | None = None,
        phalanx_branch: str | None = None,
        name: str | None = None,
    ) -> Run:
        """Open a run of ``site`` led by ``user`` (``name``: as named) unless it has one open."""
        if site not in self._systems:
            raise RunError(
                f"This bot has no systems configured for {site}: it cannot run its upgrade "
                "(`upgrade-bot config validate` says what is missing)."
            )
        now = self._clock.now()
        steps = self._procedure.for_run(site, kind)
        command = StartRun(
            actor=self.actor(user, name),
            run_id=f"{site}-{now:%Y%m%d-%H%M%S}",
            site=site,
            kind=kind,
            procedure=self._procedure.name,
            steps=run_steps(self._sites[site], steps),
            cycle=cycle,
            phalanx_branch=phalanx_branch,
            waived=(*self._procedure.waived.items(), *nothing_to_do(self._sites[site], steps)),
            rehearsal=self._rehearsal,
        )
        with self._work.command():
            run, events = await self._store.start(command, now)
            self._log.info("Run opened", run=run.run_id, site=site, kind=kind, lead=user)
            await self._after(run, events)
        return run

    async def execute(self, run_id: str, command: Command) -> Run:
        """Apply a command to a run and act on it; raises :class:`state.errors.RunError`."""
        with self._work.command():
            run, events = await self._store.apply(run_id, command, self._clock.now())
            if events:
                await self._after(run, events)
        return run

    async def tick(self, now: datetime | None = None) -> None:
        """Do what is due at ``now``: deadlines, timeouts, and what the bot says by itself.

        That is: reminders, CSCs beating during the downtime, a finished run's summary.
        """
        now = now or self._clock.now()
        for run in await self._store.open_runs():
            try:
                await self._due(run, now)
            except LeaseLost:
                raise
            except Exception:  # noqa: BLE001  # one run's trouble never stops the others
                self._log.exception("Tick of a run failed", run=run.run_id)
        for run_id in self._store.unreadable.keys() - self._told_unreadable:
            self._told_unreadable.add(run_id)
            self._log.error("Run cannot be read", run=run_id, why=self._store.unreadable[run_id])
        await self.speaker.after_the_end(now)

    async def _due(self, run: Run, now: datetime) -> None:
        step = run.running
        if step is not None and step.deadline_at is not None and now >= step.deadline_at:
            await self._deadline(run, step)
        elif step is not None and (end := step.expected_end()) is not None and now >= end:
            await self._overdue(run, step)
        elif step is not None and step.timeout_at is not None and now >= step.timeout_at:
            await self._timeout(run, step)
        await self.speaker.speak(run, now)

    async def next_due(self) -> datetime | None:
        """The earliest moment :meth:`tick` has something to do, if anything is pending.

        A running step's deadline or timeout, a reminder, the end of a held window, the next
        read of the downtime watch, the summary of a run just ended. The virtual ticker sleeps
        until then instead of waking every second.
        """
        now = self._clock.now()
        due: list[datetime] = []
        runs = await self._store.open_runs()
        for site in self._systems:
            runs += [r for r in await self._store.recent(site, 1) if not r.status.open]
        for run in runs:
            step = run.running
            if step is not None:
                times = (step.deadline_at, step.timeout_at, step.overdue_at)
                due += [at for at in times if at is not None]
            due += self.speaker.next_due(run, now)
        return min(due, default=None)

    # -------------------------------------------------------------------- acting on it

    async def _after(self, run: Run, events: list[Event]) -> None:
        await self._notify(RunChanged(run, tuple(events)))
        for event in events:
            await self._ended(run, event)
        for event in events:
            watched = StepStarted | StepAwaitingApproval | StepFailed | TargetsProposed
            state = run.step(event.step_id) if isinstance(event, watched) else None
            if state is None:
                continue
            if isinstance(event, StepStarted) and state.status is StepStatus.RUNNING:
                await self._start_step(run, state)
            elif isinstance(event, StepAwaitingApproval | StepFailed):
                self._looks.waiting(run, state)
            elif isinstance(event, TargetsProposed):
                self._looks.show(run, state)

    async def _ended(self, run: Run, event: Event) -> None:
        """An attempt ended: a cancel stops its operation, the lead's end stops following it."""
        if isinstance(event, StepFailed) and event.cancelled:
            await self._stop(run, event.step_id, report=True)
        if isinstance(event, StepDoneByHand | StepSkipped):
            await self._unfollow(run, event.step_id)
        if isinstance(
            event, StepSucceeded | StepFailed | StepDoneWithIssues | StepDoneByHand | StepSkipped
        ):
            await self._store.clear_progress(run.run_id, event.step_id)
        if isinstance(event, RunCompleted | RunAborted):  # the pre-pull ends with its run
            await self._work.end_background(run.run_id)

    async def _start_step(self, run: Run, state: StepState) -> None:
        """Run the step's action, if this bot still drives the store (else: LeaseLost)."""
        if not self._stopping:
            await self._store.confirm_lease()
        if self._stopping:  # the bot stops: the step is recorded as interrupted, not begun
            self._log.warning("Not starting a step: the bot stops", run=run.run_id, step=state.id)
            await self.execute(run.run_id, ActionInterrupted(state.id, state.attempt))
            return
        self._work.spawn(run.run_id, state, self._run_step(run, state), "run")

    def _context(self, run: Run, state: StepState) -> StepContext:
        attempt = state.attempt

        async def report(text: str) -> None:
            await self._store.set_progress(run.run_id, state.id, attempt, text, self._clock.now())
            await self._notify(StepProgress(run, state.id, attempt, text))

        async def once(key: str, post: Post) -> datetime | None:
            return await self._once(run.run_id, key, state.id, post)

        def background(work: Coroutine[object, object, None]) -> None:
            self._work.background(run.run_id, state.id, work)

        return StepContext(
            run=run,
            state=state,
            site=self._sites[run.site],
            systems=self._systems[run.site],
            clock=self._clock,
            report=report,
            once=once,
            background=background,
        )

    async def _run_step(self, run: Run, state: StepState) -> None:
        runner = RUNNERS.get(type(state.step.action))
        if runner is None:
            return  # a manual step: a person does it and the lead marks it done
        log = self._log.bind(run=run.run_id, step=state.id, attempt=state.attempt)
        command: Command
        try:
            outcome = await runner(self._context(run, state), state.step.action)
        except IntegrationError as e:
            log.warning("Step failed", error=str(e))
            command = ActionFailed(state.id, state.attempt, str(e))
        except Exception as e:  # a bug of ours: the step fails visibly, the bot lives on
            log.exception("Runner crashed")
            command = ActionFailed(
                state.id, state.attempt, f"internal error: {type(e).__name__}: {e}"
            )
        else:
            log.info("Step succeeded", summary=outcome.summary)
            if outcome.baseline is not None:
                await self.execute(run.run_id, RecordBaseline(outcome.baseline))
            command = ActionSucceeded(
                state.id,
                state.attempt,
                outcome.summary,
                issues=outcome.issues,
                offline_up=outcome.offline_up,
                camera_team=outcome.camera_team,
            )
        # The action is over: from here a cancel or a timeout has nothing left to stop, and
        # recording its outcome (and telling every listener) must not be cut in the middle.
        self._work.done_here(run.run_id, state.id)
        try:
            await asyncio.shield(self.execute(run.run_id, command))
        except StoreError as e:  # the lease is lost: the next bot finds the step running
            log.warning("Could not record the step's outcome", error=str(e))

    async def _unfollow(self, run: Run, step_id: str) -> None:
        """Stop following the step (its task), leaving its real operation as it is.

        The lead marked it done or skipped it: an overdue sync marked done goes on in ArgoCD.
        """
        await self._work.unfollow(run.run_id, step_id)

    async def _stop(self, run: Run, step_id: str, *, report: bool = False) -> None:
        """Cancel the step's task and ask its integration to stop the real operation.

        The outcome is told in the run's thread when a person cancelled (``report``: they are
        waiting to hear it), and whenever the operation could not be stopped.
        """
        await self._unfollow(run, step_id)
        state = run.step(step_id)
        system = system_of(state.step.action, self._systems[run.site]) if state else None
        if state is None or system is None:
            return
        problem = None
        try:
            await asyncio.wait_for(system.cancel(), CANCEL_TIMEOUT)
        except (IntegrationError, TimeoutError) as e:
            problem = str(e) or "no answer in time"
            text = f"Could not stop the operation: {problem}. Check it by hand."
            self._log.error("Cancel failed", run=run.run_id, step=step_id, error=text)
            await self._store.set_progress(run.run_id, step_id, 0, text, self._clock.now())
            await self._notify(StepProgress(run, step_id, 0, text))
        if report or problem is not None:
            await self.speaker.tell(run, notices.stopped(run, state, problem))

    async def _deadline(self, run: Run, state: StepState) -> None:
        action = state.step.action
        reached = DeadlineReached(state.id, state.attempt, ())
        if isinstance(action, EfdWaitForStates):
            verdict = await efd.at_deadline(self._context(run, state), action)
            reached = DeadlineReached(
                state.id, state.attempt, verdict.trouble, verdict.offline_up, verdict.camera_team
            )
            if verdict.trouble:
                report = notices.deadline_report(run, state, self._sites[run.site], verdict)
                await self.speaker.tell(run, report)
        await self._unfollow(run, state.id)
        await self.execute(run.run_id, reached)

    async def _overdue(self, run: Run, state: StepState) -> None:
        """A patient step past its expected time: never stopped; the lead is told and chooses.

        What its system looks like now (each app's pods, the pull request) is read first, so
        that the record and the notice say what the lead decides on; the step goes on running.
        """
        found = looks.live_look(state)
        seen = await looks.read(self._context(run, state), *found) if found else ""
        run = await self.execute(run.run_id, PastExpected(state.id, state.attempt, seen))
        now = run.step(state.id)
        if now is None or now.status is not StepStatus.OVERDUE or now.attempt != state.attempt:
            return  # it ended meanwhile, or the lead was told already
        await self.speaker.tell(run, notices.overdue(run, now, self._sites[run.site], seen))

    async def _timeout(self, run: Run, state: StepState) -> None:
        timeout = getattr(state.step.action, "timeout", None)
        error = f"timed out after {format_duration(timeout)}" if timeout else "timed out"
        await self._stop(run, state.id)
        await self.execute(run.run_id, ActionFailed(state.id, state.attempt, error, timed_out=True))

    async def _notify(self, change: Change) -> None:
        for listener in self._listeners:
            try:
                await listener(change)
            except Exception:  # noqa: BLE001  # a front end's bug must not stop the run: logged
                self._log.exception(
                    "Listener failed", listener=getattr(listener, "__qualname__", "?")
                )
