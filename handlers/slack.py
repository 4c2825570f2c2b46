"""The Slack listeners: ``/upgrade``, the buttons, the forms, App Home. Thin on purpose.

Each listener acks at once (Slack's 3-second limit; the answer comes after, by
``response_url`` or ``views.open``), hands the request to :class:`bot.operations.Operations`,
and shows what it answers. Nothing here knows the engine's rules or calls an integration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.notices import DM_ACTION, RELEASE_ACTION
from bot.operations import Answer, AskReason, AskStart, AskWindow, Operations, Reply, mentions
from bot.render import hold_form, reason_form, start_form
from bot.sites import SiteConfig
from handlers.parse import KINDS, MAX_TEXT
from state.errors import RunError
from state.procedure import Site


async def ignore_retries(
    req: AsyncBoltRequest,
    resp: BoltResponse,
    next: Callable[[], Awaitable[BoltResponse]],  # noqa: A002  # Bolt passes it by this name
) -> BoltResponse:
    """Slack's retries (``X-Slack-Retry-Num``) are acked and dropped: the first one ran."""
    if req.headers.get("x-slack-retry-num"):
        resp.status = 200
        return resp
    return await next()


class Shower:
    """Shows an answer: a reply by ``response_url``, or a form by ``views.open``."""

    def __init__(self, sites: Mapping[Site, SiteConfig]) -> None:
        """Forms need the site's configuration."""
        self._sites = sites

    async def __call__(
        self,
        answer: Answer | None,
        respond: AsyncRespond,
        client: AsyncWebClient | None,
        trigger_id: str | None,
    ) -> None:
        """Nothing to show for ``None`` (the button did its work; the message shows it)."""
        match answer:
            case Reply(text=text, public=public):
                kind = "in_channel" if public else "ephemeral"
                await respond(text=text, response_type=kind, replace_original=False)
            case AskStart(site=site, cycle=cycle, branch=branch) if trigger_id and client:
                view = start_form(self._sites[site], KINDS, cycle, branch)
                await client.views_open(trigger_id=trigger_id, view=view)
            case AskReason(what=what, run_id=run_id, step_id=step_id, revision=rev) if (
                trigger_id and client
            ):
                view = reason_form(what, {"run": run_id, "step": step_id, "rev": rev})
                await client.views_open(trigger_id=trigger_id, view=view)
            case AskWindow(label=label, window=window) if trigger_id and client:
                meta = {"run": answer.run_id, "step": answer.step_id, "rev": answer.revision}
                await client.views_open(trigger_id=trigger_id, view=hold_form(label, window, meta))


def register(app: AsyncApp, ops: Operations, sites: Mapping[Site, SiteConfig]) -> None:
    """Add every listener to ``app``."""
    app.middleware(ignore_retries)
    show = Shower(sites)

    @app.command("/upgrade")
    async def upgrade(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        text = command.get("text", "")
        answer = await ops.slash(command["user_id"], command.get("channel_name", ""), text)
        await show(answer, respond, client, command.get("trigger_id"))

    @app.action(re.compile(r"^(step|run)\."))
    async def pressed(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        answer = await ops.button(body["user"]["id"], action["action_id"], action.get("value", ""))
        await show(answer, respond, client, body.get("trigger_id"))

    answers: dict[str, Callable[[str, str], Awaitable[Reply]]] = {
        "announce.ack": ops.acknowledge,  # the camera team, under an announcement
        RELEASE_ACTION: ops.release,  # the lead, under a held announcement's reminder
        DM_ACTION: ops.message_principals,  # the lead, under a deadline report
    }

    @app.action(re.compile("^(" + "|".join(re.escape(a) for a in answers) + ")$"))
    async def answered(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        reply = answers[action["action_id"]](body["user"]["id"], action.get("value", ""))
        await show(await reply, respond, None, None)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view=await ops.home())

    register_forms(app, ops)


def register_forms(app: AsyncApp, ops: Operations) -> None:
    """The forms' submissions: checked before the ack, so an error shows in the form."""

    @app.view("upgrade.start")
    async def start(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = _values(view)
        site = json.loads(view["private_metadata"])["site"]
        kind = values["kind"] or KINDS[0]
        try:
            await ops.start(body["user"]["id"], site, kind, values["cycle"], values["branch"])
        except RunError as e:
            await ack(response_action="errors", errors={"kind": mentions(str(e))[:MAX_TEXT]})
            return
        await ack()

    @app.view(re.compile(r"^upgrade\.(skip|abort)$"))
    async def reason(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = json.loads(view["private_metadata"])
        text = (_values(view)["reason"] or "").strip()
        user = body["user"]["id"]
        try:
            if view["callback_id"] == "upgrade.skip":
                await ops.skip(user, meta["run"], meta["step"], int(meta["rev"]), text)
            else:
                await ops.abort(user, meta["run"], text)
        except RunError as e:
            await ack(response_action="errors", errors={"reason": mentions(str(e))[:MAX_TEXT]})
            return
        await ack()

    @app.view("upgrade.hold")
    async def hold(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = json.loads(view["private_metadata"])
        window = (_values(view)["window"] or "").strip()
        try:
            await ops.hold(body["user"]["id"], meta["run"], meta["step"], int(meta["rev"]), window)
        except RunError as e:
            await ack(response_action="errors", errors={"window": mentions(str(e))[:MAX_TEXT]})
            return
        await ack()


def _values(view: dict[str, Any]) -> dict[str, str | None]:
    """A submitted form's inputs by block id (``None`` when left empty)."""
    out: dict[str, str | None] = {}
    for block_id, actions in view["state"]["values"].items():
        field = actions.get("value", {})
        chosen = field.get("selected_option")
        out[block_id] = chosen["value"] if chosen else field.get("value") or None
    return out
