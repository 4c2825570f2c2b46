"""App Home: where every site stands, published when someone opens the bot's Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers.services import cases_of


async def home(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Publish the Home view for the user who opened it."""
    await client.views_publish(user_id=event["user"], view=await cases_of(context).status.home())
