"""Announcements: what the bot tells people (the site channel, the camera team, Nublado users)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Announcer(Protocol):
    """Where announcements go: Slack channels in production, the terminal in the demo."""

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Post ``text`` to the site's channel and to each audience.

        Once per key: the engine records the key before posting.
        """
        ...
