"""The Slack front end: the engine's changes as messages in the site channel, kept up to date.

A run is one header message in the site channel, and one message per step in its thread,
posted when the step comes up and edited as it moves. The engine notifies listeners before it
acts, so this listener only queues work: one worker posts in order (a thread reply needs its
parent's ``ts``, and the steps stand in the thread in the procedure's order), and every edit
goes through :class:`Updates`, the app-wide edit budget. Message references are kept in the
store, so a restarted bot edits the same messages.

A post Slack could not take (out of reach after the SDK's retries, a channel it refuses)
leaves the run *behind*: the worker refreshes it a little later, and at every change and
restart, the header first, then the steps in order, until everything is posted. When a step
starts waiting on the lead by the bot's doing, the lead is called once in the thread (a
mention added by an edit notifies no one). A refused token ends the worker with
:class:`bot.slack.client.SlackUnusable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import SiteConfig
from bot.engine.changes import Change, StepProgress
from bot.engine.notices import call_for_lead
from bot.slack.blocks import Block
from bot.slack.client import TRANSPORT, error_of, fatal
from bot.slack.messages import run_header, step_message
from bot.slack.refs import MessageRef, keep_ref, saved_ref
from bot.slack.updates import Updates
from bot.slack.worker import Worker
from integrations.clock import Clock
from state.events import BOT, RunAborted, RunCompleted
from state.names import Site
from state.run import Run, StepState, StepStatus
from state.store import Store

log = structlog.get_logger("upgrade_bot.slack")

CATCH_UP = 30.0
"""Seconds before a run whose post failed is refreshed (if no change refreshes it sooner)."""


@dataclass(frozen=True, slots=True)
class _Refresh:
    """Rebuild every message of a run, posting what is missing (a restart, a failed post)."""

    run_id: str


class SlackFront(Worker):
    """Engine listener: posts and edits the runs' messages."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        store: Store,
        sites: Mapping[Site, SiteConfig],
        updates: Updates,
        clock: Clock,
        catch_up: float = CATCH_UP,
        speed: float | None = None,
    ) -> None:
        """Post with ``client``; edit through ``updates``; ``speed``: a rehearsal's, shown."""
        self._client = client
        self._store = store
        self._sites = sites
        self._updates = updates
        self._clock = clock
        self._catch_up = catch_up
        self._speed = speed
        self._queue: asyncio.Queue[Change | _Refresh] = asyncio.Queue()
        self._progress: dict[tuple[str, str], str] = {}
        self._refs: dict[str, MessageRef] = {}
        self._behind: set[str] = set()

    async def __call__(self, change: Change) -> None:
        """Queue the change (the engine must not wait on Slack)."""
        self._queue.put_nowait(change)

    async def refresh(self, run: Run) -> None:
        """Rebuild every message of an open run, posting what is missing (after a restart)."""
        self._queue.put_nowait(_Refresh(run.run_id))

    async def drained(self) -> None:
        """Wait until every queued change is shown and every edit sent."""
        await self._queue.join()
        await self._updates.drained()

    @property
    def behind(self) -> frozenset[str]:
        """The runs with a message not yet posted (Slack refused or was out of reach)."""
        return frozenset(self._behind)

    async def _work(self) -> None:
        """Work the queue; refresh the runs left behind every ``catch_up`` seconds."""
        loop = asyncio.get_running_loop()
        due = loop.time() + self._catch_up
        while True:
            if self._behind and loop.time() >= due:
                for run_id in sorted(self._behind):
                    await self._handle(_Refresh(run_id))
                due = loop.time() + self._catch_up  # still behind: again in a while
            elif not self._behind:
                due = loop.time() + self._catch_up  # from the next failure on
            wait = max(0.0, due - loop.time()) if self._behind else None
            try:
                item = await asyncio.wait_for(self._queue.get(), wait)
            except TimeoutError:
                continue
            try:
                await self._handle(item)
            finally:
                self._queue.task_done()

    async def _handle(self, item: Change | _Refresh) -> None:
        if isinstance(item, _Refresh):
            run = await self._store.get(item.run_id)
            for step_id, progress in (await self._store.progress(run.run_id)).items():
                self._progress.setdefault((run.run_id, step_id), progress.text)
            self._behind.discard(run.run_id)
            steps = [s.id for s in run.steps]
            acted: set[str] = set()
        elif isinstance(item, StepProgress):
            run = item.run
            self._progress[(run.run_id, item.step_id)] = item.text
            state = run.step(item.step_id)
            waits = state is not None and state.status.waits_for_lead  # a preview: Approve with it
            await self._show_step(run, item.step_id, urgent=waits)
            return
        else:
            run = item.run
            if any(isinstance(e, RunCompleted | RunAborted) for e in item.events):
                steps = [s.id for s in run.steps]  # the run is over: no step keeps its buttons
            else:
                steps = [sid for e in item.events if (sid := _step_of(e))]
            acted = {sid for e in item.events if e.actor != BOT and (sid := _step_of(e))}
        if await self._header(run) is None:  # the step a person moved goes first
            return
        for step_id in dict.fromkeys(steps):
            await self._show_step(run, step_id, urgent=step_id in acted)
        await self._call_lead(run)

    async def _header(self, run: Run) -> MessageRef | None:
        """The run's header: posted if missing (the steps' thread hangs on it), else edited."""
        key = f"slack/{run.run_id}/header"
        site = self._sites[run.site]
        text, blocks = run_header(run, site, self._clock.now(), speed=self._speed)
        ref = await self._ref(key)
        if ref is None:
            return await self._post(run, key, site.channel, text, blocks, None)
        self._updates.submit(ref, text, blocks)
        return ref

    async def _show_step(self, run: Run, step_id: str, *, urgent: bool) -> None:
        """Edit the step's message; post it (and any earlier one missing) if it is not yet."""
        state = run.step(step_id)
        if state is None or state.status is StepStatus.PENDING:
            return
        ref = await self._ref(_step_key(run, step_id))
        if ref is not None:
            text, blocks = self._step_message(run, state)
            self._updates.submit(ref, text, blocks, urgent=urgent)
            return
        header = await self._header(run)
        if header is None:
            return
        for earlier in run.steps[: run.index(step_id) + 1]:  # the thread keeps their order
            key = _step_key(run, earlier.id)
            if earlier.status is StepStatus.PENDING or await self._ref(key) is not None:
                continue
            text, blocks = self._step_message(run, earlier)
            if await self._post(run, key, header.channel, text, blocks, header.ts) is None:
                return

    def _step_message(self, run: Run, state: StepState) -> tuple[str, list[Block]]:
        progress = self._progress.get((run.run_id, state.id))
        if state.status.ended:
            self._progress.pop((run.run_id, state.id), None)
        return step_message(run, state, self._sites[run.site], progress)

    async def _call_lead(self, run: Run) -> None:
        """Call the lead in the thread, once per waiting spell, when the bot waits on them.

        By the run as it is now (the change shown may be behind it: a wait already over is
        not called).
        """
        run = await self._store.get(run.run_id)
        call = call_for_lead(run)
        header = await self._ref(f"slack/{run.run_id}/header")
        if call is None or header is None or run.current is None:
            return
        state = run.current
        key = f"slack/{run.run_id}/call/{state.id}/{state.revision}"
        if await self._ref(_step_key(run, state.id)) is not None and await self._ref(key) is None:
            await self._post(run, key, header.channel, call, [], header.ts)

    async def _ref(self, key: str) -> MessageRef | None:
        if key not in self._refs and (saved := await saved_ref(self._store, key)) is not None:
            self._refs[key] = saved
        return self._refs.get(key)

    async def _post(
        self, run: Run, key: str, channel: str, text: str, blocks: list[Block], thread: str | None
    ) -> MessageRef | None:
        """Post and keep the reference under ``key``; ``None`` (the run behind) if Slack did not."""
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks or None,
                thread_ts=thread,
                unfurl_links=False,
            )
        except SlackApiError as e:
            if (stop := fatal(e)) is not None:
                raise stop from e
            problem = error_of(e)
        except TRANSPORT as e:
            problem = repr(e)
        else:
            ref = MessageRef(str(response["channel"]), str(response["ts"]))
            self._refs[key] = ref
            await keep_ref(self._store, key, ref)
            self._updates.posted(ref, text, blocks)
            return ref
        log.warning("Not posted; the run's messages catch up later", run=run.run_id,
                    message=key, channel=channel, error=problem)  # fmt: skip
        self._behind.add(run.run_id)
        return None


def _step_of(event: object) -> str | None:
    """The step an event is about, if any (run-wide events have none)."""
    step_id = getattr(event, "step_id", None)
    return step_id if isinstance(step_id, str) else None


def _step_key(run: Run, step_id: str) -> str:
    return f"slack/{run.run_id}/step/{step_id}"
