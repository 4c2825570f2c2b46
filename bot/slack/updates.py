"""``chat.update`` through one app-wide budget: the latest edit of a message wins, paced, 429-aware.

Slack's edit tier allows about 50 calls a minute per app; pending edits of one message are
merged, and ``Retry-After`` is waited out on HTTP 429.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import Block
from bot.slack.refs import MessageRef

log = structlog.get_logger("upgrade_bot.slack")

CALL_TIMEOUT = 15.0
"""Seconds a Slack Web API call may take (the client's own timeout)."""


class Updates:
    """``chat.update`` through one budget: the latest edit of a message wins, paced, 429-aware."""

    def __init__(self, client: AsyncWebClient, *, per_minute: float = 50.0) -> None:
        """Send at most ``per_minute`` edits a minute, app-wide."""
        self._client = client
        self._gap = 60.0 / per_minute
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent = 0
        self.merged = 0
        self.limited = 0
        self.failed = 0

    def submit(self, ref: MessageRef, text: str, blocks: list[Block]) -> None:
        """Edit ``ref`` soon; an edit still pending for it is replaced (merged)."""
        key = (ref.channel, ref.ts)
        if key in self._pending:
            self.merged += 1
        self._pending[key] = {"channel": ref.channel, "ts": ref.ts, "text": text, "blocks": blocks}
        self._idle.clear()
        self._wake.set()

    async def drained(self) -> None:
        """Wait until every pending edit is sent (tests, shutdown)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Send edits until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                key = next(iter(self._pending))
                call = self._pending.pop(key)
                wait = await self._send(call)
                if wait:  # rate limited: put it back unless a newer edit came meanwhile
                    self._pending.setdefault(key, call)
                await asyncio.sleep(max(wait, self._gap))
            self._idle.set()

    async def _send(self, call: dict[str, Any]) -> float:
        """Send one edit; the seconds to wait before the next if Slack said to."""
        try:
            await self._client.chat_update(**call)
        except SlackApiError as e:
            if e.response.status_code == 429:  # noqa: PLR2004
                self.limited += 1
                return float(e.response.headers.get("Retry-After", "1"))
            self.failed += 1
            error = e.response.get("error")
            log.warning("chat.update failed", error=error, channel=call["channel"])
        except (TimeoutError, OSError) as e:  # aiohttp's connection errors are OSErrors
            self.failed += 1
            log.warning("chat.update failed", error=str(e), channel=call["channel"])
        else:
            self.sent += 1
        return 0.0
