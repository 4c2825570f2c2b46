"""The buttons: a step's and the run's (``step.*``, ``run.*``), and those under the bot's posts."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine.notices import DM_ACTION, RELEASE_ACTION
from handlers.origin import pressed_in, presser
from handlers.services import cases_of, show_of

STEP_OR_RUN = re.compile(r"^(step|run)\.")
"""The action ids of a step's and the run's buttons."""

ACKNOWLEDGE = "announce.ack"
UNDER_POSTS = re.compile(
    "^(" + "|".join(re.escape(a) for a in (ACKNOWLEDGE, RELEASE_ACTION, DM_ACTION)) + ")$"
)
"""The action ids of the buttons under the bot's posts."""


async def pressed(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """A step's or the run's button."""
    await ack()
    buttons = cases_of(context).buttons
    answer = await buttons.press(presser(body), action["action_id"], action.get("value", ""))
    await show_of(context)(answer, respond, client, body.get("trigger_id"), pressed_in(body))


async def under_post(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """A button under an announcement or a notice: acknowledge, announce it now, DM them."""
    await ack()
    buttons = cases_of(context).buttons
    answers = {
        ACKNOWLEDGE: buttons.acknowledge,  # the camera team, under an announcement
        RELEASE_ACTION: buttons.release,  # the lead, under a held announcement's reminder
        DM_ACTION: buttons.message_principals,  # the lead, under a deadline report
    }
    reply = await answers[action["action_id"]](presser(body), action.get("value", ""))
    await show_of(context)(reply, respond, None, None, None)
