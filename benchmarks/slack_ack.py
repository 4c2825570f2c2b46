"""Slack ack latency of ``/upgrade status``: the bot vs a bare Bolt app, and a run's Web API calls.

Both apps get the same signed ``/upgrade status`` requests, in the same run, from the same
client, measured from sending the request to Slack's HTTP response (what Slack's 3-second limit
counts): idle, then while a whole summit upgrade runs on the bot (a simulated lead approving,
steps streaming progress, messages being edited). The bare app's listener only acks: the floor
of any Bolt app, and fair because both parse and check the signature the same way. Last, the
Slack Web API calls that whole run made, against the fake Web API on loopback with the real
edit budget (50 edits a minute). Clicks are timed on real runs by ``benchmarks/slack_click.py``
(a click on a stale button, as this script once sent, stops before the state machine).

    .venv/bin/python -m benchmarks.slack_ack [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import urllib.parse
from collections import Counter

import aiohttp
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.slack_setup import served_bot, signed_post
from benchmarks.stats import summary_row
from bot.logs import configure_logging
from bot.serve import Bot
from bot.terminal.leads import SimulatedLead
from integrations.clock import Clock
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.slack_bot import LEAD, SECRET

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


async def latencies(session: aiohttp.ClientSession, url: str, body: bytes, n: int) -> list[float]:
    """Milliseconds from sending each request to its response."""
    return [await signed_post(session, url, body) for _ in range(n)]


def bare_app(api: str) -> AsyncApp:
    """The floor: Bolt with signature checks, listeners that only ack."""
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api), signing_secret=SECRET)

    @app.command("/upgrade")
    async def command(ack: AsyncAck) -> None:
        await ack()

    return app


def table(n: int, edits_per_minute: float = 50.0) -> list[str]:
    """The Markdown tables (``edits_per_minute``: Slack's tier unless a smoke test's)."""
    rows, calls = asyncio.run(_measure_all(n, edits_per_minute))
    lines = [
        f"| request ({n} each, HTTP on loopback, signed) | app | n | p50 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, bare, ours in rows:
        lines.append(summary_row(f"{label} | bare", bare))
        ratio = statistics.median(ours) / statistics.median(bare)
        lines.append(summary_row(f"{label} | bot (p50 {ratio:.2f}x bare)", ours))
    lines += [
        "",
        f"| Slack Web API calls, whole summit run (simulated lead, x{SPEED:g}) | count |",
        "|---|---:|",
    ]
    lines += [f"| {method} | {count} |" for method, count in sorted(calls.items())]
    return lines


async def _measure_all(
    n: int, edits_per_minute: float
) -> tuple[list[tuple[str, list[float], list[float]]], Counter[str]]:
    configure_logging()
    async with served_bot(SPEED, edits_per_minute) as served:
        global RESPONSE_URL  # noqa: PLW0603  # the request builders read it
        RESPONSE_URL = f"{served.root}/response/1"
        return await measure(served.bot, served.fake, served.api, n, served.bot.clock)


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
    rows = []
    async with aiohttp.ClientSession() as session:
        body = slash("status")
        await latencies(session, our_url, body, 20)  # warm up (auth.test, caches)
        await latencies(session, bare_url, body, 20)
        rows.append(("/upgrade status, idle", await latencies(session, bare_url, body, n),
                     await latencies(session, our_url, body, n)))  # fmt: skip
        lead = SimulatedLead(engine=bot.engine, clock=clock, user=LEAD)
        bot.engine.subscribe(lead)
        await bot.engine.open_run(LEAD, "summit", "cycle-upgrade", cycle="c0040",
                                  phalanx_branch="tickets/DM-1")  # fmt: skip
        rows.append(("/upgrade status, during a run", await latencies(session, bare_url, body, n),
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
    print("\n".join(table(parser.parse_args().requests)))
