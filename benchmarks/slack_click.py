"""Click to screen: a lead's click to the step's message edited in Slack, three sites at once.

What the lead perceives: from sending a signed click on a real run's current step (the button
the bot suggests: Approve, Mark done for a step done by hand, Retry...; for Mark done, from
sending the form it opens, with its note) to the moment the fake
Slack Web API answers the ``chat.update`` that changes that message (the button gone, the step
moving on). The click goes
through Bolt, the handler, the state machine and the store, then the front and the edit budget
with Slack's real tier (50 ``chat.update`` a minute, Tier 3, per app: the bot's own progress
edits keep three tokens for the clicks, see ``bot/slack/updates.py``). Runs go on all three
sites at once, on the simulated observatory; each site's lead reads for a few seconds (``--think``)
before clicking, as a person does, so that the clicks do not exceed the tier by themselves.

Baseline, same click: its body is sent, signed, to a bare Bolt app whose listener only acks
(the floor of any Bolt app), and to the bot; both acks are timed (Slack's 3-second limit counts
the ack). The bare app has no screen to change, so click-to-screen has no baseline but its goal:
p99 under 1 s.

    .venv/bin/python -m benchmarks.slack_click [--rounds 4] [--think 8 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, get_args

import aiohttp
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.slack_setup import Served, served_bot, signed_post
from benchmarks.stats import summary_row
from bot.logs import configure_logging
from state.names import Site
from tests.support.slack_api import TOKEN
from tests.support.slack_bot import LEAD, SECRET, who

SPEED = 1000.0
"""Simulated time at x1000: the observatory's minutes pass in tenths of a second."""

CHANNELS: dict[Site, tuple[str, str]] = {
    "summit": ("C0SUMMIT", "summit-announce"),
    "tts": ("C0TTS", "tucson-teststand"),
    "bts": ("C0BTS", "base-teststand"),
}
LEAD_ACTIONS = re.compile(r"^step\.")
"""The buttons of a step; the lead presses the one the bot suggests (its primary button:
Approve, Mark done, Retry, Keep waiting...)."""


@dataclass
class Clicks:
    """What was measured, click by click (milliseconds)."""

    screen: list[float] = field(default_factory=list)
    ack_bot: list[float] = field(default_factory=list)
    ack_bare: list[float] = field(default_factory=list)


def bare_app(api: str) -> AsyncApp:
    """The floor: Bolt with the signature check, a listener that only acks."""
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api), signing_secret=SECRET)

    @app.action(LEAD_ACTIONS)
    async def pressed(ack: AsyncAck) -> None:
        await ack()

    return app


def _values(node: Any) -> Iterator[str]:  # noqa: ANN401  # any JSON
    """Every button value in a message's blocks."""
    if isinstance(node, dict):
        if node.get("type") == "button" and "value" in node:
            yield str(node["value"])
        for child in node.values():
            yield from _values(child)
    elif isinstance(node, list):
        for child in node:
            yield from _values(child)


def _shown(served: Served) -> dict[tuple[str, str], list[Any]]:
    """The blocks every message shows now, by (channel, ts)."""
    latest: dict[tuple[str, str], list[Any]] = {}
    for call in served.fake.calls:
        if call.method in {"chat.postMessage", "chat.update"} and call.answer.get("ok"):
            latest[(call.answer["channel"], call.answer["ts"])] = call.params.get("blocks", [])
    return latest


def _button(
    served: Served, channel: str, run_id: str, done: set[str]
) -> tuple[str, dict[str, Any]] | None:
    """A lead's button of the run now shown and not pressed yet: (message ts, button)."""
    for (where, ts), blocks in _shown(served).items():
        if where != channel:
            continue
        for block in blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                value = str(element.get("value", ""))
                if (
                    LEAD_ACTIONS.match(str(element.get("action_id", "")))
                    and element.get("style") == "primary"
                    and value not in done
                    and json.loads(value).get("run") == run_id
                ):
                    return ts, element
    return None


def _form(view: dict[str, Any], note: str) -> bytes:
    """The lead's answer to the "Mark done" form: what was done, in its required note."""
    payload = {
        "type": "view_submission", "team": {"id": "T0RUBIN"}, "user": who(LEAD),
        "api_app_id": "A0UPGRADE", "trigger_id": f"t-{time.monotonic_ns()}",
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"],
                 "state": {"values": {"reason": {"value": {"type": "plain_text_input",
                                                           "value": note}}}}},
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


async def _opened(served: Served, before: int) -> dict[str, Any]:
    """The form the click opened (``views.open`` number ``before + 1``)."""
    while True:
        if len(opened := served.fake.of("views.open")) > before:
            return dict(opened[before]["view"])
        await asyncio.sleep(0.01)  # polls the fake's log, as _edited does


def _body(button: dict[str, Any], channel: str, name: str, response_url: str) -> bytes:
    payload = {
        "type": "block_actions", "user": who(LEAD), "api_app_id": "A0UPGRADE",
        "team": {"id": "T0RUBIN", "domain": "rubin-obs"},
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": name}, "trigger_id": f"t-{time.monotonic_ns()}",
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                     "value": button["value"], "action_ts": f"{time.time():.6f}"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


async def _edited(served: Served, channel: str, ts: str, value: str, since: float) -> float:
    """When the message was first edited without the pressed button (perf_counter seconds)."""
    while True:
        for call in served.fake.calls:
            if (call.method == "chat.update" and call.at > since and call.answer.get("ok")
                    and (call.answer["channel"], call.answer["ts"]) == (channel, ts)
                    and value not in set(_values(call.params.get("blocks", [])))):  # fmt: skip
                return call.at
        await asyncio.sleep(0.01)  # polls the fake's log; the time is the fake's own stamp


async def lead(
    served: Served,
    site: Site,
    bare: str,
    think: tuple[float, float],
    clicks: Clicks,
    rng: random.Random,
) -> None:
    """Drive one site's run to its end, as its lead: read, click, see the message change."""
    channel, name = CHANNELS[site]
    run = await served.bot.engine.open_run(
        LEAD, site, "cycle-upgrade", cycle="c0040", phalanx_branch="tickets/DM-1"
    )
    done: set[str] = set()
    async with aiohttp.ClientSession() as session:
        while await served.bot.store.open_run(site) is not None:
            found = _button(served, channel, run.run_id, done)
            if found is None:
                await asyncio.sleep(0.05)
                continue
            ts, button = found
            await asyncio.sleep(rng.uniform(*think))  # the lead reads the message
            body = _body(button, channel, name, f"{served.root}/response/1")
            forms = len(served.fake.of("views.open"))
            since = time.perf_counter()
            clicks.ack_bot.append(await signed_post(session, served.events, body))
            if button["action_id"] == "step.mark_done":  # a form asks what was done
                form = _form(await _opened(served, forms), "done by hand, as the page says")
                await asyncio.sleep(rng.uniform(*think) / 4)  # the lead types the note
                since = time.perf_counter()  # the screen changes when the form is sent
                await signed_post(session, served.events, form)
            clicks.screen.append(
                1000 * (await _edited(served, channel, ts, button["value"], since) - since)
            )
            clicks.ack_bare.append(await signed_post(session, bare, body))
            done.add(button["value"])


async def measure(
    rounds: int,
    think: tuple[float, float],
    *,
    sites: tuple[Site, ...] = get_args(Site),
    edits_per_minute: float = 50.0,
    seed: int = 19,
) -> Clicks:
    """``rounds`` of a run per site at once, each click measured (smoke tests: fewer, faster)."""
    configure_logging()
    clicks = Clicks()
    rng = random.Random(seed)
    async with served_bot(SPEED, edits_per_minute) as served:
        bare_server = TestServer(
            bare_app(served.api).web_app(path="/slack/events"), host="127.0.0.1"
        )
        await bare_server.start_server()
        bare = f"http://127.0.0.1:{bare_server.port}/slack/events"
        try:
            for _ in range(rounds):
                await asyncio.gather(
                    *(lead(served, site, bare, think, clicks, rng) for site in sites)
                )
        finally:
            await bare_server.close()
    return clicks


def table(
    rounds: int,
    think: tuple[float, float],
    sites: tuple[Site, ...] = get_args(Site),
    edits_per_minute: float = 50.0,
) -> list[str]:
    """The Markdown table (smoke tests: fewer sites, a faster Slack)."""
    clicks = asyncio.run(measure(rounds, think, sites=sites, edits_per_minute=edits_per_minute))
    head = f"click on a real run's current step, 3 sites at once ({rounds} rounds)"
    return [
        f"| {head} | n | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        summary_row("ack, bare Bolt app (baseline: only acks)", clicks.ack_bare),
        summary_row("ack, the bot", clicks.ack_bot),
        summary_row("click to screen, the bot (goal: p99 < 1000)", clicks.screen),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--think", type=float, nargs=2, default=(8.0, 16.0), metavar=("MIN", "MAX"))
    args = parser.parse_args()
    print("\n".join(table(args.rounds, tuple(args.think))))
