"""The pre-pull: the images the run will sync, and a DaemonSet pulling them in the background.

Before approval the lead sees the images (ArgoCD's manifests at the run's Phalanx branch) with
how many per application. Approved, the step proves the cluster, creates the DaemonSet
(:mod:`integrations.kube._prepull`) and ends: the run goes on. Its follower, a background task
the engine owns, reads the pods every ``poll``, tells the run's thread what cannot be pulled
(an image failing ``give_up`` long is dropped: the DaemonSet is replaced without it, and the
deployment pulls it), and removes the DaemonSet once every node has every image, after
``follow``, when the lead says so (``/upgrade prepull stop``), when the run ends, or when the
bot stops. Whatever happens to it, no step waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import structlog

from bot.engine.runners.argocd import synced_apps
from bot.engine.runners.context import Outcome, StepContext
from bot.engine.runners.kube import prove_cluster
from integrations.announce import Notice
from integrations.errors import IntegrationError
from integrations.images import AppImages, unique_images
from integrations.kube import Failure, Prepull, PrepullState
from integrations.mrkdwn import escape
from state.actions import ArgocdSync, KubePrepull

REMOVE_TIMEOUT = 5.0
"""Seconds the follower's last act, removing the DaemonSet, may take (even when cancelled):
short, so a graceful stop stays quick; a DaemonSet left behind holds only ``pause`` pods, and
the next pre-pull of the site replaces it (same name)."""
READS_LOST = 10
"""Reads failing in a row after which the follower gives up (and removes the DaemonSet)."""

_log = structlog.get_logger("upgrade_bot.prepull")


async def images(ctx: StepContext) -> list[AppImages]:
    """Each application the run will sync, in sync order, with its images at the run's branch."""
    apps: list[str] = []
    for state in ctx.run.steps:
        if isinstance(state.step.action, ArgocdSync):
            apps += [a for a in await synced_apps(ctx, state.step.action) if a not in apps]
    revision = ctx.run.phalanx_branch
    return [await ctx.systems.argocd.images(app, revision) for app in apps]


def _listing(found: list[AppImages], revision: str | None) -> str:
    at = f"at {revision}" if revision else "at each app's target revision (the run names no branch)"
    total = len(unique_images(found))
    lines = [f"{total} image(s) of {len(found)} application(s) {at}:"]
    lines += [f"  {app.app}: {len(app.images)}" for app in found]
    return "\n".join(lines)


async def preview(ctx: StepContext, action: KubePrepull) -> str:
    """The images by application, and where the DaemonSet goes."""
    del action
    where = ctx.site.prepull
    listing = _listing(await images(ctx), ctx.run.phalanx_branch)
    return (
        f"{listing}\nDaemonSet {where.namespace}/{where.name} on every node of {ctx.site.cluster}"
    )


async def prepull(ctx: StepContext, action: KubePrepull) -> Outcome:
    """Create the DaemonSet on the site's cluster, leave its follower running, and end."""
    where = ctx.site.prepull
    if where.namespace is None:  # the configuration refuses it enabled without one
        raise IntegrationError("Kubernetes", "the site's prepull namespace is not configured")
    await prove_cluster(ctx, "pre-pull")
    listed = await images(ctx)
    spec = Prepull(
        namespace=where.namespace,
        name=where.name,
        run=ctx.run.run_id,
        images=unique_images(listed),
        pause_image=where.pause_image,
        noop_image=where.noop_image,
    )
    if not spec.images:
        return Outcome("nothing to pre-pull: the applications' manifests name no image")
    await ctx.systems.cluster.start_prepull(spec)
    ctx.background(follow(ctx, action, spec))
    return Outcome(
        f"pre-pulling {len(spec.images)} image(s) of {len(listed)} application(s) on every node "
        f"(DaemonSet {spec.namespace}/{spec.name}); the run goes on, nothing waits on it"
    )


def progress(state: PrepullState, images: int, dropped: int) -> str:
    """``Pre-pull: 4/6 nodes have all 23 images; 1 failing, 2 left to the deployment``."""
    done = sum(1 for node in state.nodes if node.done)
    failing = len(state.failures())
    left = f", {dropped} left to the deployment" if dropped else ""
    said = f"; {failing} failing" if failing else ""
    return f"Pre-pull: {done}/{state.desired} nodes have all {images} images{said}{left}"


async def _tell(ctx: StepContext, key: str, text: str) -> None:
    """A line in the run's thread, once per ``key``; a post that fails is logged, not raised."""
    notice = Notice(ctx.run.run_id, f"prepull:{key}", text, in_thread=True)

    async def post() -> None:
        await ctx.systems.announcer.tell(site=ctx.run.site, notice=notice)

    try:
        await ctx.once(notice.key, post)
    except Exception:  # noqa: BLE001  # Slack down: the pre-pull goes on, it is logged
        _log.exception("Pre-pull notice not posted", run=ctx.run.run_id, key=key)


def _failed(failure: Failure) -> str:
    return f":warning: Pre-pull: `{escape(failure.line())}` cannot be pulled now."


async def follow(ctx: StepContext, action: KubePrepull, spec: Prepull) -> None:
    """Follow the DaemonSet's pods to the end, and remove it (also when cancelled)."""
    follower = _Follower(ctx, action, spec)
    try:
        end = await follower.run()
    finally:
        await _remove(ctx, follower.spec)
    dropped = follower.dropped
    left = f"; left to the deployment: {', '.join(dropped)}" if dropped else ""
    await _tell(ctx, "end", f"Pre-pull {escape(end)}{escape(left)}. The DaemonSet is removed.")


class _Follower:
    """One pre-pull followed: what fails since when, what was dropped, the spec as it is now."""

    def __init__(self, ctx: StepContext, action: KubePrepull, spec: Prepull) -> None:
        self.ctx, self.action, self.spec = ctx, action, spec
        self.dropped: list[str] = []
        self.since: dict[str, float] = {}

    async def run(self) -> str:
        """Read every ``poll`` until the end; how it ended."""
        ctx, action = self.ctx, self.action
        start, lost = ctx.clock.now(), 0
        while True:
            await ctx.clock.sleep(action.poll.total_seconds())
            elapsed = (ctx.clock.now() - start).total_seconds()
            try:
                state = await ctx.systems.cluster.prepull_state(self.spec.namespace, self.spec.name)
            except IntegrationError as e:
                lost += 1
                _log.warning("Pre-pull not read", run=ctx.run.run_id, error=str(e))
                if lost >= READS_LOST:
                    return f"stopped: the DaemonSet could not be read ({e})"
                continue
            lost = 0
            ended = await self._step(state, elapsed)
            if ended is not None:
                return ended

    async def _step(self, state: PrepullState, elapsed: float) -> str | None:
        """Act on one read; how it ended, if it did."""
        if not state.exists:
            return "ended: the DaemonSet is gone (removed by someone else)"
        failures = state.failures()
        for image, failure in failures.items():
            if image not in self.since:
                self.since[image] = elapsed
                await _tell(self.ctx, f"failing:{image}", _failed(failure))
        give_up = self.action.give_up.total_seconds()
        stale = [i for i in failures if elapsed - self.since[i] >= give_up]
        if stale:
            return await self._drop(stale)
        await self.ctx.report(progress(state, len(self.spec.images), len(self.dropped)))
        if state.done:
            return f"done: every node has the {len(self.spec.images)} image(s)"
        if elapsed >= self.action.follow.total_seconds():
            return f"stopped after {self.action.follow}: the deployment pulls what is missing"
        return None

    async def _drop(self, stale: list[str]) -> str | None:
        """Replace the DaemonSet without the images that keep failing (they hold the others)."""
        self.dropped += stale
        kept = tuple(i for i in self.spec.images if i not in self.dropped)
        self.spec = replace(self.spec, images=kept)
        names = ", ".join(f"`{escape(i)}`" for i in stale)
        await _tell(
            self.ctx,
            f"dropped:{len(self.dropped)}",
            f"Pre-pull: {names} left to the deployment (it pulls them itself); the other "
            "images go on.",
        )
        if not kept:
            return "ended: no image could be pulled"
        await self.ctx.systems.cluster.start_prepull(self.spec)
        return None


async def _remove(ctx: StepContext, spec: Prepull) -> None:
    """Delete the DaemonSet, bounded, even while the follower is being cancelled."""
    removal = asyncio.ensure_future(ctx.systems.cluster.stop_prepull(spec.namespace, spec.name))
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(removal), REMOVE_TIMEOUT)
    if not removal.done() or removal.cancelled() or removal.exception() is not None:
        _log.error(
            "Pre-pull DaemonSet not removed: delete it by hand",
            run=ctx.run.run_id,
            daemonset=f"{spec.namespace}/{spec.name}",
        )
