"""Showing a use case's answer: a reply by ``response_url``, or a form by ``views.open``.

A form keeps the channel it was asked from in its ``private_metadata``: a view submission
carries no channel, and an error after its ack is answered there (:mod:`handlers.errors`).
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import SiteConfig
from bot.slack.forms import hold_form, reason_form, start_form, targets_form
from bot.usecases.answers import Answer, AskReason, AskStart, AskTargets, AskWindow, Reply
from handlers.parse import KINDS
from state.names import Site


class Shower:
    """Shows answers; forms need the site's configuration."""

    def __init__(self, sites: Mapping[Site, SiteConfig]) -> None:
        """Build forms with ``sites``."""
        self._sites = sites

    async def __call__(
        self,
        answer: Answer | None,
        respond: AsyncRespond,
        client: AsyncWebClient | None,
        trigger_id: str | None,
        channel: str | None,
    ) -> None:
        """Nothing to show for ``None`` (the button did its work; the message shows it)."""
        where = {"channel": channel} if channel else {}
        match answer:
            case Reply(text=text, public=public):
                kind = "in_channel" if public else "ephemeral"
                await respond(text=text, response_type=kind, replace_original=False)
            case AskStart(site=site, cycle=cycle, branch=branch) if trigger_id and client:
                view = start_form(self._sites[site], KINDS, cycle, branch, where)
                await client.views_open(trigger_id=trigger_id, view=view)
            case AskReason(what=what, run_id=run_id, step_id=step_id, revision=rev) if (
                trigger_id and client
            ):
                view = reason_form(what, {"run": run_id, "step": step_id, "rev": rev, **where})
                await client.views_open(trigger_id=trigger_id, view=view)
            case AskWindow(label=label, window=window) if trigger_id and client:
                meta = {"run": answer.run_id, "step": answer.step_id, "rev": answer.revision}
                view = hold_form(label, window, {**meta, **where})
                await client.views_open(trigger_id=trigger_id, view=view)
            case AskTargets(proposed=proposed) if trigger_id and client:
                meta = {"run": answer.run_id, "step": answer.step_id, "rev": answer.revision}
                view = targets_form(proposed, {**meta, **where})
                await client.views_open(trigger_id=trigger_id, view=view)
