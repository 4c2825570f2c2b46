"""Bolt's error handler answers the person, against the Slack Web API fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import answer_error, what_went_wrong
from state.errors import NotLead
from state.stored import StoreError
from tests.support.slack_api import FakeSlack, served


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    """The fake Slack API on loopback and a client for it."""
    slack = FakeSlack(channels={"summit-announce": "C0SUMMIT"})
    async with served(slack) as client:
        yield slack, client


def submitted(channel: str | None) -> dict[str, Any]:
    """A view submission's body, the form having kept (or not) the channel it came from."""
    meta = {"run": "summit-1"} | ({"channel": channel} if channel else {})
    return {"type": "view_submission", "user": {"id": "U0LEAD", "name": "ana"},
            "view": {"private_metadata": json.dumps(meta)}}  # fmt: skip


@pytest.mark.asyncio
async def test_a_form_that_failed_after_its_ack_is_answered_in_its_channel(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """No response URL for a form: an ephemeral message in the channel it was opened from."""
    slack, client = fake
    refusal = NotLead("U0LEAD", "U0BEN", "abort the run", "ben")
    await answer_error(refusal, submitted("C0SUMMIT"), None, client)
    [said] = slack.of("chat.postEphemeral")
    assert (said["channel"], said["user"]) == ("C0SUMMIT", "U0LEAD")
    assert said["text"].startswith(":no_entry: Only the lead, <@U0BEN>, can abort the run.")


@pytest.mark.asyncio
async def test_nowhere_to_answer_is_logged_not_raised(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """A form that kept no channel, or Slack refusing the answer: logged, nothing raised."""
    slack, client = fake
    await answer_error(RuntimeError("boom"), submitted(None), None, client)
    await answer_error(RuntimeError("boom"), submitted("C0GONE"), None, client)
    assert [c.answer["error"] for c in slack.calls_of("chat.postEphemeral")] == [
        "channel_not_found"
    ]


def test_every_kind_of_failure_says_what_to_do() -> None:
    """A store out of reach, a bug: what happened in a word, what to do; no traceback."""
    store = what_went_wrong(StoreError("database is locked"))
    assert "could not read or write its store" in store
    assert "Check the run's messages" in store
    bug = what_went_wrong(KeyError("x"))
    assert "(KeyError)" in bug
    assert "tell the bot's operators" in bug
    assert "Traceback" not in bug
