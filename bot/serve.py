"""``upgrade-bot run``: the bot in a Slack workspace (Socket Mode, or HTTP with ``--http``).

Composition only: the store, the engine with the site systems (``--simulate``: the simulated
observatory, a full rehearsal in a real workspace), the Slack front end, the Bolt app with the
listeners of ``handlers/``, the ticker, and a small HTTP server for ``/healthz``. On start it
picks every open run up from the store and refreshes its messages: an interrupted step shows
Retry / Mark done, and the lead decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, load_config
from bot.engine import Change, Engine, RunChanged
from bot.metrics import Metrics
from bot.operations import Operations
from bot.runners import SiteSystems
from bot.runners.preflight import ping_all
from bot.scheduler import Ticker
from bot.settings import Settings
from bot.simulated import simulated_site
from bot.sites import SiteConfig
from bot.slack_front import CALL_TIMEOUT, SlackAnnouncer, SlackFront, Updates
from bot.systems import NotConfigured, real_site
from handlers.slack import register
from integrations.announce import Announcer
from integrations.clock import Clock, WallClock
from integrations.sim import Release, SimObservatory
from state.events import RunStarted
from state.procedure import Site, load_procedure
from state.store import Store

log = structlog.get_logger("upgrade_bot.serve")

LEASE = timedelta(seconds=30)
"""How long the lease on the store lasts unless renewed (a crashed bot frees it after this)."""
STANDBY_POLL = 5.0
"""Seconds between a standby's tries for the lease."""

REHEARSAL = Release(cycle="rehearsal", phalanx_branch="tickets/rehearsal")
"""What the simulated GitHub holds in a ``--simulate`` rehearsal."""


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


def build_app(settings: Settings, *, http: bool) -> AsyncApp:
    """The Bolt app with its Web API client on ``SLACK_API_URL`` (listeners added later)."""
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    secret = settings.slack_signing_secret
    if http and secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request")
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(CALL_TIMEOUT),
    )
    return AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=http,
    )


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
    store = await Store.open(settings.store_url(options.db))
    try:
        lease = await _lease(store, standby=options.standby)
    except BaseException:
        await store.aclose()
        raise
    clock = clock or WallClock()
    announcer = SlackAnnouncer(client=app.client, sites=sites, store=store)
    systems, observatories, closers = await _site_systems(
        sites, simulate=options.simulate, store=store, clock=clock, announcer=announcer
    )
    if not systems:
        await store.release_lease("run", lease)
        await store.aclose()
        raise ConfigError(
            "no site is configured for real runs (`upgrade-bot config validate` says what is "
            "missing); --simulate rehearses against the simulated observatory"
        )
    engine = Engine(
        store=store,
        procedure=procedure,
        sites=sites,
        systems=systems,
        clock=clock,
        admins=config.admins,
    )
    updates = Updates(app.client, per_minute=edits_per_minute)
    front = SlackFront(client=app.client, store=store, sites=sites, updates=updates, clock=clock)
    engine.subscribe(front)
    if observatories:
        engine.subscribe(Rehearsal(observatories))
    metrics = Metrics(updates)
    engine.subscribe(metrics)

    checker = _checker(systems)
    ops = Operations(engine=engine, sites=sites, starters=config.starters, check=checker)
    register(app, ops, sites)
    ticker = Ticker(engine=engine, interval=tick)
    workers = [
        asyncio.create_task(updates.run()),
        asyncio.create_task(front.run()),
        asyncio.create_task(_renew(store, lease)),
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
        for close in closers:
            await close()
        await store.release_lease("run", lease)
        await store.aclose()


class Rehearsal:
    """In a rehearsal, the simulated GitHub holds the cycle and branch each run names."""

    def __init__(self, observatories: Mapping[Site, SimObservatory]) -> None:
        """One observatory per site."""
        self._observatories = observatories

    async def __call__(self, change: Change) -> None:
        """The engine's listener: a run started."""
        if isinstance(change, RunChanged) and any(isinstance(e, RunStarted) for e in change.events):
            run = change.run
            release = Release(
                cycle=run.cycle or REHEARSAL.cycle,
                phalanx_branch=run.phalanx_branch or REHEARSAL.phalanx_branch,
            )
            await self._observatories[run.site].set_release(release)


async def _site_systems(
    sites: Mapping[Site, SiteConfig],
    *,
    simulate: bool,
    store: Store,
    clock: Clock,
    announcer: Announcer,
) -> tuple[
    dict[Site, SiteSystems], dict[Site, SimObservatory], list[Callable[[], Awaitable[None]]]
]:
    """Each site's systems: simulated, or the real clients of the sites configured for them."""
    systems: dict[Site, SiteSystems] = {}
    observatories: dict[Site, SimObservatory] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    for name, site in sites.items():
        if simulate:
            observatories[name], systems[name] = await simulated_site(
                site, clock=clock, store=store, release=REHEARSAL, announcer=announcer
            )
            continue
        try:
            real = real_site(site, announcer)
        except NotConfigured as e:  # that site's runs are refused; the others go on
            log.warning("Site not configured for real runs", problem=str(e))
            continue
        systems[name] = real.systems
        closers.append(real.close)
    return systems, observatories, closers


def _checker(
    systems: Mapping[Site, SiteSystems],
) -> Callable[[Site], Awaitable[Mapping[str, str | None]]]:
    """``/upgrade check``: ping the site's systems (or say it has none here)."""

    async def check(site: Site) -> Mapping[str, str | None]:
        if site not in systems:
            return {"configuration": f"{site} is not configured for real runs on this bot"}
        return await ping_all(systems[site])

    return check


def _holder() -> str:
    """Who this bot is: its host, pid and a token of its own (two bots may share a process)."""
    return f"{socket.gethostname()} pid {os.getpid()} [{secrets.token_hex(3)}]"


async def _lease(store: Store, *, standby: bool) -> str:
    """Take the store's lease (one bot drives a store), or wait for it as a standby."""
    holder = _holder()
    while (taken := await store.take_lease("run", holder, datetime.now(UTC), LEASE)) is not None:
        if not standby:
            raise ConfigError(
                f"another upgrade-bot drives this store: {taken}. Stop it, or start this one "
                "with --standby to take over when it stops."
            )
        log.info("Standby: another bot holds the store", holder=taken)
        await asyncio.sleep(STANDBY_POLL)
    return holder


async def _renew(store: Store, holder: str) -> None:
    """Keep the lease while running; losing it (a long stall) is logged loudly."""
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        taken = await store.take_lease("run", holder, datetime.now(UTC), LEASE)
        if taken is not None:
            log.critical("Lost the store's lease: another bot may drive these runs", holder=taken)


def health_app(bot: Bot) -> web.Application:
    """``/healthz`` (the process and the store answer; not the observatory) and ``/metrics``."""

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(bot.store.ping(), 5)
        except Exception as e:  # noqa: BLE001  # any failure of the store is "unhealthy"
            return web.json_response({"ok": False, "store": str(e)}, status=503)
        return web.json_response({"ok": True, "store": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(text=bot.metrics.render(), content_type="text/plain", charset="utf-8")

    health = web.Application()
    health.router.add_get("/healthz", healthz)
    health.router.add_get("/metrics", metrics)
    return health


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
                runners.append(await _serve(health_app(bot), *address))
            if options.http is not None:
                runners.append(await _serve(bot.app.web_app(path="/slack/events"), *options.http))
                log.info("Serving Slack over HTTP", address=f"{options.http[0]}:{options.http[1]}")
                await asyncio.Event().wait()
            elif app_token is not None:
                handler = AsyncSocketModeHandler(bot.app, app_token.get_secret_value())
                await handler.start_async()  # type: ignore[no-untyped-call]  # Bolt is untyped here
        finally:
            for runner in runners:
                await runner.cleanup()
    return 0


async def _serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
