"""Each site's channel bound by id at start-up, with ``conversations.list`` from the Slack fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import Audience, SiteConfig, default_sites
from bot.slack import channels
from bot.slack.channels import bind_channels
from bot.slack.client import SlackUnusable
from state.names import Site
from tests.support.slack_api import FakeSlack, served
from tests.support.slack_bot import CHANNELS


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    """The fake Slack API with the workspace's channels, and a client for it."""
    slack = FakeSlack(channels=dict(CHANNELS))
    for i in range(30):  # a workspace has many more channels than ours
        slack.add_channel(f"chatter-{i}", f"C0CHAT{i:04d}")
    async with served(slack) as client:
        yield slack, client


def with_channels(
    summit: str, camera: tuple[str, ...] = ("#summit-camera",)
) -> dict[Site, SiteConfig]:
    sites = default_sites()
    audience = Audience(channels=camera, groups=("camera-team",))
    sites["summit"] = sites["summit"].model_copy(
        update={"channel": summit, "audiences": {**sites["summit"].audiences, "camera": audience}}
    )
    return sites


@pytest.mark.asyncio
async def test_names_are_bound_to_ids_across_pages(
    fake: tuple[FakeSlack, AsyncWebClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names (with or without #) and ids all end up ids, read page by page."""
    slack, client = fake
    monkeypatch.setattr(channels, "PAGE", 4)
    bound = await bind_channels(client, with_channels("summit-announce"))
    assert bound.problems == []
    assert {name: site.channel for name, site in bound.sites.items()} == {
        "summit": "C0SUMMIT", "tts": "C0TTS", "bts": "C0BTS",
    }  # fmt: skip
    assert bound.sites["summit"].audiences["camera"].channels == ("C0CAMERA",)
    pages = slack.of("conversations.list")
    assert len(pages) == 9  # 35 channels, 4 a page
    assert pages[0]["types"] == "public_channel,private_channel"
    assert all(p.get("cursor") for p in pages[1:])


@pytest.mark.asyncio
async def test_channels_the_bot_cannot_post_in_are_said(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """Not found, private without the bot, archived: each named; the rest still bound."""
    slack, client = fake
    slack.add_channel("summit-private", "G0PRIV", private=True, member=False)
    slack.add_channel("old-camera", "C0OLDCAM")
    slack.conversations["C0OLDCAM"].archived = True
    sites = with_channels("#summit-private", ("#old-camera", "#no-such-channel", "C0MISSING"))
    bound = await bind_channels(client, sites)
    missing = "not found, or private and the bot is not a member (invite @upgrade-bot)"
    assert bound.problems == [
        f"summit's channel #summit-private: {missing}",
        "summit's audience camera #old-camera: archived",
        f"summit's audience camera #no-such-channel: {missing}",
        f"summit's audience camera C0MISSING: {missing}",
    ]
    assert bound.sites["tts"].channel == "C0TTS"


@pytest.mark.asyncio
async def test_a_private_channel_the_bot_is_in_is_bound(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """Invited to a private channel (``groups:read``): bound by its id like any other."""
    slack, client = fake
    slack.add_channel("summit-private", "G0PRIV", private=True)
    bound = await bind_channels(client, with_channels("#summit-private"))
    assert bound.sites["summit"].channel == "G0PRIV"
    assert bound.problems == []


@pytest.mark.asyncio
async def test_without_the_scopes_the_channels_stay_as_configured(
    fake: tuple[FakeSlack, AsyncWebClient],
) -> None:
    """``missing_scope``: said (which scopes to add), and the configured names kept."""
    slack, client = fake
    slack.fail_next["conversations.list"] = ["missing_scope"]
    sites = with_channels("#summit-announce")
    bound = await bind_channels(client, sites)
    assert bound.sites == sites
    [problem] = bound.problems
    assert "missing_scope" in problem
    assert "channels:read, groups:read" in problem


@pytest.mark.asyncio
async def test_a_refused_token_stops_the_start(fake: tuple[FakeSlack, AsyncWebClient]) -> None:
    """``invalid_auth`` at start-up: the bot cannot work, it says so and does not start."""
    slack, client = fake
    slack.fail_next["conversations.list"] = ["invalid_auth"]
    with pytest.raises(SlackUnusable, match="invalid_auth"):
        await bind_channels(client, default_sites())
