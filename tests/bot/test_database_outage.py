"""A real ``upgrade-bot run`` on a real PostgreSQL that restarts, then stays down.

Restarted (fast shutdown: every connection cut) the bot reconnects and goes on driving, its
lease renewed on the new server. Down for longer than the lease, the bot cannot renew it and
exits 1, so that its supervisor restarts it (or its standby takes over): it never hangs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer

from tests.support.databases import rows
from tests.support.postgres import postgres
from tests.support.processes import BotProcess
from tests.support.slack_api import FakeSlack
from tests.support.slack_bot import CHANNELS
from tests.support.waiting import until

LEASE = 3.0
"""Seconds of the bot's lease (renewed every second): how long the database may be away."""


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_bot_goes_on_through_a_restart_and_exits_1_when_the_database_stays_down() -> None:
    """Restart: still driving, the lease renewed after it. Down for good: exit 1, in time."""
    with postgres() as server:
        url = server.url(await server.create_database())
        api = TestServer(FakeSlack(channels=dict(CHANNELS)).app(), host="127.0.0.1")
        await api.start_server()
        bot = await BotProcess.start(
            "A", db=url, api_root=f"http://127.0.0.1:{api.port}",
            env={"UPGRADE_BOT_LEASE_SECONDS": str(LEASE)},
        )  # fmt: skip
        try:
            await bot.says("Serving Slack over HTTP")
            server.stop()
            server.start()
            restarted = datetime.now(UTC)

            async def renewed() -> bool:
                [(expires,)] = await rows(url, "SELECT expires_at FROM leases")
                return datetime.fromisoformat(expires).timestamp() > restarted.timestamp() + LEASE

            await until(renewed, limit=30)
            assert bot.process.returncode is None, bot.text()
            assert (await bot.healthz() or (0, {}))[1].get("state") == "driving"
            server.stop()
            assert await bot.exited(limit=60) == 1, bot.text()
            assert bot.said("could not renew the store's lease in time"), bot.text()
        finally:
            await bot.kill()
            await api.close()
