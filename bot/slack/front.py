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
from collections.abc import Mapping

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import SiteConfig
from bot.engine.engine import Change, RunChanged, StepProgress
from bot.slack.blocks import Block
from bot.slack.messages import run_header, step_message
from bot.slack.refs import MessageRef, keep_ref, saved_ref
from bot.slack.updates import Updates
from integrations.clock import Clock
from state.events import RunAborted, RunCompleted, RunStarted
from state.names import Site
from state.run import Run, StepStatus
from state.store import Store

log = structlog.get_logger("upgrade_bot.slack")


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
        speed: float | None = None,
    ) -> None:
        """Post with ``client``; edit through ``updates``; ``speed``: a rehearsal's, shown."""
        self._client = client
        self._store = store
        self._sites = sites
        self._updates = updates
        self._clock = clock
        self._speed = speed
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
        await keep_ref(self._store, key, ref)

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
        text, blocks = run_header(run, site, self._clock.now(), speed=self._speed)
        await self._keep(key, await self._post(site.channel, text, blocks, None))

    async def _show_header(self, run: Run) -> None:
        ref = await self._ref(f"slack/{run.run_id}/header")
        if ref is not None:
            text, blocks = run_header(
                run, self._sites[run.site], self._clock.now(), speed=self._speed
            )
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
