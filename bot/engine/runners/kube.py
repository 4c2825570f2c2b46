"""Kubernetes cleanup: prove it is the site's cluster, show what goes, then delete it."""

from __future__ import annotations

from collections import Counter

from bot.engine.runners.context import Outcome, StepContext
from integrations.errors import IntegrationError
from integrations.kube import Deletion
from state.actions import KubeCleanup


async def prove_cluster(ctx: StepContext, doing: str) -> None:
    """Refuse to act (``doing``: "clean up") unless the API server is the site's cluster."""
    found = await ctx.systems.cluster.identity()
    if found != ctx.site.cluster:
        raise IntegrationError(
            "Kubernetes",
            f"refusing to {doing}: this API server is the {found!r} cluster, "
            f"not {ctx.site.name}'s {ctx.site.cluster!r}",
        )


async def _checked_plan(ctx: StepContext, action: KubeCleanup) -> list[Deletion]:
    await prove_cluster(ctx, "clean up")
    return await ctx.systems.cluster.plan_cleanup(action.scope, daemonsets=action.daemonsets)


def _summary(plan: list[Deletion]) -> str:
    kinds = Counter(d.kind for d in plan)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"


async def preview(ctx: StepContext, action: KubeCleanup) -> str:
    """What the cleanup will delete (after proving the cluster), for the lead's approval."""
    plan = await _checked_plan(ctx, action)
    if not plan:
        return f"cluster {ctx.site.cluster}: nothing to delete (already clean)"
    namespaces = sorted({d.namespace or d.name for d in plan})
    return f"cluster {ctx.site.cluster}: will delete {_summary(plan)} in {', '.join(namespaces)}"


async def cleanup(ctx: StepContext, action: KubeCleanup) -> Outcome:
    """Delete what the cleanup script would, on the right cluster only."""
    plan = await _checked_plan(ctx, action)
    await ctx.systems.cluster.delete(plan, ctx.report)
    return Outcome(f"deleted {_summary(plan)} on {ctx.site.cluster}")
