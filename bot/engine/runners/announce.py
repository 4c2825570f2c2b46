"""Announcements, made once: posted, then their key recorded in the run.

``{control_system}`` in a message says what the run's end-state watch found, at the moment of
posting: "back" only when every CSC reached its end state; otherwise which CSCs are still in
trouble and who was told (the deadline report in the site channel, the principals messaged),
and which camera CSCs the camera team is still bringing up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.config.sites import SiteConfig
from bot.engine.runners.context import Outcome, StepContext
from bot.engine.runners.keys import deadline_key, dm_prefix
from integrations.announce import Announcer
from integrations.mrkdwn import escape, mention
from state.actions import Announce, EfdWaitForStates
from state.run import Run, StepState, StepStatus

SHOWN = 8
"""CSCs named in an announcement before "and N more"."""


def text(run: Run, site: SiteConfig, action: Announce) -> str:
    """The message with the run's facts filled in: the lead by name (no ping), escaped.

    The message itself is the procedure's mrkdwn; what comes from people (the cycle they
    typed, the lead's name) is escaped as it is put in.
    """
    said = {
        "site": site.title,
        "kind": run.kind,
        "cycle": escape(run.cycle or "n/a"),
        "lead": escape(run.name(run.lead)),
    }
    if "{control_system}" in action.message:
        said["control_system"] = control_system(run, site)
    return action.message.format(**said).strip()


def _names(refs: tuple[str, ...]) -> str:
    more = f" and {len(refs) - SHOWN} more" if len(refs) > SHOWN else ""
    return escape(", ".join(refs[:SHOWN])) + more


def control_system(run: Run, site: SiteConfig) -> str:
    """Whether the control system is back, as the run's last end-state watch found it."""
    watch = next(
        (
            s
            for s in reversed(run.steps)
            if isinstance(s.step.action, EfdWaitForStates) and s.step.action.expect == "end-states"
        ),
        None,
    )
    if watch is None or not watch.status.ended:
        return "The bot has not verified the CSCs' end states in this run."
    if watch.status is StepStatus.SKIPPED:
        why = escape(watch.reason or "")
        return f"The end-state watch was skipped ({why}): the CSCs were not verified."
    if watch.status is StepStatus.DONE_BY_HAND:
        note = f": {escape(watch.reason)}" if watch.reason else ""
        who = escape(run.name(watch.ended_by or "?"))
        return f"The end states were marked done by {who}{note}."
    if watch.status is StepStatus.DONE_WITH_ISSUES:
        in_trouble = tuple(issue.partition(" ")[0] for issue in watch.issues)
        said = (
            f"The control system is *not* all back: {len(in_trouble)} CSC(s) still in trouble "
            f"({_names(in_trouble)}); {_told(run, site, watch)}."
        )
        if watch.camera_team:
            said += f" The camera team is still bringing up {_names(watch.camera_team)} (Stage 2)."
    elif watch.camera_team:
        said = (
            "The control system is back but for the cameras, which the camera team is still "
            f"bringing up (Stage 2): {_names(watch.camera_team)}."
        )
    else:
        said = "The control system is back."
    if watch.offline_up:
        said += f" Up in OFFLINE: {_names(watch.offline_up)}."
    if said != "The control system is back.":  # things may have moved since
        said += " (As the end-state watch found them.)"
    return said


def _told(run: Run, site: SiteConfig, watch: StepState) -> str:
    """Who was told of the CSCs in trouble: the deadline report, the principals messaged."""
    told = []
    if deadline_key(watch.id, watch.attempt) in run.announced:
        told.append(f"reported in {site.channel}")
    prefix = dm_prefix(watch.id, watch.attempt)
    messaged = [key.removeprefix(prefix) for key in run.announced if key.startswith(prefix)]
    if messaged:
        told.append("their principals messaged: " + ", ".join(mention(u) for u in messaged))
    else:
        told.append("no principal messaged by the bot")
    return "; ".join(told)


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
