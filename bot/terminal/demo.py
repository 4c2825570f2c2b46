"""``upgrade-bot demo``: a whole site upgrade against the simulated observatory, in the terminal.

The real procedure, the real state machine, store and engine; only the observatory is
simulated, on simulated time (:class:`integrations.clock.VirtualClock`): the outcome is the
same on an idle and on a loaded machine, only the wall time differs. With ``--db PATH`` (or a
PostgreSQL URL) everything (the run, the observatory, the clock) is kept in that store, so a
demo killed at any moment resumes where it was: the step that was running shows as
interrupted and the lead decides.

A demo takes the store's lease as ``upgrade-bot run`` does (:func:`holding`): a second demo on
the same file is refused while the first runs, and one started again after a kill takes over
at once when the first one's process is gone. A demo whose run has ended shows it and exits
with its result (:func:`ended`); ``--new`` starts another run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config.procedures import load_procedure
from bot.config.sites import Prepull, default_sites
from bot.engine.changes import Change, RunChanged
from bot.engine.engine import Engine
from bot.engine.pacer import Pacer
from bot.engine.runners import SiteSystems, system_of, uses_system
from bot.reports.timeline import summary
from bot.service.lease import Lease
from bot.service.supervisor import Supervisor
from bot.terminal.announcer import TerminalAnnouncer
from bot.terminal.leads import SimulatedLead, TerminalLead
from bot.terminal.printer import Printer
from bot.wiring.simulated import (
    CcsOperator,
    keep_time,
    rehearsal_sites,
    resume_clock,
    simulated_site,
)
from integrations.clock import VirtualClock
from integrations.sim import Release, SimObservatory, parse_fault
from state.events import StepStarted
from state.run import Run, RunStatus
from state.store import Store
from state.store_url import store_url
from state.stored import other_mode

if TYPE_CHECKING:
    from state.names import RunKind, Site
    from state.procedure import Procedure, Step

LEAD = "demo-lead"
"""The simulated lead's user name."""

DEFAULT_SPEED = 400.0
"""At most this many times faster than real time: a summit upgrade in about half a minute,
slow enough to watch. ``None`` (``--speed max``): as fast as the machine goes."""


PREPULL_NAMESPACE = "upgrade-bot"
"""The simulated cluster's namespace for the pre-pull (a stand-in: real sites configure it)."""


def speed_text(speed: float | None) -> str:
    """How fast simulated time may run, for people."""
    return "as fast as the machine goes" if speed is None else f"at most x{speed:g} real time"


@dataclass(frozen=True)
class DemoOptions:
    """What ``upgrade-bot demo`` was asked."""

    site: Site = "summit"
    kind: RunKind = "cycle-upgrade"
    speed: float | None = DEFAULT_SPEED
    interactive: bool = False
    faults: tuple[str, ...] = ()
    procedure: Path | None = None
    db: str | Path | None = None
    """``--db``: a SQLite file or a URL (none: a scratch file, gone when the demo ends)."""
    cycle: str = "c0040"
    phalanx_branch: str = "tickets/DM-48000"
    new: bool = False
    prepull: bool = False
    """Enable the site's pre-pull (``kube.prepull``), in the namespace :data:`PREPULL_NAMESPACE`."""
    out: TextIO = field(default_factory=lambda: sys.stdout)


def check_faults(faults: Sequence[str], steps: Sequence[Step]) -> None:
    """Refuse unknown faults before anything starts (``hang:`` takes a step of the run)."""
    hangable = {step.id for step in steps if uses_system(step.action)}
    for fault in faults:
        kind, _, target = fault.partition(":")
        if kind != "hang":
            parse_fault(fault)
        elif target not in hangable:
            raise ValueError(
                f"hang:{target}: not a step of this run with an outside operation "
                f"(one of: {', '.join(sorted(hangable))})"
            )


class Hangs:
    """Arms the ``hang:STEP`` faults: the step's first attempt hangs until its timeout."""

    def __init__(
        self, *, steps: set[str], observatory: SimObservatory, systems: SiteSystems
    ) -> None:
        """Arm each of ``steps`` once, as it starts (before its runner runs)."""
        self._steps = set(steps)
        self._observatory = observatory
        self._systems = systems

    async def __call__(self, change: Change) -> None:
        """The engine's listener."""
        if not isinstance(change, RunChanged):
            return
        for event in change.events:
            if isinstance(event, StepStarted) and event.step_id in self._steps:
                self._steps.discard(event.step_id)
                state = change.run.step(event.step_id)
                system = system_of(state.step.action, self._systems) if state else None
                if system is not None:
                    self._observatory.arm_hang(system)


async def run_demo(options: DemoOptions) -> int:
    """Run (or resume) the demo; the exit code: 0 completed, 1 failed or aborted."""
    procedure = load_procedure(options.procedure)
    check_faults(options.faults, procedure.for_run(options.site, options.kind))
    if options.interactive and options.speed is None:
        raise ValueError("--interactive: a person decides, so give a --speed (not max)")
    clock = VirtualClock(speed=options.speed)
    with tempfile.TemporaryDirectory(prefix="upgrade-bot-demo-") as scratch:
        db = options.db or Path(scratch) / "demo.db"
        store = await Store.open(store_url(str(db)), busy=clock.busy)
        try:
            if (refused := other_mode(await store.open_runs(), rehearsal=True)) is not None:
                raise refused
            async with holding(store, options):
                code = await ended(store, options)
                if code is not None:
                    return code
                await resume_clock(clock, store)
                async with clock:
                    return await _run(options, procedure, store, clock)
        finally:
            await store.aclose()


@contextlib.asynccontextmanager
async def holding(store: Store, options: DemoOptions) -> AsyncIterator[None]:
    """Hold the store's lease while the block runs (it is cancelled if the lease is lost).

    Refused (:class:`bot.service.lease.LeaseHeld`) while another demo or bot on this host
    drives the store; taken at once from one whose process is gone; waited for, saying so,
    when its holder runs on another host.
    """
    lease = Lease(store=store)
    await lease.take(
        wait_elsewhere=True,
        refusal="Wait for it to end, or stop it.",
        say=lambda text: options.out.write(f"({text})\n"),
    )
    workers = Supervisor()
    try:
        async with workers.running():
            workers.start("lease", lease.keep())
            yield
    finally:
        await lease.release()


async def ended(store: Store, options: DemoOptions) -> int | None:
    """Show the site's last run if it has ended, and its exit code (``None``: go on)."""
    if options.new or await store.open_run(options.site) is not None:
        return None
    latest = await store.recent(options.site, 1)
    if not latest:
        return None
    run = latest[0]
    options.out.write(
        f"Run {run.run_id} ({run.kind} of {run.site}) has ended: {run.status.value}. "
        "Nothing to resume; `--new` starts another run.\n"
        f"{summary(run, await store.events(run.run_id))}\n"
    )
    return 0 if run.status is RunStatus.COMPLETED else 1


async def _run(
    options: DemoOptions, procedure: Procedure, store: Store, clock: VirtualClock
) -> int:
    out = options.out
    sites = rehearsal_sites(default_sites())
    if options.prepull:
        enabled = Prepull(enabled=True, namespace=PREPULL_NAMESPACE)
        sites[options.site] = sites[options.site].model_copy(update={"prepull": enabled})
    site = sites[options.site]
    hangs = {f.partition(":")[2] for f in options.faults if f.startswith("hang:")}
    faults = [f for f in options.faults if not f.startswith("hang:")]
    observatory, systems = await simulated_site(
        site,
        clock=clock,
        store=store,
        release=Release(cycle=options.cycle, phalanx_branch=options.phalanx_branch),
        announcer=TerminalAnnouncer(out=out, sites=sites),
    )
    if await store.open_run(site.name) is None:  # a new run: the faults asked for now
        for fault in faults:
            await observatory.inject(fault)
    elif faults:
        out.write("(resuming: the faults given when this run began still apply)\n")
    engine = Engine(
        store=store,
        procedure=procedure,
        sites=sites,
        systems={site.name: systems},
        clock=clock,
        rehearsal=True,
    )
    lead_type = TerminalLead if options.interactive else SimulatedLead
    lead = lead_type(engine=engine, clock=clock, user=LEAD)

    engine.subscribe(Printer(out=out, sites=sites))
    engine.subscribe(keep_time(clock, store))
    engine.subscribe(Hangs(steps=hangs, observatory=observatory, systems=systems))
    engine.subscribe(CcsOperator({site.name: observatory}))
    engine.subscribe(lead)
    given = f", faults: {', '.join(options.faults)}" if options.faults else ""
    out.write(
        f"upgrade-bot demo: {options.kind} of {site.name} ({site.title}) against the simulated "
        f"observatory, {speed_text(options.speed)}{given}\n"
    )
    ticker = Pacer(engine=engine, clock=clock)
    try:
        final = await _drive(options, engine, lead, store, ticker)
        await ticker.aclose()
        await engine.tick()  # the run is over: its summary is posted (kept in the store)
    finally:
        await ticker.aclose()
        await engine.aclose()
    return 0 if final.status is RunStatus.COMPLETED else 1


async def _drive(
    options: DemoOptions, engine: Engine, lead: SimulatedLead, store: Store, ticker: Pacer
) -> Run:
    """Open the run (or pick the open one up) and wait for its end."""
    await engine.start()
    run = await store.open_run(options.site)
    if run is None:
        await engine.open_run(
            LEAD,
            options.site,
            options.kind,
            cycle=options.cycle,
            phalanx_branch=options.phalanx_branch,
        )
    else:
        current = run.current
        where = f"{current.id} ({current.status.value})" if current else "its end"
        options.out.write(f"Resuming run {run.run_id} at step {where}\n")
        lead.resume(run)
    ticker.start()
    return await lead.finished


def main(options: DemoOptions) -> int:
    """Entry point for the CLI."""
    return asyncio.run(run_demo(options))
