"""``/upgrade``: ack, parse the text, call the use case it asks for, show the answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.usecases.answers import Answer, Reply
from bot.usecases.cases import UseCases
from handlers import parse
from handlers.services import cases_of, show_of


async def upgrade(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The slash command."""
    await ack()
    channel = command.get("channel_name", "")
    try:
        request = parse.parse_command(command.get("text", ""))
    except parse.UsageError as e:
        answer: Answer = Reply(f"{e}\n\n{parse.USAGE}")
    else:
        answer = await dispatch(cases_of(context), command["user_id"], channel, request)
    await show_of(context)(answer, respond, client, command.get("trigger_id"))


async def dispatch(  # noqa: C901, PLR0911  # one case per request
    cases: UseCases, user: str, channel: str, request: parse.Request
) -> Answer:
    """The use case a parsed request asks for."""
    runs = cases.runs
    match request:
        case parse.Help():
            return Reply(parse.USAGE)
        case parse.Status(site=site, share=share):
            return await cases.status.status(site, share=share)
        case parse.Check(site=site):
            return await cases.status.check(site)
        case parse.Start(site=site, kind=kind, cycle=cycle, branch=branch):
            return await runs.open(user, channel, site, kind, cycle, branch)
        case parse.Takeover(site=site, reason=reason):
            return await runs.take_over(user, site, reason)
        case parse.Handover(user=to):
            return await runs.hand_over(user, channel, to)
        case parse.Pause():
            return await runs.pause(user, channel)
        case parse.Resume():
            return await runs.resume(user, channel)
        case parse.Note(text=text):
            return await runs.note(user, channel, text)
        case parse.Abort(reason=reason):
            return await runs.abort(user, channel, reason)
