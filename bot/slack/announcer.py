"""What the bot says in Slack: announcements, notices and direct messages.

Announcements go to the site channel and each audience's channels, its groups mentioned;
notices to the site channel or the run's thread; direct messages to one person. A post Slack
did not take (an error, or Slack out of reach after the client's own retries) is an
:class:`integrations.errors.IntegrationError`, which the engine shows on the step or logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import SiteConfig
from bot.slack.blocks import button, section
from bot.slack.client import UNDONE, error_of
from bot.slack.refs import saved_ref
from integrations.announce import Notice
from integrations.errors import IntegrationError
from state.names import Site
from state.store import Store


class SlackAnnouncer:
    """What the bot says: announcements, notices and direct messages.

    Announcements go to the site channel and each audience's channels, its groups mentioned;
    notices to the site channel or the run's thread.
    """

    def __init__(
        self, *, client: AsyncWebClient, sites: Mapping[Site, SiteConfig], store: Store
    ) -> None:
        """Post with ``client``; find a run's thread in ``store``."""
        self._client = client
        self._sites = sites
        self._store = store

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Post the notice; in the run's thread if it goes there and the run has one."""
        channel, thread = self._sites[site].channel, None  # type: ignore[index]  # ours
        header = await saved_ref(self._store, f"slack/{notice.run_id}/header")
        if notice.in_thread and header is not None:
            channel, thread = header.channel, header.ts
        blocks = [section(notice.text)]
        if notice.choices:
            blocks.append({"type": "actions", "block_id": f"notice:{notice.key}", "elements": [
                button(c.label, c.action, c.value) for c in notice.choices
            ]})  # fmt: skip
        try:
            await self._client.chat_postMessage(
                channel=channel, text=notice.text, blocks=blocks, thread_ts=thread
            )
        except UNDONE as e:
            raise IntegrationError("Slack", f"not posted to {channel}: {_why(e)}") from e

    async def direct(self, *, user: str, text: str) -> None:
        """A direct message from the bot (conversations.open, then chat.postMessage)."""
        try:
            opened = await self._client.conversations_open(users=user)
            channel = opened["channel"]["id"]
            await self._client.chat_postMessage(channel=channel, text=text)
        except UNDONE as e:
            raise IntegrationError("Slack", f"no direct message to {user}: {_why(e)}") from e

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Post once to each channel; the camera team may acknowledge with a button."""
        config = self._sites[site]  # type: ignore[index]  # the engine passes its site names
        channels, groups = config.recipients(audiences)
        mentions = " ".join(_mention(g) for g in groups)
        body = f"{mentions}\n{text}" if mentions else text
        blocks = [section(body)]
        if acknowledge:
            data = json.dumps({"site": site, "key": key})
            blocks.append({"type": "actions", "block_id": f"ack:{key}", "elements": [
                button("Acknowledge", "announce.ack", data, style="primary"),
            ]})  # fmt: skip
        failed = []
        for channel in channels:  # one channel's error must not keep the others uninformed
            try:
                await self._client.chat_postMessage(channel=channel, text=body, blocks=blocks)
            except UNDONE as e:
                failed.append(f"{channel}: {_why(e)}")
        if failed:
            raise IntegrationError("Slack", "announcement not posted to " + "; ".join(failed))


def _why(error: BaseException) -> str:
    """Slack's error code, or what kept Slack out of reach."""
    return error_of(error) if isinstance(error, SlackApiError) else repr(error)


def _mention(group: str) -> str:
    """A user group: by id (``S0123ABC``) it notifies; by handle it is shown as text."""
    return f"<!subteam^{group}>" if group[:1] == "S" and group.isupper() else f"@{group}"
