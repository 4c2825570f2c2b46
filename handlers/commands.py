"""``/upgrade``: ack, parse the text, call the use case it asks for, show the answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.usecases.answers import Answer, Reply, usage
from bot.usecases.cases import UseCases
from bot.usecases.origin import Channel, Person
from handlers import parse
from handlers.origin import commander, typed_in
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
    channel = typed_in(command)
    try:
        request = parse.parse_command(command.get("text", ""))
    except parse.UsageError as e:
        answer: Answer = usage(str(e), parse.USAGE)
    else:
        answer = await dispatch(cases_of(context), commander(command), channel, request)
    await show_of(context)(answer, respond, client, command.get("trigger_id"), channel.id)


async def dispatch(  # noqa: C901, PLR0911  # one case per request
    cases: UseCases, who: Person, channel: Channel, request: parse.Request
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
            return await runs.open(who, channel, site, kind, cycle, branch)
        case parse.Takeover(site=site, reason=reason):
            return await runs.take_over(who, site, reason)
        case parse.Handover(user=to, name=name):
            return await runs.hand_over(who, channel, Person(to, name))
        case parse.Pause():
            return await runs.pause(who, channel)
        case parse.Resume():
            return await runs.resume(who, channel)
        case parse.Note(text=text):
            return await runs.note(who, channel, text)
        case parse.Abort(reason=reason):
            return await runs.abort(who, channel, reason)
        case parse.PrepullStop():
            return await runs.stop_prepull(who, channel)
