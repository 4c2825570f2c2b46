"""Slack ack latency: the bot vs a bare Bolt app that only acks, over HTTP on loopback.

Both apps get the same signed requests, in the same run, from the same client: a
``/upgrade status`` and a button click (a stale one: refused, so it can be repeated; it goes
through the same parse, store read and state machine as any click). Measured from sending the
request to having Slack's HTTP response: what Slack's 3-second limit counts. Then again while
a whole summit upgrade runs on the bot (a simulated lead approving, steps streaming progress,
messages being edited). Last, the Slack Web API calls that whole run made, against a fake of
the Web API on loopback with the real edit budget (50 edits a minute).

    PYTHONPATH=. .venv/bin/python benchmarks/slack_ack.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.settings import Settings
from bot.logs import configure_logging
from bot.serve import Bot, RunOptions, running_bot
from bot.terminal.leads import SimulatedLead
from integrations.clock import Clock
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.slack_bot import CHANNELS, LEAD, SECRET, sign

SPEED = 2000.0


RESPONSE_URL = "http://127.0.0.1:{port}/response/1"
"""Where the fake Slack takes the answers (set once its port is known)."""


def slash(text: str) -> bytes:
    """A ``/upgrade`` request body as Slack sends it."""
    return urllib.parse.urlencode({
        "command": "/upgrade", "text": text, "user_id": LEAD, "channel_id": "C0SUMMIT",
        "channel_name": "summit-announce", "team_id": "T0RUBIN", "api_app_id": "A0UPGRADE",
        "response_url": RESPONSE_URL, "trigger_id": "t",
    }).encode()  # fmt: skip


def click(value: str) -> bytes:
    """A ``block_actions`` request body pressing a step button."""
    payload = {
        "type": "block_actions", "user": {"id": LEAD}, "team": {"id": "T0RUBIN"},
        "api_app_id": "A0UPGRADE", "trigger_id": "t", "response_url": RESPONSE_URL,
        "container": {"type": "message"}, "channel": {"id": "C0SUMMIT"},
        "actions": [{"type": "button", "action_id": "step.approve", "value": value,
                     "block_id": "b", "action_ts": "1"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


async def latencies(session: aiohttp.ClientSession, url: str, body: bytes, n: int) -> list[float]:
    """Milliseconds from sending each request to its response."""
    out = []
    for _ in range(n):
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
                raise RuntimeError(f"HTTP {response.status}")
        out.append(1000 * (time.perf_counter() - began))
    return out


def bare_app(api: str) -> AsyncApp:
    """The floor: Bolt with signature checks, listeners that only ack."""
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api), signing_secret=SECRET)

    @app.command("/upgrade")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action("step.approve")
    async def action(ack: AsyncAck) -> None:
        await ack()

    return app


def p(values: list[float], q: float) -> float:
    """The ``q`` quantile."""
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def main(n: int) -> None:
    """Measure and print the tables."""
    configure_logging()
    fake = FakeSlack(channels=dict(CHANNELS))
    api_server = TestServer(fake.app(), host="127.0.0.1")
    await api_server.start_server()
    api = f"http://127.0.0.1:{api_server.port}/api/"
    global RESPONSE_URL  # noqa: PLW0603  # the request builders read it
    RESPONSE_URL = RESPONSE_URL.format(port=api_server.port)
    os.environ.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api,
                      UPGRADE_BOT_HEALTH_PORT="0")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(
            simulate=True, speed=SPEED, http=("127.0.0.1", 0), db=Path(tmp) / "bench.db"
        )
        async with running_bot(Settings(), options) as bot:
            rows, calls = await measure(bot, fake, api, n, bot.clock)
    await api_server.close()
    print(f"# {n} requests each, HTTP on loopback, signed; ms")
    print("| request                          | app  |   p50 |   p99 |   max | p50 ratio |")
    print("|----------------------------------|------|-------|-------|-------|-----------|")
    for label, bare, ours in rows:
        for name, values in (("bare", bare), ("bot", ours)):
            ratio = (
                f"{statistics.median(ours) / statistics.median(bare):9.2f}"
                if name == "bot"
                else " " * 9
            )
            median, p99, top = statistics.median(values), p(values, 0.99), max(values)
            print(f"| {label:32} | {name:4} | {median:5.2f} | {p99:5.2f} | {top:5.2f} | {ratio} |")
    print()
    print("| Slack Web API calls, whole summit run (simulated lead, x2000 clock) | count |")
    print("|---------------------------------------------------------------------|-------|")
    for method, count in sorted(calls.items()):
        print(f"| {method:67} | {count:5} |")


async def measure(
    bot: Bot, fake: FakeSlack, api: str, n: int, clock: Clock
) -> tuple[list[tuple[str, list[float], list[float]]], Counter[str]]:
    """The latency rows, and the Web API calls of a whole run."""
    bare = TestServer(bare_app(api).web_app(path="/slack/events"), host="127.0.0.1")
    ours = TestServer(bot.app.web_app(path="/slack/events"), host="127.0.0.1")
    await bare.start_server()
    await ours.start_server()
    bare_url = f"http://127.0.0.1:{bare.port}/slack/events"
    our_url = f"http://127.0.0.1:{ours.port}/slack/events"
    stale = json.dumps({"run": "summit-00000000-000000", "step": "preflight", "rev": 0})
    rows = []
    async with aiohttp.ClientSession() as session:
        for label, body in (("/upgrade status", slash("status")), ("button click", click(stale))):
            await latencies(session, our_url, body, 20)  # warm up (auth.test, caches)
            await latencies(session, bare_url, body, 20)
            rows.append((f"{label}, idle", await latencies(session, bare_url, body, n),
                         await latencies(session, our_url, body, n)))  # fmt: skip
        lead = SimulatedLead(engine=bot.engine, clock=clock, user=LEAD)
        bot.engine.subscribe(lead)
        await bot.engine.open_run(LEAD, "summit", "cycle-upgrade", cycle="c0040",
                                  phalanx_branch="tickets/DM-1")  # fmt: skip
        for label, body in (("/upgrade status", slash("status")), ("button click", click(stale))):
            rows.append((f"{label}, during a run", await latencies(session, bare_url, body, n),
                         await latencies(session, our_url, body, n)))  # fmt: skip
        await lead.finished
        await bot.front.drained()
    await bare.close()
    await ours.close()
    calls = Counter(c.method for c in fake.calls if c.method.startswith(("chat.", "views.")))
    return rows, calls


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
