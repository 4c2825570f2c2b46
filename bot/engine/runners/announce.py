"""Announcements, made once: posted, then their key recorded in the run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.config.sites import SiteConfig
from bot.engine.runners.context import Outcome, StepContext
from integrations.announce import Announcer
from integrations.mrkdwn import escape
from state.actions import Announce
from state.run import Run


def text(run: Run, site: SiteConfig, action: Announce) -> str:
    """The message with the run's facts filled in: the lead by name (no ping), escaped.

    The message itself is the procedure's mrkdwn; what comes from people (the cycle they
    typed, the lead's name) is escaped as it is put in.
    """
    return action.message.format(
        site=site.title,
        kind=run.kind,
        cycle=escape(run.cycle or "n/a"),
        lead=escape(run.name(run.lead)),
    ).strip()


def poster(
    announcer: Announcer, run: Run, site: SiteConfig, action: Announce
) -> Callable[[], Awaitable[None]]:
    """What posts the announcement (the step, or the lead's button after a hold)."""

    async def post() -> None:
        await announcer.announce(
            site=site.name,
            key=action.key,
            text=text(run, site, action),
            audiences=action.audiences,
            acknowledge=action.acknowledge,
        )

    return post


async def announce(ctx: StepContext, action: Announce) -> Outcome:
    """Post the announcement unless this run made it already (a retried step, a restart)."""
    made = await ctx.once(action.key, poster(ctx.systems.announcer, ctx.run, ctx.site, action))
    if made is not None:
        return Outcome(f"already announced at {made:%H:%M} UTC ({action.key})")
    channels, groups = ctx.site.recipients(action.audiences)
    mentioned = f", mentioning {', '.join(groups)}" if groups else ""
    return Outcome(f"announced {action.key} in {', '.join(channels)}{mentioned}")
