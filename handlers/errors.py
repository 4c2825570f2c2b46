"""Bolt's error handler: a request that failed after (or before) its ack still gets an answer.

Bolt calls the app's error handler with whatever a listener or middleware raised
(``app.error``, https://tools.slack.dev/bolt-python/concepts/errors): a refusal that came
late (a form acked before the abort was applied), a Slack error (the form's ``trigger_id``
expired), the store out of reach, a bug. The person gets an ephemeral answer saying what went
wrong and what to do, by the request's ``response_url`` (a slash command, a button) or, for a
form, with ``chat.postEphemeral`` in the channel it was opened from (kept in its metadata);
the error itself is logged, never shown with a traceback.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import UNDONE, error_of
from bot.usecases.answers import mentions
from state.errors import RunError
from state.stored import StoreError

log = structlog.get_logger("upgrade_bot.handlers")

EXPIRED = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})
"""``views.open``'s errors for a trigger it no longer takes (Slack gives 3 seconds)."""

AGAIN = "Check the run's messages to see whether it went through, then try again."


def what_went_wrong(error: Exception) -> str:
    """The answer for the person: what went wrong, and what to do (mrkdwn)."""
    if isinstance(error, RunError):
        return f":no_entry: {mentions(str(error), error.people)}"
    if isinstance(error, SlackApiError) and error_of(error) in EXPIRED:
        return (
            ":hourglass: The form could not open: Slack gives a bot 3 seconds to open it, and "
            f"they had passed ({error_of(error)}). Press the button, or type the command, again."
        )
    if isinstance(error, SlackApiError):
        return f":warning: Slack refused what the bot tried ({error_of(error)}). {AGAIN}"
    if isinstance(error, StoreError):
        return (
            ":warning: The bot could not read or write its store, so your request may not have "
            f"been applied. {AGAIN} If it keeps happening, tell the bot's operators."
        )
    return (
        f":warning: Something went wrong on the bot's side ({type(error).__name__}). {AGAIN} "
        "If it keeps happening, tell the bot's operators."
    )


async def answer_error(
    error: Exception,
    body: dict[str, Any],
    respond: AsyncRespond | None,
    client: AsyncWebClient,
) -> None:
    """Log the error and answer the person who sent the request, only to them."""
    if isinstance(error, RunError):
        log.info("Request refused late", refusal=str(error))
    else:
        log.error("Request failed", error=repr(error), exc_info=error)
    text = what_went_wrong(error)
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if respond is not None:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        elif (channel := _form_channel(body)) and user:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            log.warning("Nowhere to answer the request", user=user)
    except UNDONE as e:
        log.warning("Could not answer the request", user=user, error=repr(e))


def _form_channel(body: dict[str, Any]) -> str | None:
    """The channel a form was opened from, as its metadata keeps it."""
    try:
        meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return None
    channel = meta.get("channel") if isinstance(meta, dict) else None
    return str(channel) if channel else None
