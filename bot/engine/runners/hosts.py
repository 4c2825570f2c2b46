"""``sudo systemctl stop|start`` on the site's camera bridges or bare-metal services."""

from __future__ import annotations

from bot.engine.runners.context import Outcome, StepContext
from integrations.errors import IntegrationError
from integrations.ssh import Unit
from state.actions import SshSystemctl


def units(ctx: StepContext, action: SshSystemctl) -> tuple[Unit, ...]:
    """The units of the action's host group at this site."""
    if action.hosts == "camera-bridges":
        return ctx.site.bridge_units()
    return ctx.site.bare_metal_units()


async def preview(ctx: StepContext, action: SshSystemctl) -> str:
    """The exact commands, shown while the step waits for approval."""
    lines = [f"sudo systemctl {action.verb} {u.unit}   on {u.host}" for u in units(ctx, action)]
    return "\n".join(lines) or f"no {action.hosts} configured for {ctx.site.name}"


async def systemctl(ctx: StepContext, action: SshSystemctl) -> Outcome:
    """Stop or start every unit and check each ended in the state asked for."""
    targets = units(ctx, action)
    if not targets:
        return Outcome(f"nothing to do: no {action.hosts} configured for {ctx.site.name}")
    results = await ctx.systems.hosts.systemctl(action.verb, targets, ctx.report)
    want = "inactive" if action.verb == "stop" else "active"
    wrong = [r for r in results if r.error or r.active != want]
    if wrong:
        raise IntegrationError(
            "SSH",
            f"{len(wrong)} of {len(results)} unit(s) not {want} after {action.verb}",
            detail="; ".join(
                f"{r.unit}: {r.active}" + (f" ({r.error})" if r.error else "") for r in wrong
            ),
        )
    return Outcome(f"{len(results)} unit(s) {want}: {', '.join(str(r.unit) for r in results)}")
