"""Queue the standard scripts through LOVE, with configurations valid against their schemas.

Symbolic targets are resolved here, when the step runs: the stragglers proposed to the lead,
the site's ScriptQueues (the queue running the script last), the CSCs the site keeps ENABLED.

What the real systems do that shapes this (see ``rubin-interfaces.md``):

- A ScriptQueue pauses itself after a failed script (ts_scriptqueue), so the script queued next
  would wait for ever. The bot never resumes a queue on its own: the preview tells the lead
  the queue is paused and that approving (or retrying) resumes it with ``cmd_resume``.
- ``system_wide_shutdown.py`` ends FAILED when some CSCs would not go OFFLINE ("A total of N
  components failed to transition to offline."). That is the common night, not a failure of
  the step: it ends with those CSCs named, and the stragglers step proposes them.
- The ScriptQueue that runs ``set_summary_state.py`` for the queues goes OFFLINE last and, as
  it exits, terminates the script (ts_scriptqueue ``close_tasks``): the script is never seen
  DONE. The step succeeds when every ScriptQueue's heartbeat has stopped in the EFD.
- LOVE acks ``cmd_add`` once the script's process started: no answer (a timeout, a 504, a
  dropped connection) may still mean the script is queued. A Retry reads the queue first and
  follows the copy already there instead of adding another. When LOVE cannot be reached at
  all, nothing was queued: the error carries the page's fallback, a Nublado notebook cell.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import yaml

from bot.engine.runners import nublado
from bot.engine.runners.context import Outcome, StepContext
from bot.engine.runners.efd import describe, stragglers
from integrations.errors import IntegrationError, NoAnswer, Unreachable
from integrations.love import QueueState, ScriptRun
from state.actions import LoveCommand, RunOtherScript, RunSetSummaryState, RunShutdownScript

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from state.run import Run, StepState

ScriptAction = RunShutdownScript | RunSetSummaryState | RunOtherScript

QUEUE_POLL = 5.0
"""Seconds between EFD reads while the ScriptQueues come down."""
QUEUE_GRACE = 30.0
"""Seconds given to the queues' heartbeats to stop after their script ended (the EFD judges a
CSC silent 10 s after its last beat)."""


async def script_config(ctx: StepContext, action: ScriptAction) -> dict[str, Any]:
    """The configuration the script gets, as a mapping (valid against its real schema)."""
    if not isinstance(action, RunSetSummaryState):
        return _given_config(ctx.run, ctx.site, action)
    targets = planned_targets(ctx.state, ctx.site, action)
    if targets is None and action.config.targets == "keep-enabled":
        raise IntegrationError(  # unset since the run started: never guessed
            "configuration", f"keep_enabled is not set for {ctx.site.name}: do it by hand"
        )
    if targets is None:
        targets = await propose(ctx, action)
    return _summary_config(action, targets)


def planned_config(
    run: Run, state: StepState, site: SiteConfig, action: ScriptAction
) -> dict[str, Any] | None:
    """The configuration as far as it is known without reading the observatory.

    ``None`` for the stragglers before they were read and proposed, and for the site's kept
    CSCs while they are unset: a person doing the step by hand is never shown a guess.
    """
    if not isinstance(action, RunSetSummaryState):
        return _given_config(run, site, action)
    targets = planned_targets(state, site, action)
    return None if targets is None else _summary_config(action, targets)


def _given_config(
    run: Run, site: SiteConfig, action: RunShutdownScript | RunOtherScript
) -> dict[str, Any]:
    if isinstance(action, RunOtherScript):
        return dict(action.config)
    config: dict[str, Any] = {
        "user": run.lead,
        "reason": f"{run.kind} of {site.name} (run {run.run_id})",
    }
    ignore = list(dict.fromkeys([*site.ignore, *action.config.ignore]))
    lists = {
        "start_with": list(action.config.start_with),
        "end_with": list(action.config.end_with),
        "ignore": ignore,
    }
    config.update({key: value for key, value in lists.items() if value})
    return config


def _summary_config(action: RunSetSummaryState, targets: list[str]) -> dict[str, Any]:
    entries: list[list[str]] = [list(entry) for entry in action.config.data]
    if action.config.targets is not None:
        entries = [[ref, action.config.state or "OFFLINE"] for ref in targets]
    return {
        "data": entries,
        "mute_alarms": action.config.mute_alarms,
        "mute_duration": action.config.mute_duration,
    }


def planned_targets(
    state: StepState, site: SiteConfig, action: RunSetSummaryState
) -> list[str] | None:
    """The script's targets known from the site and the step (``None``: not known yet)."""
    targets = action.config.targets
    if targets == "scriptqueues":
        queues = [q for q in sorted(site.scriptqueues, reverse=True) if q != action.queue]
        return [f"ScriptQueue:{q}" for q in queues] + [f"ScriptQueue:{action.queue}"]
    if targets == "keep-enabled":
        return None if site.keep_enabled is None else list(site.keep_enabled)
    if targets is None or state.proposed is not None:  # what the lead saw and approved
        return list(state.proposed or ())
    return None


async def propose(ctx: StepContext, _action: RunSetSummaryState) -> list[str]:
    """The stragglers: CSCs of the run's baseline still beating (never Scripts, never queues)."""
    return [csc.ref for csc in await stragglers(ctx)]


def as_yaml(config: dict[str, Any]) -> str:
    """A script's configuration as LOVE's form and the Nublado cell take it (YAML text)."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None).strip()


def _paused(state: QueueState, verb: str) -> str:
    return (
        f"{state.line()}. {verb} resumes it (cmd_resume) before queueing: "
        "look at why the script failed first."
    )


def description(ctx: StepContext) -> str:
    """What the bot writes in ``descr``: how a copy of this step's script is recognised."""
    return describing(ctx.run.run_id, ctx.state.id)


def describing(run_id: str, step_id: str) -> str:
    """The ``descr`` of a step's script (the bot's, or one a person adds by hand)."""
    return f"upgrade-bot {run_id} step {step_id}"


async def preview_script(ctx: StepContext, action: ScriptAction) -> str:
    """What will be queued, shown while the step waits for approval, and the queue's state."""
    try:
        config = as_yaml(await script_config(ctx, action))
    except IntegrationError as e:  # stragglers need the EFD; say so rather than guess
        text = f"{action.script} on ScriptQueue {action.queue}; configuration when run ({e})"
    else:
        text = f"{action.script} on ScriptQueue {action.queue} with:\n{config}"
    if isinstance(action, RunSetSummaryState) and action.is_scriptqueue_shutdown():
        text = f"{await _gate_line(ctx)}\n{text}"
    try:
        queue = await ctx.systems.love.queue_state(action.queue)
    except IntegrationError as e:
        return f"{text}\n(ScriptQueue {action.queue} not read: {e})"
    if queue.running is False:
        text = f"{_paused(queue, 'Approving')}\n{text}"
    return text


async def live_queue(ctx: StepContext, action: ScriptAction) -> str:
    """Before a Retry: the queue's state, and a copy of this step's script if one is there."""
    queue = await ctx.systems.love.queue_state(action.queue)
    copy = queue.copy_of(description(ctx))
    lines = [_paused(queue, "Retry") if queue.running is False else f"{queue.line()}."]
    if copy is not None:
        lines.append(
            f"{copy.line()} is in the queue, queued by this step: Retry follows it, it does "
            "not add another."
        )
    else:
        lines.append(f"No {action.script} of this step is in the queue: Retry queues it.")
    return "\n".join(lines)


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
    """Queue the script (or follow the copy already queued), to its end."""
    if isinstance(action, RunSetSummaryState) and action.is_scriptqueue_shutdown():
        return await _queues_down(ctx, action)
    config = await script_config(ctx, action)
    if isinstance(action, RunSetSummaryState) and not config["data"]:
        return Outcome(f"nothing to do: no {action.config.targets} to send {action.config.state}")
    text = as_yaml(config)
    try:
        result, resumed = await _queue_or_follow(ctx, action, text)
    except IntegrationError as e:
        if isinstance(action, RunShutdownScript) and e.status == "FAILED":
            return await _left_up(ctx, action, e)
        raise
    entries = len(config.get("data", ()))  # an entry may be Name:* (every running index)
    count = f", {entries} in data" if entries else ""
    return Outcome(
        f"{action.script} ended {result.final_state} (script {result.script_index} "
        f"on ScriptQueue {result.queue}{count}){resumed}"
    )


async def _queue_or_follow(
    ctx: StepContext, action: ScriptAction, config: str
) -> tuple[ScriptRun, str]:
    """Add the script and follow it; on a retry, follow this step's copy if one is queued.

    The queue is resumed first if the lead approved it (what was done, for the summary, comes
    back with the script's run). Errors say what is known of the queue: nothing queued (LOVE
    unreachable), or maybe queued (no answer), with the Nublado cells that do it by hand.
    """
    love = ctx.systems.love
    descr = description(ctx)
    try:
        resumed = await _ready_queue(ctx, action.queue)
        if ctx.state.attempt > 1:
            try:
                queue = await love.queue_state(action.queue)
            except IntegrationError as e:
                unseen = (
                    f"ScriptQueue {action.queue} cannot be read, and {action.script} may be in "
                    "it from an earlier attempt: it is not added a second time unseen"
                )
                raise _maybe_queued(e, action, config, descr, unseen) from e
            copy = queue.copy_of(descr)
            if copy is not None:
                await ctx.report(
                    f"{copy.line()} was queued by an earlier attempt: following it, not adding "
                    "another"
                )
                run = await love.follow(
                    queue=action.queue, index=copy.index, path=action.script, report=ctx.report
                )
                return run, resumed
        run = await love.run_script(
            queue=action.queue,
            path=action.script,
            standard=action.standard,
            config=config,
            description=descr,
            report=ctx.report,
        )
    except Unreachable as e:
        raise _not_queued(e, action, config, descr) from e
    except NoAnswer as e:
        retry = (
            f"A Retry reads ScriptQueue {action.queue} first and follows {action.script} if "
            "it is there, rather than adding another"
        )
        raise _maybe_queued(e, action, config, descr, retry) from e
    return run, resumed


def _not_queued(e: IntegrationError, action: ScriptAction, config: str, descr: str) -> Exception:
    cell = nublado.add_cell(
        queue=action.queue,
        path=action.script,
        standard=action.standard,
        config=config,
        description=descr,
    )
    return IntegrationError(
        e.system,
        f"{e.message}. Nothing reached LOVE, so nothing was queued. Retry once LOVE answers, "
        f"or use the page's fallback: this Nublado cell adds {action.script} to ScriptQueue "
        f"{action.queue} with the same configuration (then mark the step done, with the "
        f"script's index in the note):\n{cell}",
        host=e.host,
        status=e.status,
    )


def _maybe_queued(
    e: IntegrationError, action: ScriptAction, config: str, descr: str, said: str
) -> Exception:
    show = nublado.show_cell(queue=action.queue)
    add = nublado.add_cell(
        queue=action.queue,
        path=action.script,
        standard=action.standard,
        config=config,
        description=descr,
    )
    return NoAnswer(
        e.system,
        f"{e.message}. {said}. If LOVE stays unreachable, from Nublado first see what the "
        "queue holds:\n"
        f"{show}\nand only if {action.script} is not there, add it:\n{add}",
        host=e.host,
        status=e.status,
    )


async def _left_up(ctx: StepContext, action: ScriptAction, error: IntegrationError) -> Outcome:
    """The shutdown script ended FAILED: if CSCs stayed up, that is the step's result."""
    try:
        left = await stragglers(ctx)
    except IntegrationError:
        raise error from None  # the EFD cannot tell who stayed up: the script's failure stands
    if not left:
        raise error
    names = ", ".join(csc.ref for csc in left)
    return Outcome(
        f"{action.script} ended FAILED ({error.message.rsplit(': ', 1)[-1]}): {len(left)} "
        f"CSC(s) did not go OFFLINE ({names}); the stragglers step proposes them",
        issues=tuple(describe(csc.ref, csc) for csc in left),
    )


async def _gate_line(ctx: StepContext) -> str:
    """Whether the ScriptQueues may come down: every other CSC down, or left up by the lead."""
    try:
        unexpected, left = await _still_up(ctx)
    except IntegrationError as e:
        return f"Cannot tell which CSCs are still up ({e}): the step checks again when it runs."
    if unexpected:
        return (
            f":warning: {len(unexpected)} CSC(s) still up that nobody decided to leave up: "
            f"{', '.join(unexpected)}. The step will refuse to run until they are down or "
            "left up at the stragglers step."
        )
    if left:
        return f"Left up by the lead's decision: {', '.join(left)}. Every other CSC is down."
    return "Every other CSC is down (by heartbeat)."


async def _still_up(ctx: StepContext) -> tuple[list[str], list[str]]:
    """(CSCs up that nobody decided on, CSCs up the lead left up)."""
    up = [csc.ref for csc in await stragglers(ctx)]
    left = set(ctx.run.left_up)
    return [ref for ref in up if ref not in left], [ref for ref in up if ref in left]


async def _queues_down(ctx: StepContext, action: RunSetSummaryState) -> Outcome:
    """The ScriptQueues OFFLINE, last: done when every queue's heartbeat has stopped."""
    unexpected, left = await _still_up(ctx)
    if unexpected:
        raise IntegrationError(
            "ScriptQueues",
            f"{len(unexpected)} CSC(s) still up that nobody decided to leave up: "
            f"{', '.join(unexpected)}. The ScriptQueues come down last: reopen the stragglers "
            "step to send them OFFLINE or leave them up there, then Retry.",
        )
    config = await script_config(ctx, action)
    queues = [entry[0] for entry in config["data"]]
    script = asyncio.ensure_future(_queue_or_follow(ctx, action, as_yaml(config)))
    try:
        await _heartbeats_stop(ctx, queues, script)
    finally:
        script.cancel()
        with contextlib.suppress(asyncio.CancelledError, IntegrationError):
            await script
    also = f"; left up by the lead: {', '.join(left)}" if left else ""
    return Outcome(
        f"{', '.join(queues)} OFFLINE: their heartbeats stopped ({action.script} on "
        f"ScriptQueue {action.queue} was ended by its own queue's exit, as expected){also}"
    )


async def _heartbeats_stop(
    ctx: StepContext, queues: list[str], script: asyncio.Future[tuple[ScriptRun, str]]
) -> None:
    """Read the EFD until every queue is silent; the script's error if it ended before that."""
    ended_at: float | None = None
    while True:
        states = await ctx.systems.efd.states()
        if not states.fresh:
            raise IntegrationError(
                "EFD",
                "not receiving data: cannot tell whether the ScriptQueues are down; check the "
                "Chronograf Heartbeats dashboard",
            )
        beating = [q for q in queues if (c := states.cscs.get(q)) is not None and c.alive]
        if not beating:
            return
        await ctx.report(f"{len(queues) - len(beating)}/{len(queues)} ScriptQueues silent; "
                         f"still beating: {', '.join(beating)}")  # fmt: skip
        if script.done():  # ended, or failed: the queues have a moment to fall silent
            now = ctx.clock.now().timestamp()
            ended_at = now if ended_at is None else ended_at
            if now - ended_at >= QUEUE_GRACE:
                error = script.exception()
                if error is not None:
                    raise error
                raise IntegrationError(
                    "ScriptQueues",
                    f"the script ended {script.result()[0].final_state}, but "
                    f"{', '.join(beating)} still beat {QUEUE_GRACE:.0f}s later",
                )
        await ctx.clock.sleep(QUEUE_POLL)


async def command(ctx: StepContext, action: LoveCommand) -> Outcome:
    """Send one command to one CSC and report its ack."""
    ack = await ctx.systems.love.command(
        csc=action.csc, index=action.index, command=action.command, params=dict(action.params)
    )
    return Outcome(f"{action.csc}:{action.index} {action.command}: {ack}")
