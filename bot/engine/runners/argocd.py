"""ArgoCD syncs in the page's order: the first apps one by one, then the rest a few at a time.

Each app is synced, then followed until its operation ended and it is Synced and Healthy;
an app that ends Degraded or whose operation failed is named in the step's error.
"""

from __future__ import annotations

import asyncio

from bot.engine.runners.context import Outcome, StepContext
from integrations.errors import IntegrationError
from state.actions import ArgocdSync


async def _apps(ctx: StepContext, action: ArgocdSync) -> tuple[list[str], list[str]]:
    """(one by one, then in parallel)."""
    if action.project is None:
        return list(action.apps), []
    apps = [a for a in await ctx.systems.argocd.apps(action.project) if a not in action.exclude]
    first = [a for a in action.first if a in apps]
    return first, [a for a in apps if a not in first]


async def preview(ctx: StepContext, action: ArgocdSync) -> str:
    """The apps in order and, with ``show_diff``, their out-of-sync resources."""
    first, rest = await _apps(ctx, action)
    lines = [f"sync {', '.join(first)}" + (f", then {len(rest)} more" if rest else "")]
    if action.show_diff:
        for app in first + rest:
            diff = await ctx.systems.argocd.diff(app)
            lines.append(f"{app}: {len(diff)} out-of-sync resource(s)")
            lines.extend(f"  {resource}" for resource in diff[:40])
    return "\n".join(lines)


async def live(ctx: StepContext, action: ArgocdSync) -> str:
    """Each app's live state, for the lead deciding on a sync that was interrupted or failed."""
    first, rest = await _apps(ctx, action)
    lines = []
    for app in first + rest:
        status = await ctx.systems.argocd.status(app)
        operation = f", operation {status.operation}" if status.operation else ""
        message = f": {status.message}" if status.message else ""
        lines.append(f"{app}: {status.sync}, {status.health}{operation}{message}")
    return "Now in ArgoCD:\n" + "\n".join(lines)


async def _sync_one(ctx: StepContext, app: str, action: ArgocdSync) -> str | None:
    """Sync and follow one app; ``None`` when Synced and Healthy, else why not."""
    argocd = ctx.systems.argocd
    await argocd.sync(app, prune=action.prune)
    while True:
        await ctx.clock.sleep(action.poll.total_seconds())
        status = await argocd.status(app)
        if status.operation in {"Failed", "Error"}:
            return f"{app}: sync {status.operation}" + (
                f" ({status.message})" if status.message else ""
            )
        if status.operation == "Running":
            continue
        if status.health == "Degraded":
            return f"{app}: Degraded" + (f" ({status.message})" if status.message else "")
        if status.done:
            return None


async def sync(ctx: StepContext, action: ArgocdSync) -> Outcome:
    """Sync every app of the step and wait for each to be Synced and Healthy."""
    first, rest = await _apps(ctx, action)
    total = len(first) + len(rest)
    done: list[str] = []
    failed: list[str] = []
    running: set[str] = set()
    limit = asyncio.Semaphore(action.parallel)

    async def one(app: str) -> None:
        async with limit:
            running.add(app)
            await ctx.report(_line(done, failed, running, total))
            problem = await _sync_one(ctx, app, action)
            running.discard(app)
            (failed if problem else done).append(problem or app)
            await ctx.report(_line(done, failed, running, total))

    for app in first:
        await one(app)
    await asyncio.gather(*(one(app) for app in rest))
    if failed:
        raise IntegrationError(
            "ArgoCD", f"{len(failed)} of {total} app(s) not healthy: {'; '.join(failed)}"
        )
    return Outcome(f"{total} app(s) Synced and Healthy: {', '.join(done)}")


def _line(done: list[str], failed: list[str], running: set[str], total: int) -> str:
    line = f"{len(done)}/{total} Synced+Healthy"
    if running:
        line += f"; syncing {', '.join(sorted(running))}"
    if failed:
        line += f"; {len(failed)} failed"
    return line
