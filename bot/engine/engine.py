"""The engine: commands from any front end, through the state machine and the store, to action.

A front end (the terminal demo, Slack) calls :meth:`Engine.open_run` and :meth:`Engine.execute`
and subscribes to changes; the engine knows nothing of Slack. For every command it asks the
store to decide and persist (one transaction), tells the subscribers, and then acts on what
the new events say: a step started -> its runner runs as an asyncio task; a step cancelled or
the run aborted -> the task is cancelled *and* the integration asked to stop the real
operation; a step awaiting approval -> its preview is computed for the lead.

Time-driven work (timeouts, watch deadlines, what the bot says by itself: see
:mod:`bot.speaker`) is data in the store (``timeout_at``, ``deadline_at``, the keys of what was
posted) and is done by :meth:`Engine.tick`, which a scheduler wakes and tests call with a chosen
``now``. After a crash, :meth:`Engine.start` marks steps found running as interrupted; nothing
is re-run without the lead, but a watch (it only reads) goes on to its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from bot.engine import notices
from bot.engine.runners import (
    LIVE,
    PREVIEWS,
    RUNNERS,
    Preview,
    SiteSystems,
    StepContext,
    efd,
    system_of,
)
from bot.engine.speaker import Speaker
from integrations.errors import IntegrationError
from state.actions import EfdWaitForStates
from state.commands import (
    ActionFailed,
    ActionSucceeded,
    Actor,
    Command,
    DeadlineReached,
    RecordAnnouncement,
    RecordBaseline,
    StartRun,
)
from state.duration import format_duration
from state.errors import RunError
from state.events import (
    Event,
    StepAwaitingApproval,
    StepDoneByHand,
    StepDoneWithIssues,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from state.machine import decide
from state.run import Run, StepState, StepStatus

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from integrations.clock import Clock
    from state.names import RunKind, Site
    from state.procedure import Procedure
    from state.store import Store

CANCEL_TIMEOUT = 30.0
"""Seconds an integration has to stop its real operation after a cancel, timeout or abort."""

PREVIEW_TIMEOUT = 30.0
"""Seconds a preview (a diff, a cleanup plan) may take before the lead is told it could not."""


@dataclass(frozen=True, slots=True)
class RunChanged:
    """The run changed: these events were stored (the snapshot is ``run``)."""

    run: Run
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class StepProgress:
    """A step reported progress, or its preview is ready (``attempt`` 0 before its first run)."""

    run: Run
    step_id: str
    attempt: int
    text: str


Change = RunChanged | StepProgress
Listener = Callable[[Change], Awaitable[None]]


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
    ) -> None:
        """Keep the process-lifetime parts; no work starts until :meth:`start`.

        Refuses (``ValueError``) a site configuration whose watch deadlines name no watch step.
        """
        unknown = [line for site in sites.values() for line in site.unknown_deadlines(procedure)]
        if unknown:
            raise ValueError("; ".join(unknown))
        self._store = store
        self._procedure = procedure
        self._sites = sites
        self._systems = systems
        self._clock = clock
        self._admins = admins
        self._listeners: list[Listener] = []
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._once_locks: dict[tuple[str, str], asyncio.Lock] = {}
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
        for run in await self._store.recover(self._clock.now()):
            interrupted = [s for s in run.steps if s.status is StepStatus.INTERRUPTED]
            self._log.warning(
                "Interrupted steps found", run=run.run_id, steps=[s.id for s in interrupted]
            )
            events = tuple((await self._store.events(run.run_id))[-len(interrupted) :])
            await self._notify(RunChanged(run, events))
            for state in interrupted:
                self._show_live(run, state)
        runs = await self._store.open_runs()
        for run in runs:
            watch = run.running
            if watch is not None and watch.step.action.survives_restart():
                self._log.info("Watch resumed", run=run.run_id, step=watch.id)
                self._spawn(run, watch, self._run_step(run, watch), "run")
            await self._preview_missing(run)
        return runs

    async def _preview_missing(self, run: Run) -> None:
        """The preview of a step awaiting approval, if the bot stopped before it was shown.

        Its Approve button waits for it (the lead approves what they saw).
        """
        waiting = run.current
        if waiting is None or waiting.status is not StepStatus.AWAITING_APPROVAL:
            return
        preview = PREVIEWS.get(type(waiting.step.action))
        if preview is not None and waiting.id not in await self._store.progress(run.run_id):
            self._spawn(run, waiting, self._preview(run, waiting, preview), "preview")

    async def aclose(self) -> None:
        """Stop the runners' tasks (the steps will show as interrupted at the next start)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

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
        command = StartRun(
            actor=self.actor(user, name),
            run_id=f"{site}-{now:%Y%m%d-%H%M%S}",
            site=site,
            kind=kind,
            procedure=self._procedure.name,
            steps=self._sites[site].adapt(self._procedure.for_run(site, kind)),
            cycle=cycle,
            phalanx_branch=phalanx_branch,
        )
        run, events = await self._store.start(command, now)
        self._log.info("Run opened", run=run.run_id, site=site, kind=kind, lead=user)
        await self._after(run, events)
        return run

    async def execute(self, run_id: str, command: Command) -> Run:
        """Apply a command to a run and act on it; raises :class:`state.errors.RunError`."""
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
            step = run.running
            if step is not None and step.deadline_at is not None and now >= step.deadline_at:
                await self._deadline(run, step)
            elif step is not None and step.timeout_at is not None and now >= step.timeout_at:
                await self._timeout(run, step)
            await self.speaker.speak(run, now)
        await self.speaker.after_the_end(now)

    # -------------------------------------------------------------------- acting on it

    async def _after(self, run: Run, events: list[Event]) -> None:
        await self._notify(RunChanged(run, tuple(events)))
        for event in events:
            if isinstance(event, StepFailed) and event.cancelled:
                await self._stop(run, event.step_id, report=True)
            if isinstance(
                event,
                StepSucceeded | StepFailed | StepDoneWithIssues | StepDoneByHand | StepSkipped,
            ):
                await self._store.clear_progress(run.run_id, event.step_id)
        for event in events:
            if not isinstance(event, StepStarted | StepAwaitingApproval | StepFailed):
                continue
            state = run.step(event.step_id)
            if state is None:
                continue
            if isinstance(event, StepStarted) and state.status is StepStatus.RUNNING:
                self._spawn(run, state, self._run_step(run, state), "run")
            elif isinstance(event, StepAwaitingApproval) and type(state.step.action) in PREVIEWS:
                work = self._preview(run, state, PREVIEWS[type(state.step.action)])
                self._spawn(run, state, work, "preview")
            elif isinstance(event, StepFailed) and state.status is StepStatus.FAILED:
                self._show_live(run, state)

    def _show_live(self, run: Run, state: StepState) -> None:
        """Before the lead retries, show what the step's system looks like now (if it can)."""
        look = LIVE.get(type(state.step.action))
        if look is not None:
            self._spawn(run, state, self._preview(run, state, look, "the live state"), "live")

    def _spawn(
        self, run: Run, state: StepState, work: Coroutine[object, object, None], kind: str
    ) -> None:
        key = (run.run_id, state.id)
        task = asyncio.create_task(work, name=f"{kind} {run.run_id}/{state.id}#{state.attempt}")
        self._tasks[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(key) is done:
                del self._tasks[key]

        task.add_done_callback(forget)

    def _context(self, run: Run, state: StepState) -> StepContext:
        attempt = state.attempt

        async def report(text: str) -> None:
            await self._store.set_progress(run.run_id, state.id, attempt, text, self._clock.now())
            await self._notify(StepProgress(run, state.id, attempt, text))

        async def once(key: str, post: Callable[[], Awaitable[None]]) -> datetime | None:
            return await self._once(run.run_id, key, state.id, post)

        return StepContext(
            run=run,
            state=state,
            site=self._sites[run.site],
            systems=self._systems[run.site],
            clock=self._clock,
            report=report,
            once=once,
        )

    async def _once(
        self, run_id: str, key: str, step_id: str | None, post: Callable[[], Awaitable[None]]
    ) -> datetime | None:
        """Post unless the run recorded ``key``; when it was, if so. Posted means recorded.

        The check, the post and the record hold one lock per (run, key) and are shielded: a
        timeout or cancel that lands after the post cannot skip the record, and an attempt
        that starts meanwhile (a retry) waits and then finds it made.
        """
        lock = self._once_locks.setdefault((run_id, key), asyncio.Lock())

        async def guarded() -> datetime | None:
            async with lock:
                made = (await self._store.get(run_id)).announced.get(key)
                if made is not None:
                    return made
                await post()
                await self.execute(run_id, RecordAnnouncement(key, step_id))
                return None

        return await asyncio.shield(guarded())

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
            command = ActionSucceeded(state.id, state.attempt, outcome.summary)
        # The action is over: from here a cancel or a timeout has nothing left to stop, and
        # recording its outcome (and telling every listener) must not be cut in the middle.
        key = (run.run_id, state.id)
        if self._tasks.get(key) is asyncio.current_task():
            del self._tasks[key]
        await asyncio.shield(self.execute(run.run_id, command))

    async def _preview(
        self, run: Run, state: StepState, preview: Preview, what: str = "the preview"
    ) -> None:
        try:
            text = await asyncio.wait_for(
                preview(self._context(run, state), state.step.action), PREVIEW_TIMEOUT
            )
        except (IntegrationError, TimeoutError) as e:
            text = f"Could not read {what}: {e or 'no answer in time'}"
        except Exception as e:  # noqa: BLE001  # a bug of ours: said, so the lead does not wait on it
            self._log.exception("Preview crashed", run=run.run_id, step=state.id)
            text = f"Could not read {what}: internal error: {type(e).__name__}"
        await self._context(run, state).report(text)

    async def _stop(self, run: Run, step_id: str, *, report: bool = False) -> None:
        """Cancel the step's task and ask its integration to stop the real operation.

        The outcome is told in the run's thread when a person cancelled (``report``: they are
        waiting to hear it), and whenever the operation could not be stopped.
        """
        task = self._tasks.pop((run.run_id, step_id), None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
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
        trouble: tuple[str, ...] = ()
        if isinstance(action, EfdWaitForStates):
            verdict = await efd.at_deadline(self._context(run, state), action)
            trouble = verdict.trouble
            if trouble:
                report = notices.deadline_report(run, state, self._sites[run.site], verdict)
                await self.speaker.tell(run, report)
        task = self._tasks.pop((run.run_id, state.id), None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.execute(run.run_id, DeadlineReached(state.id, state.attempt, trouble))

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
