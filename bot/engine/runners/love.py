"""Queue the standard scripts through LOVE, with configurations valid against their schemas.

Symbolic targets are resolved here, when the step runs: the stragglers the EFD still hears,
the site's ScriptQueues (the queue running the script last), the CSCs the site keeps ENABLED.
When LOVE is down, the error carries the page's fallback: the same script and configuration,
to run from Nublado.

A ScriptQueue pauses itself after a failed script (ts_scriptqueue), so the script queued next
would wait for ever. The bot never resumes a queue on its own: the preview tells the lead the
queue is paused and that approving (or retrying) resumes it with ``cmd_resume``; only a step the
lead approved or retried does so.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.engine.runners.context import Outcome, StepContext
from bot.engine.runners.efd import stragglers
from integrations.errors import IntegrationError
from integrations.love import QueueState
from state.actions import LoveCommand, RunOtherScript, RunSetSummaryState, RunShutdownScript

ScriptAction = RunShutdownScript | RunSetSummaryState | RunOtherScript


async def script_config(ctx: StepContext, action: ScriptAction) -> dict[str, Any]:
    """The configuration the script gets, as a mapping (valid against its real schema)."""
    if isinstance(action, RunShutdownScript):
        config: dict[str, Any] = {
            "user": ctx.run.lead,
            "reason": f"{ctx.run.kind} of {ctx.site.name} (run {ctx.run.run_id})",
        }
        ignore = list(dict.fromkeys([*ctx.site.ignore, *action.config.ignore]))
        lists = {
            "start_with": list(action.config.start_with),
            "end_with": list(action.config.end_with),
            "ignore": ignore,
        }
        config.update({key: value for key, value in lists.items() if value})
        return config
    if isinstance(action, RunSetSummaryState):
        entries: list[list[str]] = [list(entry) for entry in action.config.data]
        if action.config.targets is not None:
            state = action.config.state or "OFFLINE"
            entries = [[ref, state] for ref in await _targets(ctx, action)]
        return {
            "data": entries,
            "mute_alarms": action.config.mute_alarms,
            "mute_duration": action.config.mute_duration,
        }
    return dict(action.config)


async def _targets(ctx: StepContext, action: RunSetSummaryState) -> list[str]:
    targets = action.config.targets
    if targets == "scriptqueues":
        queues = [q for q in sorted(ctx.site.scriptqueues, reverse=True) if q != action.queue]
        return [f"ScriptQueue:{q}" for q in queues] + [f"ScriptQueue:{action.queue}"]
    if targets == "keep-enabled":
        return list(ctx.site.keep_enabled)
    return [c.ref for c in await stragglers(ctx)]


def _yaml(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None).strip()


def _paused(state: QueueState, verb: str) -> str:
    return (
        f"{state.line()}. {verb} resumes it (cmd_resume) before queueing: "
        "look at why the script failed first."
    )


async def preview_script(ctx: StepContext, action: ScriptAction) -> str:
    """What will be queued, shown while the step waits for approval, and the queue's state."""
    try:
        config = _yaml(await script_config(ctx, action))
    except IntegrationError as e:  # stragglers need the EFD; say so rather than guess
        text = f"{action.script} on ScriptQueue {action.queue}; configuration when run ({e})"
    else:
        text = f"{action.script} on ScriptQueue {action.queue} with:\n{config}"
    try:
        queue = await ctx.systems.love.queue_state(action.queue)
    except IntegrationError as e:
        return f"{text}\n(ScriptQueue {action.queue} not read: {e})"
    if queue.running is False:
        text = f"{_paused(queue, 'Approving')}\n{text}"
    return text


async def live_queue(ctx: StepContext, action: ScriptAction) -> str:
    """Before a Retry: the queue's state (a failed script left it paused)."""
    queue = await ctx.systems.love.queue_state(action.queue)
    if queue.running is False:
        return _paused(queue, "Retry")
    return f"{queue.line()}."


async def _ready_queue(ctx: StepContext, queue: int) -> str:
    """Resume a paused queue if the lead approved this attempt; what was done, for the summary."""
    state = await ctx.systems.love.queue_state(queue)
    if state.running is not False:
        return ""
    if ctx.state.approved_by is None:
        raise IntegrationError(
            "ScriptQueue",
            f"{state.line()}: a script queued now would wait. Retry resumes it (cmd_resume).",
        )
    await ctx.systems.love.resume(queue)
    said = f"resumed ScriptQueue {queue} (paused after {state.current or 'a failed script'})"
    await ctx.report(said)
    return f"; {said}, approved by {ctx.state.approved_by}"


async def run_script(ctx: StepContext, action: ScriptAction) -> Outcome:
    """Queue the script, follow it to its end, and fail with its own message if it fails."""
    config = await script_config(ctx, action)
    if isinstance(action, RunSetSummaryState) and not config["data"]:
        return Outcome(f"nothing to do: no {action.config.targets} to send {action.config.state}")
    text = _yaml(config)
    try:
        resumed = await _ready_queue(ctx, action.queue)
        result = await ctx.systems.love.run_script(
            queue=action.queue,
            path=action.script,
            standard=action.standard,
            config=text,
            description=f"upgrade-bot {ctx.run.run_id} step {ctx.state.id}",
            report=ctx.report,
        )
    except IntegrationError as e:
        if "connect" in e.message.lower() or e.status in {502, 503, 504}:
            raise IntegrationError(
                e.system,
                f"{e.message}. A command that timed out may still have queued the script: "
                f"check ScriptQueue {action.queue} before anything else. If it is not there, "
                f"the page's fallback: run {action.script} from Nublado with this "
                f"configuration:\n{text}",
                host=e.host,
                status=e.status,
                detail=e.detail,
            ) from e
        raise
    entries = len(config.get("data", ()))  # an entry may be Name:* (every running index)
    count = f", {entries} in data" if entries else ""
    return Outcome(
        f"{action.script} ended {result.final_state} (script {result.script_index} "
        f"on ScriptQueue {result.queue}{count}){resumed}"
    )


async def command(ctx: StepContext, action: LoveCommand) -> Outcome:
    """Send one command to one CSC and report its ack."""
    ack = await ctx.systems.love.command(
        csc=action.csc, index=action.index, command=action.command, params=dict(action.params)
    )
    return Outcome(f"{action.csc}:{action.index} {action.command}: {ack}")
