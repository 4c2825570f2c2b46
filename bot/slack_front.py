"""The Slack front end: the engine's changes as messages in the site channel, kept up to date.

A run is one header message in the site channel, and one message per step in its thread,
posted when the step comes up and edited as it moves. The engine notifies listeners before it
acts, so this listener only queues work: one worker posts in order (a thread reply needs its
parent's ``ts``), and every edit goes through :class:`Updates`, one app-wide budget that merges
pending edits of a message and paces ``chat.update`` within Slack's tier (about 50 a minute),
waiting out ``Retry-After`` on HTTP 429. Message references are kept in the store, so a
restarted bot edits the same messages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import Change, RunChanged, StepProgress
from bot.render import Block, button, run_header, section, step_message
from bot.sites import SiteConfig
from integrations.announce import Notice
from integrations.clock import Clock
from integrations.errors import IntegrationError
from state.events import RunAborted, RunCompleted, RunStarted
from state.procedure import Site
from state.run import Run, StepStatus
from state.store import Store

log = structlog.get_logger("upgrade_bot.slack")

CALL_TIMEOUT = 15.0
"""Seconds a Slack Web API call may take (the client's own timeout)."""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message is: its channel and timestamp."""

    channel: str
    ts: str


async def saved_ref(store: Store, key: str) -> MessageRef | None:
    """A message posted earlier, as kept in the store (a restarted bot edits the same one)."""
    saved = await store.get_blob(key)
    return MessageRef(**json.loads(saved)) if saved else None


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


class SlackFront:
    """Engine listener: posts and edits the runs' messages."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        store: Store,
        sites: Mapping[Site, SiteConfig],
        updates: Updates,
        clock: Clock,
    ) -> None:
        """Post with ``client``; edit through ``updates``."""
        self._client = client
        self._store = store
        self._sites = sites
        self._updates = updates
        self._clock = clock
        self._queue: asyncio.Queue[Change] = asyncio.Queue()
        self._progress: dict[tuple[str, str], str] = {}

    async def __call__(self, change: Change) -> None:
        """Queue the change (the engine must not wait on Slack)."""
        self._queue.put_nowait(change)

    async def run(self) -> None:
        """Work the queue until cancelled."""
        while True:
            change = await self._queue.get()
            try:
                await self._handle(change)
            except Exception:  # a Slack outage must not stop the worker: logged, next change
                log.exception("Could not show a change in Slack")
            finally:
                self._queue.task_done()

    async def drained(self) -> None:
        """Wait until every queued change is shown and every edit sent."""
        await self._queue.join()
        await self._updates.drained()

    async def refresh(self, run: Run) -> None:
        """Rebuild every message of an open run (after a restart)."""
        await self(RunChanged(run, ()))
        for state in run.steps:
            if state.status is not StepStatus.PENDING:
                await self._show_step(run, state.id)

    async def _handle(self, change: Change) -> None:
        run = change.run
        if isinstance(change, StepProgress):
            self._progress[(run.run_id, change.step_id)] = change.text
            await self._show_step(run, change.step_id)
            return
        if any(isinstance(e, RunStarted) for e in change.events):
            await self._post_header(run)
        await self._show_header(run)
        if any(isinstance(e, RunCompleted | RunAborted) for e in change.events):
            steps = [s.id for s in run.steps]  # the run is over: no step keeps its buttons
        else:
            steps = [sid for e in change.events if (sid := getattr(e, "step_id", None))]
        for step_id in dict.fromkeys(steps):
            await self._show_step(run, step_id)

    async def _ref(self, key: str) -> MessageRef | None:
        return await saved_ref(self._store, key)

    async def _keep(self, key: str, ref: MessageRef) -> None:
        await self._store.put_blob(key, json.dumps({"channel": ref.channel, "ts": ref.ts}))

    async def _post(
        self, channel: str, text: str, blocks: list[Block], thread: str | None
    ) -> MessageRef:
        response = await self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread, unfurl_links=False
        )
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def _post_header(self, run: Run) -> None:
        key = f"slack/{run.run_id}/header"
        if await self._ref(key) is not None:
            return
        site = self._sites[run.site]
        text, blocks = run_header(run, site, self._clock.now())
        await self._keep(key, await self._post(site.channel, text, blocks, None))

    async def _show_header(self, run: Run) -> None:
        ref = await self._ref(f"slack/{run.run_id}/header")
        if ref is not None:
            text, blocks = run_header(run, self._sites[run.site], self._clock.now())
            self._updates.submit(ref, text, blocks)

    async def _show_step(self, run: Run, step_id: str) -> None:
        state = run.step(step_id)
        header = await self._ref(f"slack/{run.run_id}/header")
        if state is None or header is None or state.status is StepStatus.PENDING:
            return
        progress = self._progress.get((run.run_id, step_id))
        if state.status.ended:
            self._progress.pop((run.run_id, step_id), None)
        text, blocks = step_message(run, state, self._sites[run.site], progress)
        key = f"slack/{run.run_id}/step/{step_id}"
        ref = await self._ref(key)
        if ref is None:
            await self._keep(key, await self._post(header.channel, text, blocks, header.ts))
        else:
            self._updates.submit(ref, text, blocks)


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
        except SlackApiError as e:
            error = e.response.get("error")
            raise IntegrationError("Slack", f"not posted to {channel}: {error}") from e

    async def direct(self, *, user: str, text: str) -> None:
        """A direct message from the bot (conversations.open, then chat.postMessage)."""
        try:
            opened = await self._client.conversations_open(users=user)
            channel = opened["channel"]["id"]
            await self._client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as e:
            error = e.response.get("error")
            raise IntegrationError("Slack", f"no direct message to {user}: {error}") from e

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
            except SlackApiError as e:
                failed.append(f"{channel}: {e.response.get('error')}")
        if failed:
            raise IntegrationError("Slack", "announcement not posted to " + "; ".join(failed))


def _mention(group: str) -> str:
    """A user group: by id (``S0123ABC``) it notifies; by handle it is shown as text."""
    return f"<!subteam^{group}>" if group[:1] == "S" and group.isupper() else f"@{group}"
