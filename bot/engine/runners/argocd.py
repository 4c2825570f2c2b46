"""ArgoCD syncs in the page's order: the first apps one by one, then the rest a few at a time.

Each app is synced, then followed until its operation ended and it is Synced and Healthy;
an app that ends Degraded or whose operation failed is named in the step's error. The page
says to be patient with container pulling: an app Degraded only because its pods back off an
image pull (``ErrImagePull``, ``ImagePullBackOff``, which the kubelet retries by itself) is
waited for, never failed, and a sync past its expected time is the lead's to decide (the
engine asks them, with :func:`live`); the bot never terminates it by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.engine.runners.context import Outcome, StepContext
from integrations.argocd import AppStatus, Pod
from integrations.errors import IntegrationError
from state.actions import ArgocdSync

PODS_SHOWN = 4
"""Pods named per app in the live state (the others counted)."""


async def _apps(ctx: StepContext, action: ArgocdSync) -> tuple[list[str], list[str]]:
    """(one by one, then in parallel)."""
    if action.project is None:
        return list(action.apps), []
    live = await ctx.systems.argocd.apps(action.project)
    missing = [app for app in action.first if app not in live]
    if missing:  # the page's order (LOVE first) cannot be kept: the lead decides, not the bot
        raise IntegrationError(
            "ArgoCD",
            f"{', '.join(missing)} (to sync first) not among the {len(live)} application(s) of"
            f" project {action.project}: is the Phalanx branch merged, the name right?",
        )
    apps = [app for app in live if app not in action.exclude]
    first = [app for app in action.first if app in apps]
    return first, [app for app in apps if app not in first]


async def synced_apps(ctx: StepContext, action: ArgocdSync) -> list[str]:
    """Every app the step syncs, in the order it syncs them."""
    first, rest = await _apps(ctx, action)
    return first + rest


PREPULL_READ = 15.0
"""Seconds the sync gives the read of a pre-pull still running (it never waits on it)."""


async def _prepull_note(ctx: StepContext) -> str:
    """A pre-pull still running, shown with the sync's progress (never waited for)."""
    where = ctx.site.prepull
    if not where.enabled or where.namespace is None:
        return ""
    try:
        read = ctx.systems.cluster.prepull_state(where.namespace, where.name)
        state = await asyncio.wait_for(read, PREPULL_READ)
    except (IntegrationError, TimeoutError):
        return ""
    if not state.exists or state.done:
        return ""
    done = sum(1 for node in state.nodes if node.done)
    return f"; pre-pull still running ({done}/{state.desired} nodes done), not waited for"


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
    """Each app's live state and, for those not Healthy yet, what their pods are doing.

    For the lead deciding on a sync that is overdue, was interrupted or failed: which pods are
    ``ContainerCreating``, backing off an image pull, crash-looping (the resource tree).
    """
    first, rest = await _apps(ctx, action)
    lines = []
    alike: dict[str, list[str]] = {}  # apps with nothing more to say, by what they say
    for app in first + rest:
        status = await ctx.systems.argocd.status(app)
        operation = f", operation {status.operation}" if status.operation else ""
        message = f": {status.message}" if status.message else ""
        said = f"{status.sync}, {status.health}{operation}{message}"
        pods = [] if status.done else _pods_text(await ctx.systems.argocd.pods(app))
        if pods:
            lines += [f"{app}: {said}", *(f"  {line}" for line in pods)]
        else:
            alike.setdefault(said, []).append(app)
    lines += [f"{', '.join(apps)}: {said}" for said, apps in alike.items()]
    return "Now in ArgoCD:\n" + "\n".join(lines)


def _pods_text(pods: list[Pod]) -> list[str]:
    """The pods that are not ready, a few by name (the rest counted)."""
    waiting = [pod for pod in pods if not pod.ready]
    lines = [pod.line() for pod in waiting[:PODS_SHOWN]]
    if len(waiting) > PODS_SHOWN:
        lines.append(f"and {len(waiting) - PODS_SHOWN} more pod(s) not ready")
    return lines


async def _pulling(ctx: StepContext, app: str) -> list[Pod]:
    """The app's pods backing off an image pull, if that is all that makes it Degraded."""
    pods = await ctx.systems.argocd.pods(app)
    pulling = [pod for pod in pods if pod.pulling]
    others = [pod for pod in pods if pod.health == "Degraded" and not pod.pulling]
    return [] if others else pulling


@dataclass
class Progress:
    """Where a step's syncs stand, for its progress line."""

    total: int
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    pulling: set[str] = field(default_factory=set)
    """Degraded only by pods backing off their image pulls (waited for)."""
    following: set[str] = field(default_factory=set)
    """Apps whose operation was already in progress: followed, not started again."""

    def line(self) -> str:
        """``3/12 Synced+Healthy; syncing love, nublado; waiting on image pulls: love``."""
        line = f"{len(self.done)}/{self.total} Synced+Healthy"
        if self.running:
            line += f"; syncing {', '.join(sorted(self.running))}"
        if self.following:
            line += f"; following a sync already in progress: {', '.join(sorted(self.following))}"
        if self.pulling:
            line += f"; waiting on image pulls: {', '.join(sorted(self.pulling))}"
        if self.failed:
            line += f"; {len(self.failed)} failed"
        return line


async def _sync_one(
    ctx: StepContext,
    app: str,
    action: ArgocdSync,
    progress: Progress,
    say: Callable[[], Awaitable[None]],
) -> str | None:
    """Sync and follow one app; ``None`` when Synced and Healthy, else why not.

    While the app waits on image pulls it is in ``progress.pulling`` (``say`` tells each
    change). An operation already in progress on the app (a sync whose request timed out on an
    earlier attempt, one started by hand) is followed, not started again, and said so.
    """
    argocd = ctx.systems.argocd
    if not await argocd.sync(app, prune=action.prune):
        progress.following.add(app)
        await say()
    while True:
        await ctx.clock.sleep(action.poll.total_seconds())
        status = await argocd.status(app)
        problem = _problem(app, status)
        # Degraded by pods backing off their image pulls only: the kubelet goes on pulling.
        on_pulls = problem is not None and status.health == "Degraded"
        on_pulls = on_pulls and bool(await _pulling(ctx, app))
        if problem is not None and status.health == "Degraded" and not on_pulls:
            # The pull may have ended between the two reads (its pods no longer back off):
            # the status read after the pods says whether the app is still Degraded.
            status = await argocd.status(app)
            problem = _problem(app, status)
        if on_pulls != (app in progress.pulling):
            (progress.pulling.add if on_pulls else progress.pulling.discard)(app)
            await say()
        if not on_pulls and (problem is not None or status.done):
            return problem


def _problem(app: str, status: AppStatus) -> str | None:
    """Why the app has failed, once its operation is over (``None``: not failed)."""
    message = f" ({status.message})" if status.message else ""
    if status.operation in {"Failed", "Error"}:
        return f"{app}: sync {status.operation}{message}"
    if status.operation != "Running" and status.health == "Degraded":
        return f"{app}: Degraded{message}"
    return None


async def sync(ctx: StepContext, action: ArgocdSync) -> Outcome:
    """Sync every app of the step and wait for each to be Synced and Healthy."""
    first, rest = await _apps(ctx, action)
    progress = Progress(total=len(first) + len(rest))
    limit = asyncio.Semaphore(action.parallel)
    prepulling = await _prepull_note(ctx)

    async def say() -> None:
        await ctx.report(progress.line() + prepulling)

    async def one(app: str) -> None:
        async with limit:
            progress.running.add(app)
            await say()
            problem = await _sync_one(ctx, app, action, progress, say)
            progress.running.discard(app)
            progress.following.discard(app)
            (progress.failed if problem else progress.done).append(problem or app)
            await say()

    for app in first:
        await one(app)
    await asyncio.gather(*(one(app) for app in rest))
    if progress.failed:
        raise IntegrationError(
            "ArgoCD",
            f"{len(progress.failed)} of {progress.total} app(s) not healthy:"
            f" {'; '.join(progress.failed)}",
        )
    return Outcome(f"{progress.total} app(s) Synced and Healthy: {', '.join(progress.done)}")
