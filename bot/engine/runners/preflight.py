"""The pre-flight check: can the bot reach every system of the site? Read-only.

It also reads, from the EFD, the CSCs beating now: the run's baseline, the ones that must be
OFFLINE after the shutdown and back at the end.
"""

from __future__ import annotations

import asyncio

from bot.config.sites import SiteConfig
from bot.engine.runners.context import Outcome, SiteSystems, StepContext
from integrations.base import Integration
from integrations.errors import IntegrationError
from state.actions import PreflightCheck

PING_TIMEOUT = 20.0
"""Seconds each system has to answer."""


async def _ping(name: str, system: Integration) -> str | None:
    try:
        await asyncio.wait_for(system.ping(), PING_TIMEOUT)
    except TimeoutError:
        return f"{name}: no answer in {PING_TIMEOUT:.0f}s"
    except IntegrationError as e:
        return f"{name}: {e}"
    return None


async def ping_all(systems: SiteSystems) -> dict[str, str | None]:
    """Every system of a site pinged at once: by name, ``None`` if it answered, else why not."""
    named = systems.named()
    found = await asyncio.gather(*(_ping(name, system) for name, system in named.items()))
    return dict(zip(named, found, strict=True))


async def prepull_rights(site: SiteConfig, systems: SiteSystems) -> dict[str, str | None]:
    """Where the site enables the pre-pull: whether the bot may run it (SelfSubjectAccessReview).

    By name as :func:`ping_all`; empty where the pre-pull is off.
    """
    where = site.prepull
    if not where.enabled or where.namespace is None:
        return {}
    name = f"Kubernetes pre-pull rights in {where.namespace}"
    try:
        missing = await asyncio.wait_for(
            systems.cluster.prepull_rights(where.namespace), PING_TIMEOUT
        )
    except TimeoutError:
        return {name: f"{name}: no answer in {PING_TIMEOUT:.0f}s"}
    except IntegrationError as e:
        return {name: f"{name}: {e}"}
    if missing:
        return {name: f"{name}: lacking {', '.join(missing)} (docs/prepull.md: the Role)"}
    return {name: None}


async def check(ctx: StepContext, _action: PreflightCheck) -> Outcome:
    """Ping every system at once; fail naming each one that did not answer."""
    named = ctx.systems.named()
    problems = [p for p in (await ping_all(ctx.systems)).values() if p]
    for line in problems:
        await ctx.report(line)
    if problems:
        raise IntegrationError(
            "pre-flight",
            f"{len(problems)} of {len(named)} systems unreachable",
            detail="; ".join(problems),
        )
    states = await ctx.systems.efd.states()
    baseline = tuple(ref for ref, csc in states.cscs.items() if csc.alive) if states.fresh else None
    beating = f"; {len(baseline)} CSCs beating" if baseline is not None else "; EFD not fresh"
    return Outcome(f"all {len(named)} systems reachable{beating}", baseline=baseline)
