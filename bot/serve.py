"""``upgrade-bot run``: the bot in a Slack workspace (Socket Mode, or HTTP with ``--http``).

Composition only: the store, the engine with the site systems (``--simulate``: the simulated
observatory, a full rehearsal in a real workspace), the Slack front end, the Bolt app with the
listeners of ``handlers/``, the ticker, and a small HTTP server for ``/healthz``. On start it
binds each site's channel by id (and says which channels it cannot post in), then picks every
open run up from the store and refreshes its messages: an interrupted step shows Retry / Mark
done, and the lead decides.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.app import build_app
from bot.config.file import ConfigError, load_config
from bot.config.procedures import load_procedure
from bot.config.settings import Settings
from bot.engine.engine import Engine
from bot.engine.ticker import Ticker
from bot.service import lease
from bot.service.health import health_app, serve_app
from bot.service.metrics import Metrics
from bot.slack.announcer import SlackAnnouncer
from bot.slack.channels import bind_channels
from bot.slack.front import SlackFront
from bot.slack.updates import Updates
from bot.usecases.cases import UseCases
from bot.wiring.simulated import Rehearsal
from bot.wiring.systems import wire
from handlers.register import register
from integrations.clock import Clock, WallClock
from state.store import Store

log = structlog.get_logger("upgrade_bot.serve")


@dataclass(frozen=True)
class RunOptions:
    """What ``upgrade-bot run`` was asked."""

    simulate: bool = False
    standby: bool = False
    http: tuple[str, int] | None = None
    procedure: Path | None = None
    db: Path | None = None


def parse_http(value: str) -> tuple[str, int]:
    """``[HOST:]PORT`` (default host 127.0.0.1: expose it on purpose, behind a proxy)."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:  # noqa: PLR2004
        raise ValueError(f"--http {value!r}: give [HOST:]PORT, e.g. 0.0.0.0:3000")
    return host or "127.0.0.1", int(port)


@dataclass
class Bot:
    """Everything ``run`` starts, for the server and for tests."""

    app: AsyncApp
    engine: Engine
    store: Store
    front: SlackFront
    updates: Updates
    ticker: Ticker
    metrics: Metrics


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    options: RunOptions,
    *,
    clock: Clock | None = None,
    tick: float = 1.0,
    edits_per_minute: float = 50.0,
) -> AsyncIterator[Bot]:
    """Build the bot, pick the open runs up, and run its workers until the context ends."""
    config, sites = load_config(settings.config)
    procedure = load_procedure(options.procedure)
    app = build_app(settings, http=options.http is not None)
    sites = (await bind_channels(app.client, sites)).sites
    store = await Store.open(settings.store_url(options.db))
    try:
        holder = await lease.take(store, standby=options.standby)
    except BaseException:
        await store.aclose()
        raise
    clock = clock or WallClock()
    announcer = SlackAnnouncer(client=app.client, sites=sites, store=store)
    wired = await wire(
        sites, simulate=options.simulate, store=store, clock=clock, announcer=announcer
    )
    if not wired.systems:
        await lease.release(store, holder)
        await store.aclose()
        raise ConfigError(
            "no site is configured for real runs (`upgrade-bot config validate` says what is "
            "missing); --simulate rehearses against the simulated observatory"
        )
    engine = Engine(
        store=store,
        procedure=procedure,
        sites=sites,
        systems=wired.systems,
        clock=clock,
        admins=config.admins,
    )
    updates = Updates(app.client, per_minute=edits_per_minute)
    front = SlackFront(client=app.client, store=store, sites=sites, updates=updates, clock=clock)
    engine.subscribe(front)
    if wired.observatories:
        engine.subscribe(Rehearsal(wired.observatories))
    metrics = Metrics(updates)
    engine.subscribe(metrics)

    cases = UseCases.create(engine=engine, sites=sites, starters=config.starters, check=wired.check)
    register(app, cases, sites)
    ticker = Ticker(engine=engine, interval=tick)
    workers = [
        asyncio.create_task(updates.run()),
        asyncio.create_task(front.run()),
        asyncio.create_task(lease.renew(store, holder)),
    ]
    try:
        for run in await engine.start():
            await front.refresh(run)
        ticker.start()
        yield Bot(app, engine, store, front, updates, ticker, metrics)
    finally:
        await ticker.aclose()
        await engine.aclose()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await wired.aclose()
        await lease.release(store, holder)
        await store.aclose()


async def serve(settings: Settings, options: RunOptions) -> int:
    """Run until interrupted."""
    app_token = settings.slack_app_token
    if options.http is None and app_token is None:
        raise ConfigError("SLACK_APP_TOKEN is not set (the app-level token, xapp-..., Socket Mode)")
    async with running_bot(settings, options) as bot:
        runners: list[web.AppRunner] = []
        try:
            if settings.health_port:
                # Probes come from the cluster, so the health port listens on every interface.
                address = ("0.0.0.0", settings.health_port)  # noqa: S104
                runners.append(await serve_app(health_app(bot.store, bot.metrics), *address))
            if options.http is not None:
                web_app = bot.app.web_app(path="/slack/events")
                runners.append(await serve_app(web_app, *options.http))
                log.info("Serving Slack over HTTP", address=f"{options.http[0]}:{options.http[1]}")
                await asyncio.Event().wait()
            elif app_token is not None:
                handler = AsyncSocketModeHandler(bot.app, app_token.get_secret_value())
                await handler.start_async()  # type: ignore[no-untyped-call]  # Bolt is untyped here
        finally:
            for runner in runners:
                await runner.cleanup()
    return 0
