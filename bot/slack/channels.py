"""Each site's Slack channel, bound by its id: names resolved once, at start-up.

A site (and each audience) may give its channel by id (``C0123ABC``; private ones may be
``G…``) or by name (``#summit-announce``). At start the bot lists the conversations it can
see with ``conversations.list`` (public and private, cursor-paginated,
https://api.slack.com/methods/conversations.list; the ``channels:read`` and ``groups:read``
scopes) and binds every name to its id: a channel renamed later keeps working, and a private
one, whose name Slack sends as ``privategroup`` in a slash command, is known by its id. It
also says which channels it cannot post in: not found (or private, and the bot not invited),
archived, private without the bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import Audience, SiteConfig
from bot.slack.client import TRANSPORT, error_of, fatal
from integrations.mrkdwn import is_channel_id
from state.names import Site

log = structlog.get_logger("upgrade_bot.slack")

PAGE = 200
"""Conversations per page (Slack recommends no more than 200)."""

PAGES = 500
"""Pages read at most (100,000 conversations): a cursor that never ends is not followed."""


@dataclass
class Binding:
    """The sites with their channels as ids, and what the bot cannot post in."""

    sites: dict[Site, SiteConfig]
    problems: list[str] = field(default_factory=list)


async def bind_channels(client: AsyncWebClient, sites: Mapping[Site, SiteConfig]) -> Binding:
    """The sites with every channel bound by id; each channel the bot cannot use, said.

    Slack refusing the token raises :class:`bot.slack.client.SlackUnusable`; a list that
    cannot be read (a missing scope, Slack out of reach) leaves the channels as configured.
    """
    try:
        seen = await _conversations(client)
    except SlackApiError as e:
        if (stop := fatal(e)) is not None:
            raise stop from e
        return _unbound(sites, f"cannot list the channels ({error_of(e)})")
    except TRANSPORT as e:
        return _unbound(sites, f"cannot list the channels ({e!r})")
    binder = _Binder(seen)
    bound = {
        name: site.model_copy(
            update={
                "channel": binder.bind(site.channel, f"{name}'s channel"),
                "audiences": {
                    key: Audience(
                        channels=tuple(
                            binder.bind(c, f"{name}'s audience {key}") for c in audience.channels
                        ),
                        groups=audience.groups,
                    )
                    for key, audience in site.audiences.items()
                },
            }
        )
        for name, site in sites.items()
    }
    for problem in binder.problems:
        log.warning("Cannot post in a channel", problem=problem)
    return Binding(bound, binder.problems)


async def _conversations(client: AsyncWebClient) -> list[dict[str, Any]]:
    """Every public and private channel the bot can see, page by page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(PAGES):
        page = await client.conversations_list(
            types="public_channel,private_channel", limit=PAGE, cursor=cursor
        )
        found += page.get("channels") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            break
    return found


def _unbound(sites: Mapping[Site, SiteConfig], problem: str) -> Binding:
    said = f"{problem}: channels are used as configured; add the scopes channels:read, groups:read"
    log.warning("Channels not bound by id", problem=said)
    return Binding(dict(sites), [said])


class _Binder:
    """Names to ids, by the conversations listed; what cannot be posted in, collected."""

    def __init__(self, seen: list[dict[str, Any]]) -> None:
        self._by_id = {c["id"]: c for c in seen}
        self._by_name = {c["name"]: c for c in seen if not c.get("is_archived")}
        self._by_name |= {c["name"]: c for c in seen if c["name"] not in self._by_name}
        self.problems: list[str] = []

    def bind(self, channel: str, what: str) -> str:
        """The channel's id (as configured if it cannot be found), its problem noted."""
        if is_channel_id(channel):
            found = self._by_id.get(channel)
        else:
            found = self._by_name.get(channel.lstrip("#"))
        if found is None:
            problem = "not found, or private and the bot is not a member (invite @upgrade-bot)"
            self._note(what, channel, problem)
            return channel
        if found.get("is_archived"):
            self._note(what, channel, "archived")
        elif found.get("is_private") and not found.get("is_member"):
            self._note(what, channel, "private, and the bot is not a member (invite it)")
        return str(found["id"])

    def _note(self, what: str, channel: str, problem: str) -> None:
        said = f"{what} {channel}: {problem}"
        if said not in self.problems:
            self.problems.append(said)
