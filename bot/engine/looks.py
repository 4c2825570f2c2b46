"""What the lead is shown of a step's system while deciding, read with a time limit.

Before approval, the preview (the script's configuration, the commands, what will be deleted,
the diff); before a retry, or when a patient step is overdue, the live state (each app's pods,
the queue); for a stragglers step, the CSCs still up, recorded as its proposal. A look that
fails or takes too long says so: the lead decides without it. A look is shown as the step's
progress line; its Approve button waits for it (the lead approves what they saw).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from bot.engine.runners import LIVE, PREVIEWS, PROPOSALS, Preview, StepContext
from integrations.errors import IntegrationError
from state.commands import Command, ProposeTargets
from state.run import Run, StepState, StepStatus

if TYPE_CHECKING:
    from bot.engine.work import Work
    from state.store import Store

PREVIEW_TIMEOUT = 30.0
"""Seconds a look (a diff, a cleanup plan, the live state) may take before the lead is told."""

log = structlog.get_logger("upgrade_bot.engine")


def look_for(state: StepState) -> tuple[Preview, str] | None:
    """The look that fits a step waiting on the lead, and what it is called; none if none."""
    if state.status is StepStatus.AWAITING_APPROVAL:
        look = PREVIEWS.get(type(state.step.action))
        return None if look is None else (look, "the preview")
    if state.status in {StepStatus.FAILED, StepStatus.INTERRUPTED}:
        return live_look(state)
    return None


def live_look(state: StepState) -> tuple[Preview, str] | None:
    """What the step's system looks like now (before a retry, or when it is overdue)."""
    look = LIVE.get(type(state.step.action))
    return None if look is None else (look, "the live state")


async def read(ctx: StepContext, look: Preview, what: str) -> str:
    """The look's text, or why it could not be read (a crash of ours too: logged, said)."""
    try:
        return await asyncio.wait_for(look(ctx, ctx.state.step.action), PREVIEW_TIMEOUT)
    except (IntegrationError, TimeoutError) as e:
        return f"Could not read {what}: {e or 'no answer in time'}"
    except Exception as e:  # a bug of ours: said, so the lead does not wait on it
        log.exception("Look crashed", run=ctx.run.run_id, step=ctx.state.id)
        return f"Could not read {what}: internal error: {type(e).__name__}"


class Looks:
    """Shows the lead what each waiting step needs, as a task of the step."""

    def __init__(
        self,
        *,
        work: Work,
        store: Store,
        context: Callable[[Run, StepState], StepContext],
        execute: Callable[[str, Command], Awaitable[Run]],
    ) -> None:
        """Spawn through ``work``; read progress from ``store``; record through ``execute``."""
        self._work = work
        self._store = store
        self._context = context
        self._execute = execute

    def waiting(self, run: Run, state: StepState) -> None:
        """A step now waits on the lead: its proposal (stragglers) or its look."""
        if state.step.action.proposes_targets():
            self._work.spawn(run.run_id, state, self._propose(run, state), "propose")
        else:
            self.show(run, state)

    def show(self, run: Run, state: StepState) -> None:
        """The preview before approval, the live state before Retry (if the step has one)."""
        found = look_for(state)
        if found is not None:
            self._work.spawn(run.run_id, state, self._report(run, state, *found), "preview")

    async def resumed(self, run: Run) -> None:
        """At start-up: what the step the run stands at lacks (a bot stopped before it showed)."""
        current = run.current
        if current is None or not current.status.waits_for_lead:
            return
        if current.unproposed():
            self._work.spawn(run.run_id, current, self._propose(run, current), "propose")
        elif (
            current.status is StepStatus.AWAITING_APPROVAL
            and look_for(current) is not None
            and current.id not in await self._store.progress(run.run_id)
        ):
            self.show(run, current)

    async def _report(self, run: Run, state: StepState, look: Preview, what: str) -> None:
        ctx = self._context(run, state)
        await ctx.report(await read(ctx, look, what))

    async def _propose(self, run: Run, state: StepState) -> None:
        """Read the CSCs still up for a stragglers step and record them (none: nothing to do)."""
        ctx = self._context(run, state)
        try:
            targets = await asyncio.wait_for(
                PROPOSALS[type(state.step.action)](ctx, state.step.action), PREVIEW_TIMEOUT
            )
        except (IntegrationError, TimeoutError) as e:
            await ctx.report(
                f"Could not read which CSCs are still up: {e or 'no answer in time'}. "
                "Edit the list to give them, or skip the step."
            )
            return
        after = await self._execute(run.run_id, ProposeTargets(state.id, tuple(targets)))
        now = after.step(state.id)
        if now is not None and now.proposed == state.proposed:  # the same: shown as it was
            self.show(after, now)
