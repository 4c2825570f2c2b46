"""The edit budget against the Slack Web API fake: merged, unchanged not sent, paced, fair.

Also what Slack's trouble does to it: 429s waited out, dropped connections sent again later,
a refused token ending the worker with the error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import SlackUnusable, retry_handlers
from bot.slack.refs import MessageRef
from bot.slack.updates import Updates
from tests.support.slack_api import FakeSlack, served
from tests.support.waiting import until


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    """The fake Slack API on loopback and a client for it."""
    slack = FakeSlack(channels={"summit-announce": "C0SUMMIT"})
    async with served(slack) as client:
        yield slack, client


@pytest.mark.asyncio
async def test_edits_of_one_message_are_merged(fake: tuple[FakeSlack, AsyncWebClient]) -> None:
    """Ten edits of a message while one is being sent: the latest goes, not all ten."""
    slack, client = fake
    updates = Updates(client, per_minute=600)
    worker = asyncio.create_task(updates.run())
    ref = MessageRef("C0SUMMIT", "1764000000.000001")
    try:
        for i in range(10):
            updates.submit(ref, f"edit {i}", [])
        await asyncio.wait_for(updates.drained(), 10)
    finally:
        worker.cancel()
    sent = [p["text"] for p in slack.of("chat.update")]
    assert sent[-1] == "edit 9"
    assert len(sent) < 10
    assert updates.merged == 10 - len(sent)


@pytest.mark.asyncio
async def test_a_429_is_waited_out_and_nothing_is_lost(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """HTTP 429 with Retry-After: 1: the edit is sent again after a second, once."""
    slack, client = fake
    client.retry_handlers.clear()  # the budget, not the SDK, handles rate limits here
    slack.limit_next["chat.update"] = 1
    updates = Updates(client, per_minute=6000)
    worker = asyncio.create_task(updates.run())
    began = time.monotonic()
    try:
        updates.submit(MessageRef("C0SUMMIT", "1764000000.000001"), "after the limit", [])
        await asyncio.wait_for(updates.drained(), 10)
    finally:
        worker.cancel()
    assert time.monotonic() - began >= 1.0
    assert [p["text"] for p in slack.of("chat.update")] == ["after the limit"]
    assert (updates.limited, updates.sent) == (1, 1)


async def sent_by(
    slack: FakeSlack, updates: Updates, submit: Callable[[], None], count: int
) -> list[dict[str, Any]]:
    """Submit edits before the worker starts, let it send ``count``: what it sent, in order."""
    submit()
    worker = asyncio.create_task(updates.run())
    try:
        await until(lambda: len(slack.of("chat.update")) >= count)
        await asyncio.wait_for(updates.drained(), 10)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    return slack.of("chat.update")


def ref(ts: int, channel: str = "C0SUMMIT") -> MessageRef:
    return MessageRef(channel, f"1764000000.{ts:06d}")


@pytest.mark.asyncio
async def test_an_edit_that_changes_nothing_is_not_sent(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """What was just posted, or last sent, is not sent again; a change is."""
    slack, client = fake
    updates = Updates(client, per_minute=6000)
    updates.posted(ref(1), "posted", [])

    def submit() -> None:
        updates.submit(ref(1), "posted", [])  # as posted
        updates.submit(ref(2), "new", [])
        updates.submit(ref(2), "newer", [])

    sent = await sent_by(slack, updates, submit, 1)
    worker = asyncio.create_task(updates.run())
    try:
        updates.submit(ref(2), "newer", [])  # as last sent
        await asyncio.wait_for(updates.drained(), 10)
    finally:
        worker.cancel()
    assert [(p["ts"], p["text"]) for p in sent] == [(ref(2).ts, "newer")]
    assert (updates.sent, updates.unchanged, updates.merged) == (1, 2, 1)


@pytest.mark.asyncio
async def test_edits_are_paced_by_a_token_bucket(fake: tuple[FakeSlack, AsyncWebClient]) -> None:
    """Ten edits at 600 a minute with a burst of 3: three at once, then one every 0.1 s."""
    slack, client = fake
    updates = Updates(client, per_minute=600, burst=3)
    began = time.monotonic()

    def submit() -> None:
        for i in range(10):
            updates.submit(ref(i), "x", [])

    await sent_by(slack, updates, submit, 10)
    assert time.monotonic() - began >= (10 - 3) * 0.1 - 0.05  # never faster than the tier
    assert updates.sent == 10


@pytest.mark.asyncio
async def test_the_message_clicked_goes_first_and_sites_take_turns(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """An urgent edit (a click) first; then the channels in turn, not one after the other."""
    slack, client = fake
    slack.add_channel("tucson-teststand", "C0TTS")
    updates = Updates(client, per_minute=60_000)

    def submit() -> None:
        for i in range(8):  # the summit's live progress
            updates.submit(ref(i), f"summit {i}", [])
        updates.submit(ref(100, "C0TTS"), "tts 1", [])
        updates.submit(ref(101, "C0TTS"), "tts 2", [])
        updates.submit(ref(7), "summit clicked", [], urgent=True)

    sent = [p["text"] for p in await sent_by(slack, updates, submit, 10)]
    assert sent[0] == "summit clicked"
    assert sent[1:5] == ["summit 0", "tts 1", "summit 1", "tts 2"]


@pytest.mark.asyncio
async def test_edits_dropped_by_the_network_arrive_later(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """Connections dropped past the SDK's retries: the edit waits, then goes; nothing lost."""
    slack, client = fake
    client.retry_handlers[:] = retry_handlers(backoff=0.01)
    slack.drop_next["chat.update"] = 4  # one call given up (three tries), then a retried one
    updates = Updates(client, per_minute=60_000, out_of_reach=0.1)
    sent = await sent_by(slack, updates, lambda: updates.submit(ref(1), "latest", []), 1)
    assert [p["text"] for p in sent] == ["latest"]
    assert slack.dropped == ["chat.update"] * 4
    assert (updates.failed, updates.sent) == (1, 1)
    assert updates.error is None


@pytest.mark.asyncio
async def test_a_refused_token_ends_the_worker_with_the_error(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """``token_revoked``: the worker's task ends with SlackUnusable, and says it is not alive."""
    slack, client = fake
    slack.fail_next["chat.update"] = ["token_revoked"]
    updates = Updates(client, per_minute=60_000)
    updates.submit(ref(1), "x", [])
    worker = asyncio.create_task(updates.run())
    with pytest.raises(SlackUnusable, match="token_revoked"):
        await asyncio.wait_for(worker, 10)
    assert not updates.alive
    assert isinstance(updates.error, SlackUnusable)


@pytest.mark.asyncio
async def test_a_click_does_not_wait_for_the_refill_behind_live_progress(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """The bot's own edits leave the last tokens of the burst: the clicks' edits take them.

    At 6 edits a minute a token comes every 10 s; the live progress spends one of the four at
    once and then waits, so three sites' leads clicking at once (one urgent edit each: the
    step they moved) see them sent next, not behind the progress 10, 20 and 30 s later.
    """
    slack, client = fake
    slack.add_channel("tucson-teststand", "C0TTS")
    slack.add_channel("base-teststand", "C0BTS")
    updates = Updates(client, per_minute=6, burst=4)
    worker = asyncio.create_task(updates.run())
    try:
        for i in range(8):  # a site's live progress
            updates.submit(ref(i), f"progress {i}", [])
        await until(lambda: len(slack.of("chat.update")) >= 1)
        assert len(slack.of("chat.update")) == 1  # the last three tokens are kept
        updates.submit(ref(7), "summit clicked", [], urgent=True)
        updates.submit(ref(100, "C0TTS"), "tts clicked", [], urgent=True)
        updates.submit(ref(200, "C0BTS"), "bts clicked", [], urgent=True)
        await until(lambda: len(slack.of("chat.update")) >= 4)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    sent = [p["text"] for p in slack.of("chat.update")]
    assert sent == ["progress 0", "summit clicked", "tts clicked", "bts clicked"]
