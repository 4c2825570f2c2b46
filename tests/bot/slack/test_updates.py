"""The edit budget: edits merged, 429s waited out, against the Slack Web API fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.refs import MessageRef
from bot.slack.updates import Updates
from tests.support.slack_api import TOKEN, FakeSlack


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    """The fake Slack API on loopback and a client for it."""
    slack = FakeSlack(channels={"summit-announce": "C0SUMMIT"})
    server = TestServer(slack.app(), host="127.0.0.1")
    await server.start_server()
    client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{server.port}/api/")
    try:
        yield slack, client
    finally:
        await server.close()


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
