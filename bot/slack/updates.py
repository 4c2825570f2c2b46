"""``chat.update`` through one app-wide budget: only edits that change something, fairly paced.

Slack's edit tier allows about 50 calls a minute per app (Tier 3,
https://api.slack.com/apis/rate-limits), shared by every site. So:

- an edit that would show what the message already shows (what was last posted or sent for
  it) is not sent; pending edits of one message are merged, the latest wins;
- calls are paced by a token bucket (:mod:`bot.slack.bucket`): a small burst at once, then
  the steady rate;
- the message a person just acted on goes first (``urgent``: the step they moved, not the
  run's header, so a click costs one token), at once after a quiet moment: the bot's own edits
  leave :data:`RESERVED` tokens in the bucket for it, so a click does not wait for the refill
  behind live progress (``benchmarks/slack_click.py`` times it); the others take turns by
  channel, so one site's live progress never starves another site's;
- what Slack could not take (out of reach, 5xx, 429 after the SDK's own retries, see
  :mod:`bot.slack.client`) stays pending, the budget paused for a while, so the messages
  catch up when Slack is back; an edit Slack refuses as made (the message is gone) is dropped,
  and a refused token stops the worker (:class:`bot.slack.client.SlackUnusable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import Block
from bot.slack.bucket import TokenBucket
from bot.slack.client import TRANSPORT, error_of, fatal
from bot.slack.refs import MessageRef
from bot.slack.worker import Worker

log = structlog.get_logger("upgrade_bot.slack")

BURST = 4
"""Edits that may go at once before the pacing starts (Tier 3 welcomes sporadic bursts)."""

RESERVED = 3
"""Tokens the bot's own edits leave for a person's: a click's one urgent edit (the step it
moved; the run's header follows in turn), so the three sites' leads may click at once."""

OUT_OF_REACH = 10.0
"""Seconds the budget waits when Slack could not be reached even after the SDK's retries."""

Key = tuple[str, str]


def fingerprint(text: str, blocks: list[Block]) -> str:
    """What a message shows, to tell an edit that changes something from one that does not."""
    return json.dumps([text, blocks], sort_keys=True, separators=(",", ":"))


@dataclass
class _Edit:
    ref: MessageRef
    text: str
    blocks: list[Block]
    shows: str
    urgent: bool
    order: int


class Updates(Worker):
    """``chat.update`` through one budget: changed edits only, merged, paced, fair, 429-aware."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        per_minute: float = 50.0,
        burst: int = BURST,
        out_of_reach: float = OUT_OF_REACH,
    ) -> None:
        """At most ``per_minute`` edits a minute app-wide, ``burst`` of them at once."""
        self._client = client
        self._bucket = TokenBucket(rate=per_minute / 60.0, burst=burst)
        self._reserve = min(RESERVED, burst - 1)  # the bot's own edits must still go
        self._out_of_reach = out_of_reach
        self._pending: dict[Key, _Edit] = {}
        self._shows: dict[Key, str] = {}
        self._sending: dict[Key, str] = {}
        self._turns: list[str] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.sent = 0
        self.merged = 0
        self.unchanged = 0
        self.limited = 0
        self.failed = 0

    def submit(
        self, ref: MessageRef, text: str, blocks: list[Block], *, urgent: bool = False
    ) -> None:
        """Edit ``ref`` to show this soon (``urgent``: before the others), unless it shows it."""
        key = (ref.channel, ref.ts)
        shows = fingerprint(text, blocks)
        pending = self._pending.get(key)
        if shows == self._sending.get(key, self._shows.get(key)):  # shown, or about to be
            self.unchanged += 1
            if pending is not None:  # what was pending is superseded by what is shown
                del self._pending[key]
            return
        if pending is not None:
            self.merged += 1
            pending.text, pending.blocks, pending.shows = text, blocks, shows
            pending.urgent = pending.urgent or urgent
            if urgent:  # the worker may be waiting to send its own: this one goes first
                self._wake.set()
            return
        self._pending[key] = _Edit(ref, text, blocks, shows, urgent, next(self._order))
        if ref.channel not in self._turns:
            self._turns.append(ref.channel)
        self._idle.clear()
        self._wake.set()

    def posted(self, ref: MessageRef, text: str, blocks: list[Block]) -> None:
        """A message was just posted with this content: an edit to the same is not needed."""
        self._shows[(ref.channel, ref.ts)] = fingerprint(text, blocks)

    async def drained(self) -> None:
        """Wait until every pending edit is sent (tests, shutdown)."""
        await self._idle.wait()

    async def _work(self) -> None:
        """Send edits until cancelled."""
        while True:
            if not self._pending:
                self._idle.set()
                await self._wake.wait()
                self._wake.clear()
                continue
            reserve = 0 if any(e.urgent for e in self._pending.values()) else self._reserve
            delay = self._bucket.wait(reserve)
            if delay > 0:  # a click may come meanwhile: its edit need not wait as long
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            self._bucket.spend()
            edit = self._next()
            if edit is not None:
                await self._send(edit)

    def _next(self) -> _Edit | None:
        """The oldest urgent edit, else the oldest of the next channel in turn."""
        if not self._pending:
            return None
        edits = self._pending.values()
        urgent = [e for e in edits if e.urgent]
        if urgent:
            chosen = min(urgent, key=lambda e: e.order)
        else:
            channel = next(c for c in self._turns if any(e.ref.channel == c for e in edits))
            self._turns.remove(channel)
            self._turns.append(channel)  # its turn is taken: the others go first next time
            chosen = min((e for e in edits if e.ref.channel == channel), key=lambda e: e.order)
        del self._pending[(chosen.ref.channel, chosen.ref.ts)]
        return chosen

    async def _send(self, edit: _Edit) -> None:
        """Send one edit; keep it pending if Slack could not take it now."""
        ref = edit.ref
        key = (ref.channel, ref.ts)
        self._sending[key] = edit.shows
        try:
            await self._client.chat_update(
                channel=ref.channel, ts=ref.ts, text=edit.text, blocks=edit.blocks
            )
        except SlackApiError as e:
            if (stop := fatal(e)) is not None:
                raise stop from e
            status = e.response.status_code
            if status == 429:  # noqa: PLR2004  # the SDK's retries ran out: Slack says wait
                self.limited += 1
                self._again(edit, float(e.response.headers.get("Retry-After", "1")))
            elif status >= 500:  # noqa: PLR2004  # Slack's own trouble, after the SDK's retries
                self.failed += 1
                self._again(edit, self._out_of_reach)
            else:  # refused as made (the message is gone, the blocks invalid): a later edit may do
                self.failed += 1
                log.warning("chat.update refused", error=error_of(e), channel=ref.channel)
            return
        except TRANSPORT as e:
            log.warning("Slack out of reach; edits wait", error=repr(e), channel=ref.channel)
            self.failed += 1
            self._again(edit, self._out_of_reach)
            return
        finally:
            del self._sending[key]
        self.sent += 1
        self._shows[key] = edit.shows

    def _again(self, edit: _Edit, wait: float) -> None:
        """Keep the edit (unless a newer one came meanwhile) and pause the budget."""
        self._pending.setdefault((edit.ref.channel, edit.ref.ts), edit)
        self._bucket.hold(wait)
