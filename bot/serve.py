"""``upgrade-bot run``: the bot in a Slack workspace (Socket Mode, or HTTP with ``--http``).

Composition only. :class:`Bot` is the process context (as safir-based services keep theirs:
one frozen object made by ``create`` and closed by ``aclose``): the store and its lease, the
engine with the site systems (``--simulate``: the simulated observatory, a full rehearsal in
a real workspace), the Slack front end, the Bolt app with the listeners of ``handlers/``.
:func:`running_bot` runs its workers under one supervisor (a worker that dies, or a lease
that is lost, stops the bot), picks every open run up from the store and refreshes its
messages (an interrupted step shows Retry / Mark done, and the lead decides), and stops it
gracefully. :func:`serve` adds the servers and the signals: on SIGTERM (or SIGINT) it stops
taking requests, gives a step under way its grace, releases the lease so that a standby
takes over at once, and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypedDict, Unpack

import structlog
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.app import build_app
from bot.config.file import BotConfig, ConfigError, load_config
from bot.config.procedures import load_procedure
from bot.config.settings import Settings
from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.engine.pacer import Pacer
from bot.engine.ticker import Ticker
from bot.service.health import Driving, Health, bound, health_app, serve_app
from bot.service.lease import Lease
from bot.service.metrics import Metrics, Vitals
from bot.service.supervisor import Supervisor, WorkerDied
from bot.slack.announcer import SlackAnnouncer
from bot.slack.channels import bind_channels
from bot.slack.front import SlackFront
from bot.slack.updates import Updates
from bot.usecases.cases import UseCases
from bot.wiring.simulated import (
    HeldAnnouncer,
    Rehearsal,
    keep_time,
    rehearsal_sites,
    resume_clock,
)
from bot.wiring.systems import wire
from handlers.register import register
from integrations.announce import Announcer
from integrations.clock import Clock, VirtualClock, WallClock
from state.names import Site
from state.store import Store
from state.stored import other_mode

log = structlog.get_logger("upgrade_bot.serve")

DRAIN = 2.0
"""Seconds a stopping bot gives the Slack front end to show the last changes (the next bot
refreshes every message of an open run anyway)."""


@dataclass(frozen=True)
class RunOptions:
    """What ``upgrade-bot run`` was asked."""

    simulate: bool = False
    speed: float = 1.0
    """A rehearsal's simulated time runs at most this many times faster than real time."""
    standby: bool = False
    http: tuple[str, int] | None = None
    procedure: Path | None = None
    db: str | Path | None = None
    """``--db``: a SQLite file or a URL."""


def parse_http(value: str) -> tuple[str, int]:
    """``[HOST:]PORT`` (default host 127.0.0.1: expose it on purpose, behind a proxy)."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:  # noqa: PLR2004
        raise ValueError(f"--http {value!r}: give [HOST:]PORT, e.g. 0.0.0.0:3000")
    return host or "127.0.0.1", int(port)


class Parts(TypedDict, total=False):
    """What a test (or the server) may choose of the bot it builds."""

    tick: float
    """Seconds between the engine's ticks (default 1)."""
    edits_per_minute: float
    """Slack's edit tier (default 50)."""
    health: Health
    """The process's health, when its server started before the bot (default: its own)."""


@dataclass(frozen=True)
class Bot:
    """Everything ``run`` opened, in one place: made by :meth:`create`, closed by :meth:`aclose`."""

    app: AsyncApp
    engine: Engine
    store: Store
    front: SlackFront
    updates: Updates
    ticker: Ticker | Pacer
    metrics: Metrics
    clock: Clock
    """The wall clock; a rehearsal's simulated time (``--simulate``)."""
    lease: Lease
    workers: Supervisor
    health: Health
    stop_grace: float
    _opened: contextlib.AsyncExitStack

    @classmethod
    async def create(cls, settings: Settings, options: RunOptions, **parts: Unpack[Parts]) -> Bot:
        """Open the store, take its lease (or stand by for it), and build the bot on it.

        A rehearsal (``--simulate``) runs on simulated time at ``options.speed`` times real
        time, resumed where its store had got to; a real bot on the wall clock.
        """
        config, sites = _configured(settings, options)
        procedure = load_procedure(options.procedure)
        health = parts.get("health") or Health()
        metrics = health.metrics
        rehearsal = VirtualClock(speed=options.speed) if options.simulate else None
        async with contextlib.AsyncExitStack() as opened:
            busy = rehearsal.busy if rehearsal is not None else None
            url = settings.store_url(options.db, rehearsal=options.simulate)
            store = await Store.open(url, busy=busy)
            opened.push_async_callback(store.aclose)
            if refused := other_mode(await store.open_runs(), rehearsal=options.simulate):
                raise refused
            lease = Lease(store=store, ttl=timedelta(seconds=settings.lease_seconds))
            app = build_app(
                settings,
                http=options.http is not None,
                guard=lease.guard,
                on_error=metrics.slack_error,
                rehearsal=options.simulate,
            )
            await lease.take(
                standby=options.standby,
                refusal="Stop it, or start this one with --standby to take over when it stops.",
                say=health.waiting,
            )
            opened.push_async_callback(lease.release)
            sites = (await bind_channels(app.client, sites)).sites  # by id; unusable ones said
            clock: Clock = rehearsal or WallClock()
            announcer: Announcer = SlackAnnouncer(client=app.client, sites=sites, store=store)
            if rehearsal is not None:
                opened.push_async_callback(rehearsal.aclose)
                await resume_clock(rehearsal, store)
                announcer = HeldAnnouncer(announcer, rehearsal.busy)
            wired = await wire(
                sites, simulate=options.simulate, store=store, clock=clock, announcer=announcer
            )
            opened.push_async_callback(wired.aclose)
            if not wired.systems:
                raise ConfigError(
                    "no site is configured for real runs (`upgrade-bot config validate` says "
                    "what is missing); --simulate rehearses against the simulated observatory"
                )
            engine = Engine(
                store=store,
                procedure=procedure,
                sites=sites,
                systems=wired.systems,
                clock=clock,
                admins=config.admins,
                rehearsal=options.simulate,
            )
            updates = Updates(app.client, per_minute=parts.get("edits_per_minute", 50.0))
            front = SlackFront(
                client=app.client,
                store=store,
                sites=sites,
                updates=updates,
                clock=clock,
                speed=options.speed if options.simulate else None,
            )
            engine.subscribe(front)
            if wired.observatories:
                engine.subscribe(Rehearsal(wired.observatories))
            engine.subscribe(metrics)
            cases = UseCases.create(
                engine=engine, sites=sites, starters=config.starters, check=wired.check
            )
            register(app, cases, sites, rehearsal=options.simulate)
            ticker = _ticker(engine, store, rehearsal, parts.get("tick", 1.0))
            return cls(app, engine, store, front, updates, ticker, metrics, clock, lease,
                       Supervisor(), health, settings.stop_grace, opened.pop_all())  # fmt: skip

    async def aclose(self) -> None:
        """Close what :meth:`create` opened, the lease released before the store closes."""
        await self._opened.aclose()

    async def start(self) -> None:
        """Start the workers, pick the open runs up, then tick (inside ``workers.running``)."""
        self.workers.start("lease", self.lease.keep())
        self.workers.start("slack-edits", self.updates.run())
        self.workers.start("slack-front", self.front.run())
        for run in await self.engine.start():
            await self.front.refresh(run)
        self.workers.start("ticker", _ticking(self.ticker))
        self.health.drive(Driving(self.store, self.lease, self.workers))
        self.metrics.watch(
            Vitals(
                holder=lambda: None if self.lease.lost else str(self.lease.holder),
                epoch=lambda: self.lease.epoch,
                workers=self.workers.alive,
                updates=self.updates,
            )
        )

    async def stop(self) -> None:
        """Stop in order: no more ticks, the steps under way end or are interrupted, shown.

        After a death (a worker, or the lease) there is no grace, and nothing more is shown
        in Slack if the lease is lost (another bot drives the runs now).
        """
        self.health.stopping()
        await self.workers.stop("ticker")
        died = self.workers.died is not None
        await self.engine.stop(0.0 if died else self.stop_grace)
        alive = self.workers.alive()
        if not self.lease.lost and alive.get("slack-front") and alive.get("slack-edits"):
            try:
                await asyncio.wait_for(self.front.drained(), DRAIN)
            except TimeoutError:
                log.warning("Stopping before Slack showed every change", seconds=DRAIN)


def _configured(
    settings: Settings, options: RunOptions
) -> tuple[BotConfig, dict[Site, SiteConfig]]:
    """The configuration; a rehearsal's sites with the simulated observatory's stand-ins."""
    config, sites = load_config(settings.config)
    if not options.simulate:
        return config, sites
    return config, rehearsal_sites(sites, audiences=settings.rehearsal_audiences)


def _ticker(
    engine: Engine, store: Store, rehearsal: VirtualClock | None, tick: float
) -> Ticker | Pacer:
    """What wakes the engine: every ``tick`` real seconds, or a rehearsal's pacer."""
    if rehearsal is None:
        return Ticker(engine=engine, interval=tick)
    engine.subscribe(keep_time(rehearsal, store))
    rehearsal.start()
    return Pacer(engine=engine, clock=rehearsal)


async def _ticking(ticker: Ticker | Pacer) -> None:
    """The ticker as a worker: it ticks until the worker is stopped."""
    ticker.start()
    try:
        await asyncio.Event().wait()
    finally:
        await ticker.aclose()


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, options: RunOptions, **parts: Unpack[Parts]
) -> AsyncIterator[Bot]:
    """Build the bot, run its workers and the open runs until the block ends, then stop it.

    Raises :class:`bot.service.supervisor.WorkerDied` if a worker ends (the lease's renewal
    ends when the lease is lost) while the block runs; the block is cancelled then.
    """
    bot = await Bot.create(settings, options, **parts)
    try:
        async with bot.workers.running():
            try:
                await bot.start()
                yield bot
            finally:
                await bot.stop()
    finally:
        await bot.aclose()


@contextlib.asynccontextmanager
async def listening(bot: Bot, settings: Settings, options: RunOptions) -> AsyncIterator[None]:
    """Take Slack's requests (HTTP, or Socket Mode) until the block ends."""
    if options.http is not None:
        runner = await serve_app(bot.app.web_app(path="/slack/events"), *options.http)
        log.info("Serving Slack over HTTP", **bound(runner))
        try:
            yield
        finally:
            await runner.cleanup()  # requests under way finish (a few seconds at most)
        return
    token = settings.slack_app_token
    assert token is not None  # noqa: S101  # serve() checked it before anything started
    handler = AsyncSocketModeHandler(bot.app, token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]  # Bolt is untyped here
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def serve(settings: Settings, options: RunOptions) -> int:
    """Run until SIGTERM or SIGINT (0), or until a worker dies or the lease is lost (1)."""
    if options.http is None and settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN is not set (the app-level token, xapp-..., Socket Mode)")
    health = Health()
    stop = _Stop(health)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.signalled, signum)
    try:
        async with (
            _health_server(health, settings),
            running_bot(settings, options, health=health) as bot,
            listening(bot, settings, options),
        ):
            await stop.wait()
    except WorkerDied:  # logged where it happened
        return 1
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
        log.info("Stopped while waiting for the store's lease")  # a standby, stopped
        return 0
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("Stopped")
    return 0


class _Stop(asyncio.Event):
    """Set by SIGTERM or SIGINT. A bot not driving yet (a standby) is cancelled at once."""

    def __init__(self, health: Health) -> None:
        super().__init__()
        self._health = health
        self._main = asyncio.current_task()

    def signalled(self, signum: signal.Signals) -> None:
        if self.is_set():
            return
        self.set()
        if self._health.state == "driving":
            log.info(
                "Stopping: no more requests, a step under way gets its grace", signal=signum.name
            )
        elif self._main is not None:
            log.info("Stopping before driving the store", signal=signum.name)
            self._main.cancel()


@contextlib.asynccontextmanager
async def _health_server(health: Health, settings: Settings) -> AsyncIterator[None]:
    """``/healthz`` and ``/metrics`` on the health host and port (port 0: none)."""
    if not settings.health_port:
        yield
        return
    runner = await serve_app(health_app(health), settings.health_host, settings.health_port)
    log.info("Serving /healthz and /metrics", **bound(runner))
    try:
        yield
    finally:
        await runner.cleanup()
