"""``/healthz`` and ``/metrics``: a small aiohttp server beside the bot.

``/healthz`` answers whether the process and its store answer (not the observatory: that is
``/upgrade check``); ``/metrics`` is the Prometheus text of :mod:`bot.service.metrics`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.service.metrics import Metrics
from state.store import Store


def health_app(store: Store, metrics: Metrics) -> web.Application:
    """The health and metrics endpoints."""

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(store.ping(), 5)
        except Exception as e:  # noqa: BLE001  # any failure of the store is "unhealthy"
            return web.json_response({"ok": False, "store": str(e)}, status=503)
        return web.json_response({"ok": True, "store": "ok"})

    async def render(_request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8")

    health = web.Application()
    health.router.add_get("/healthz", healthz)
    health.router.add_get("/metrics", render)
    return health


async def serve_app(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app`` on ``host:port``; clean the returned runner up to stop."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
