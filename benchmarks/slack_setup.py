"""The bot over HTTP on loopback against the fake Slack Web API, with Slack's real edit tier.

Shared by the Slack benchmarks. The edit budget is the production one (50 ``chat.update`` a
minute, :mod:`bot.slack.updates`): a benchmark of what people see must not buy its figures
with a faster Slack than the real one.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bot.config.settings import Settings
from bot.serve import Bot, RunOptions, running_bot
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.slack_bot import CHANNELS, SECRET, sign


@dataclass(frozen=True)
class Served:
    """The running bot, the fake Slack it talks to, and the URLs of both."""

    bot: Bot
    fake: FakeSlack
    api: str
    """The fake's Web API base URL (``.../api/``)."""
    events: str
    """The bot's ``/slack/events``."""
    root: str
    """The fake's root URL (response URLs live under it)."""


@asynccontextmanager
async def served_bot(speed: float, edits_per_minute: float = 50.0) -> AsyncIterator[Served]:
    """A rehearsal bot (simulated observatory at ``speed``) served over HTTP, and its Slack.

    ``edits_per_minute``: Slack's tier, unless a smoke test wants it over sooner.
    """
    fake = FakeSlack(channels=dict(CHANNELS))
    api_server = TestServer(fake.app(), host="127.0.0.1")
    await api_server.start_server()
    root = f"http://127.0.0.1:{api_server.port}"
    os.environ.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                      SLACK_API_URL=f"{root}/api/", UPGRADE_BOT_HEALTH_PORT="0")  # fmt: skip
    os.environ.pop("UPGRADE_BOT_CONFIG", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            options = RunOptions(
                simulate=True, speed=speed, http=("127.0.0.1", 0), db=Path(tmp) / "bench.db"
            )
            async with running_bot(Settings(), options, edits_per_minute=edits_per_minute) as bot:
                server = TestServer(bot.app.web_app(path="/slack/events"), host="127.0.0.1")
                await server.start_server()
                try:
                    events = f"http://127.0.0.1:{server.port}/slack/events"
                    yield Served(bot, fake, f"{root}/api/", events, root)
                finally:
                    await server.close()
    finally:
        await api_server.close()


async def signed_post(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    """Send a signed request; milliseconds to its response (the ack)."""
    ts = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, ts),
    }
    began = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
    return 1000 * (time.perf_counter() - began)
