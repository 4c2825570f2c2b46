"""The pieces of the Slack surface on their own: the parser, the edit budget, the rendering."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import get_args

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.render import MAX_BLOCKS, SECTION, step_message
from bot.sites import default_sites
from bot.slack_front import MessageRef, Updates
from handlers import parse
from state.run import StepStatus
from tests.support.runs import started
from tests.support.slack_api import TOKEN, FakeSlack


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("", parse.Help()),
        ("start summit", parse.Start("summit")),
        ("START tts system-restart cycle=c0040 branch=tickets/DM-1",
         parse.Start("tts", "system-restart", "c0040", "tickets/DM-1")),
        ("status", parse.Status()),
        ("check bts", parse.Check("bts")),
        ("status bts share", parse.Status("bts", share=True)),
        ("handover <@U0123ABC|bob>", parse.Handover("U0123ABC")),
        ("takeover summit Ana is off shift", parse.Takeover("summit", "Ana is off shift")),
        ("pause", parse.Pause()),
        ("note  MTDome  fixed by hand ", parse.Note("MTDome  fixed by hand")),
        ("abort", parse.Abort()),
        ("abort dome stuck", parse.Abort("dome stuck")),
    ],
)  # fmt: skip
def test_commands_parse(text: str, request_: parse.Request) -> None:
    """Each subcommand as typed."""
    assert parse.parse_command(text) == request_


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("start", "which site?"),
        ("start moon", "unknown site 'moon'"),
        ("start summit cycle-upgrade system-restart", "give the kind once"),
        ("start summit color=red", "only `cycle=` and `branch=`"),
        ("start summit cycle=;rm", "not a tag or branch name"),
        ("handover bob", "mention one person"),
        ("takeover summit", "say why"),
        ("check", "`/upgrade check <site>`"),
        ("pause now", "takes nothing more"),
        ("note", "the note is empty"),
        ("status summit tts", "/upgrade status [site] [share]"),
        ("reboot summit", "unknown command 'reboot'"),
    ],
)
def test_bad_commands_say_what_is_wrong(text: str, words: str) -> None:
    """A usage error names the problem."""
    with pytest.raises(parse.UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse.parse_command(text)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    """Garbage never crashes the parser: a request, or a usage error with a message."""
    try:
        request: object = parse.parse_command(text)
    except parse.UsageError as e:
        request = e
    if isinstance(request, parse.UsageError):
        assert str(request)
    else:
        assert isinstance(request, get_args(parse.Request))


def test_a_step_message_stays_within_slack_limits() -> None:
    """Thousands of CSCs in trouble and a huge progress line: under 50 blocks, 3000 chars."""
    run = started(site="summit")
    state = run.steps[0].model_copy(
        update={
            "status": StepStatus.RUNNING,
            "issues": tuple(f"ESS:{i} STANDBY, beating" for i in range(5000)),
            "outcome": "x" * 10_000,
        }
    )
    text, blocks = step_message(run, state, default_sites()["summit"], "y" * 10_000)
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        body = block.get("text", {}).get("text", "")
        assert len(body) <= SECTION
    assert "… and 4980 more" in str(blocks)
    assert text.startswith("1/4 ")


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
