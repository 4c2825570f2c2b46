"""``/healthz`` and ``/metrics``: a small aiohttp server beside the bot.

``/healthz`` answers whether this process can drive its store: the store answers, the
store's lease is this bot's, and every worker runs (503 otherwise, with what is wrong). It
does not look at the observatory (that is ``/upgrade check``): a LOVE outage must never get
the bot restarted. A bot standing by for the lease is healthy (it waits, as asked); one that
stops is not. Checks as pings, each with a timeout, every one reported (as svcs does).
``/metrics`` is the Prometheus exposition of :mod:`bot.service.metrics`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web

from bot.config.file import ConfigError
from bot.service.lease import Lease
from bot.service.metrics import Metrics
from bot.service.supervisor import Supervisor
from state.store import Store

log = structlog.get_logger("upgrade_bot.health")

PING_TIMEOUT = 5.0
"""Seconds the store may take to answer the health check."""
SHUTDOWN_TIMEOUT = 2.0
"""Seconds a request under way may take to finish when a server stops (Slack's are acked
within 3 s of arriving, their work goes on in the engine)."""


@dataclass(frozen=True)
class Driving:
    """What a bot that drives its store is checked on."""

    store: Store
    lease: Lease
    workers: Supervisor


class Health:
    """The process's health: starting, standing by, driving (then checked), or stopping."""

    def __init__(self) -> None:
        """Starting: nothing to check yet; the bot's metrics, empty."""
        self.state = "starting"
        self.metrics = Metrics()
        self._driving: Driving | None = None

    def waiting(self, why: str) -> None:
        """Not driving yet: waiting for the store's lease, or taking it over (healthy)."""
        self.state = why
        log.info(why)

    def drive(self, driving: Driving) -> None:
        """The bot holds the lease and runs its workers: check them from now on."""
        self._driving = driving
        self.state = "driving"

    def stopping(self) -> None:
        """A graceful stop began: not healthy any more (take no new work here)."""
        self._driving = None
        self.state = "stopping"

    async def check(self) -> tuple[bool, dict[str, object]]:
        """Whether the process is healthy, and what each check found."""
        driving = self._driving
        if driving is None:
            return self.state != "stopping", {"state": self.state}
        try:
            await asyncio.wait_for(driving.store.ping(), PING_TIMEOUT)
            store = "ok"
            lease = await asyncio.wait_for(driving.lease.check(), PING_TIMEOUT) or "held"
        except Exception as e:  # noqa: BLE001  # any failure of the store is "unhealthy"
            store = lease = f"{type(e).__name__}: {e}"
        workers = {
            name: "running" if up else "dead" for name, up in driving.workers.alive().items()
        }
        ok = store == "ok" and lease == "held" and "dead" not in workers.values()
        return ok, {"state": self.state, "store": store, "lease": lease, "workers": workers}


def health_app(health: Health) -> web.Application:
    """The health and metrics endpoints."""

    async def healthz(_request: web.Request) -> web.Response:
        ok, found = await health.check()
        return web.json_response({"ok": ok, **found}, status=200 if ok else 503)

    async def render(request: web.Request) -> web.Response:
        body, content_type = health.metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", render)
    return app


async def serve_app(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app`` on ``host:port``; clean the returned runner up to stop.

    A port that is taken (or a host this machine does not have) is a :class:`ConfigError`,
    one line for the person who started the bot.
    """
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:  # asyncio words it "error while attempting to bind on ...: <why>"
        await runner.cleanup()
        why = os.strerror(e.errno).lower() if e.errno else str(e)
        raise ConfigError(f"cannot listen on {host}:{port}: {why}") from e
    return runner


def bound(runner: web.AppRunner) -> Mapping[str, object]:
    """Where ``runner`` listens (port 0 asks the system for one), for the log."""
    return {"address": ", ".join(f"{a[0]}:{a[1]}" for a in runner.addresses)}
