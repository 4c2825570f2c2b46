"""What the lead is shown of a step's system while deciding, read with a time limit.

Before approval, the preview (the script's configuration, the commands, what will be deleted,
the diff); before a retry, or when a patient step is overdue, the live state (each app's pods,
the queue). A look that fails or takes too long says so: the lead decides without it.
"""

from __future__ import annotations

import asyncio

from bot.engine.runners import LIVE, PREVIEWS, Preview, StepContext
from integrations.errors import IntegrationError
from state.run import StepState, StepStatus

PREVIEW_TIMEOUT = 30.0
"""Seconds a look (a diff, a cleanup plan, the live state) may take before the lead is told."""


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
    """The look's text, or why it could not be read."""
    try:
        return await asyncio.wait_for(look(ctx, ctx.state.step.action), PREVIEW_TIMEOUT)
    except (IntegrationError, TimeoutError) as e:
        return f"Could not read {what}: {e or 'no answer in time'}"
