"""Announcements, made once: posted, then their key recorded in the run."""

from __future__ import annotations

from bot.runners.context import Outcome, StepContext
from state.actions import Announce


def text(ctx: StepContext, action: Announce) -> str:
    """The message with the run's facts filled in."""
    run = ctx.run
    return action.message.format(
        site=ctx.site.title, kind=run.kind, cycle=run.cycle or "n/a", lead=run.lead
    ).strip()


async def announce(ctx: StepContext, action: Announce) -> Outcome:
    """Post the announcement unless this run made it already (a retried step, a restart)."""

    async def post() -> None:
        await ctx.systems.announcer.announce(
            site=ctx.site.name,
            key=action.key,
            text=text(ctx, action),
            audiences=action.audiences,
            acknowledge=action.acknowledge,
        )

    made = await ctx.once(action.key, post)
    if made is not None:
        return Outcome(f"already announced at {made:%H:%M} UTC ({action.key})")
    audiences = f" and {', '.join(action.audiences)}" if action.audiences else ""
    return Outcome(f"announced {action.key} in {ctx.site.channel}{audiences}")
