"""Runs as Slack messages: the run header, one message per step, status, App Home.

Pure functions of the run (and the step's latest progress), so a message can be rebuilt at any
time, after a restart too, and tested without Slack. Buttons carry the run, the step and its
revision, so a stale button is refused by the state machine, and a double click is one click.

People are shown by the name the run keeps (no mention: an edit would not notify anyway, and a
post would, every time). User and outside text (cycles, reasons, errors, progress) is escaped
(:func:`integrations.mrkdwn.escape`); the procedure's own titles and instructions are the T&S
team's mrkdwn and stay as written. A step whose action has a preview shows *Approve* only with
its preview: the lead approves what they saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.config.sites import SiteConfig
from bot.engine.notices import cancel_says, idle_for, named
from bot.engine.runners import PREVIEWS
from bot.slack.blocks import (
    MAX_BLOCKS,
    SECTION,
    Block,
    button,
    confirm,
    context,
    cut,
    date,
    elapsed,
    section,
)
from bot.slack.links import step_hand
from integrations.mrkdwn import escape
from state.actions import Announce, ArgocdSync, KubeCleanup
from state.run import Run, RunStatus, StepState, StepStatus

ICONS = {
    StepStatus.PENDING: ":white_circle:",
    StepStatus.AWAITING_APPROVAL: ":raised_hand:",
    StepStatus.RUNNING: ":arrows_counterclockwise:",
    StepStatus.OVERDUE: ":hourglass_flowing_sand:",
    StepStatus.SUCCEEDED: ":white_check_mark:",
    StepStatus.FAILED: ":x:",
    StepStatus.DONE_WITH_ISSUES: ":warning:",
    StepStatus.DONE_BY_HAND: ":ballot_box_with_check:",
    StepStatus.SKIPPED: ":fast_forward:",
    StepStatus.INTERRUPTED: ":electric_plug:",
}


def value(run: Run, state: StepState | None = None) -> str:
    """What a button carries: the run, the step and the revision it was pressed for."""
    data: dict[str, Any] = {"run": run.run_id}
    if state is not None:
        data |= {"step": state.id, "rev": state.revision}
    return json.dumps(data, separators=(",", ":"))


def irreversible(state: StepState) -> bool:
    """Steps whose button asks "are you sure" (CSCs OFFLINE, cleanups, sasquatch)."""
    action = state.step.action
    return (
        action.sends_offline()
        or isinstance(action, KubeCleanup)
        or (isinstance(action, ArgocdSync) and "sasquatch" in action.apps)
    )


def preparing(state: StepState, progress: str | None) -> bool:
    """The step awaits approval and its preview is not there yet (so no Approve yet)."""
    awaiting = state.status is StepStatus.AWAITING_APPROVAL
    return awaiting and progress is None and type(state.step.action) in PREVIEWS


def step_buttons(run: Run, state: StepState, *, previewed: bool = True) -> list[Block]:
    """The buttons that fit the step's status (none once it ended, or if the run is over).

    ``previewed``: the step's preview, if it has one, is shown (else no Approve yet).
    """
    if not run.status.open or state.status.ended or state.status is StepStatus.PENDING:
        return []
    data = value(run, state)
    manual = state.step.action.type == "manual"
    sure = (
        confirm(f"Run {state.id}?", f"*{state.step.title}*\nThis cannot be undone.", "Run it")
        if irreversible(state)
        else None
    )
    done = mark_done(state, data)
    skip = button("Skip…", "step.skip", data)
    if state.step.action.proposes_targets() and state.status.waits_for_lead:
        return _stragglers_buttons(state, data, sure, skip)
    match state.status:
        case StepStatus.AWAITING_APPROVAL:
            approve = button("Approve and run", "step.approve", data, style="primary", confirm=sure)
            hold = state.step.action.hold if isinstance(state.step.action, Announce) else None
            second = button(f"{hold.label}…", "step.hold", data) if hold else done
            buttons = [approve, second, skip] if previewed else [second, skip]
        case StepStatus.RUNNING if manual:
            buttons = [mark_done(state, data, style="primary"), skip]
        case StepStatus.RUNNING:
            stop = confirm("Cancel this step?", "The bot stops the operation too.", "Cancel it")
            buttons = [button("Cancel", "step.cancel", data, style="danger", confirm=stop)]
        case StepStatus.OVERDUE:  # taking longer than expected: the lead's three choices
            says = f"*{state.step.title}*: {cancel_says(state)}."
            stop = confirm("Cancel this step?", says, "Cancel it")
            buttons = [
                button("Keep waiting", "step.keep_waiting", data, style="primary"),
                button("Cancel", "step.cancel", data, style="danger", confirm=stop),
                button("Mark done…", "step.done_with_note", data),
            ]
        case StepStatus.FAILED | StepStatus.INTERRUPTED:
            retry = button("Retry", "step.retry", data, style="primary", confirm=sure)
            buttons = [retry, done, skip]
        case _:
            buttons = []
    return buttons


def mark_done(state: StepState, data: str, *, style: str | None = None) -> Block:
    """*Mark done…*: a form asks what was done; first "are you sure" if the step changes things.

    One misclick beside *Approve and run* must not record the shutdown as done by hand.
    """
    sure = None
    if state.step.action.changes_observatory():
        sure = confirm(
            f"Mark {state.id} done by hand?",
            f"*{state.step.title}*\nThe bot will not do it: only if it was done without the "
            "bot. The next form asks what was done.",
            "It was done",
        )
    return button("Mark done…", "step.mark_done", data, style=style, confirm=sure)


def _stragglers_buttons(
    state: StepState, data: str, sure: Block | None, skip: Block
) -> list[Block]:
    """A stragglers step: run it on the list, edit the list, or go on with them left up."""
    buttons = []
    if state.proposed is not None:  # nothing to approve before the bot has read who is up
        label, action = (
            ("Approve and run", "step.approve")
            if state.status is StepStatus.AWAITING_APPROVAL
            else ("Retry", "step.retry")
        )
        buttons.append(button(label, action, data, style="primary", confirm=sure))
    buttons.append(button("Edit the list…", "step.edit_targets", data))
    if state.proposed:
        names = ", ".join(state.proposed)
        leave = confirm(
            "Go on with them up?",
            f"{names} stay up: they are named in the run's record and summary, and the "
            "ScriptQueues step accepts them.",
            "Leave them up",
        )
        buttons.append(button("Leave them up, go on", "step.leave_up", data, confirm=leave))
    return [*buttons, skip]


def _status_line(run: Run, state: StepState) -> str:
    icon = ICONS[state.status]
    status = state.status.value.replace("_", " ")
    if state.status is StepStatus.OVERDUE:
        status = "taking longer than expected"
    attempt = f", attempt {state.attempt}" if state.attempt > 1 else ""
    who = ""
    if state.approved_by and state.status is StepStatus.RUNNING:
        who = f", approved by {named(run, state.approved_by)}"
    if state.ended_by and state.status.ended:
        who = f" by {named(run, state.ended_by)}"
    line = f"{icon} *{status}*{attempt}{who}"
    if state.started_at and state.ended_at:
        line += f" in {elapsed((state.ended_at - state.started_at).total_seconds())}"
    return line


def step_message(
    run: Run, state: StepState, site: SiteConfig, progress: str | None
) -> tuple[str, list[Block]]:
    """The step's message in the run's thread: what, how it stands, and its buttons."""
    number = run.index(state.id) + 1
    title = f"{number}/{len(run.steps)} {state.step.title}"
    blocks: list[Block] = [section(f"*{title}*  `{state.id}`"), context(_status_line(run, state))]
    if state.step.instructions.strip() and not state.status.ended:
        blocks.append(section(state.step.instructions.strip()))
    if state.proposed and not state.status.ended:
        blocks.append(section(f"*Still up, proposed:* {', '.join(state.proposed)}"))
    if progress and not state.status.ended:
        blocks.append(section(f"```{cut(escape(progress), SECTION - 6)}```"))
    waiting = preparing(state, progress)
    if waiting:
        blocks.append(context(":hourglass_flowing_sand: Preparing the preview… "
                              "*Approve and run* appears with it."))  # fmt: skip
    if state.outcome:
        label = "Error" if state.status is StepStatus.FAILED else "Result"
        blocks.append(section(f"*{label}:* {escape(state.outcome)}"))
    if state.issues:
        shown = "\n".join(f"• {escape(i)}" for i in state.issues[:20])
        more = f"\n… and {len(state.issues) - 20} more" if len(state.issues) > 20 else ""  # noqa: PLR2004
        blocks.append(section(f"*Still in trouble ({len(state.issues)}):*\n{shown}{more}"))
    if state.reason:
        blocks.append(context(f"Reason: {escape(state.reason)}"))
    blocks += _by_hand(run, state, site, progress)
    buttons = step_buttons(run, state, previewed=not waiting)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"step:{state.id}", "elements": buttons})
    return f"{title}: {state.status.value.replace('_', ' ')}", blocks[:MAX_BLOCKS]


def _by_hand(run: Run, state: StepState, site: SiteConfig, progress: str | None) -> list[Block]:
    """How to do the step without the bot, and the views it names (:mod:`bot.slack.links`)."""
    hand, links = step_hand(run, state, site, progress)
    return ([section(hand)] if hand else []) + ([context(links)] if links else [])


def run_header(
    run: Run, site: SiteConfig, now: datetime, *, speed: float | None = None
) -> tuple[str, list[Block]]:
    """The run at a glance, in the site channel (its thread holds the steps).

    ``speed``: a rehearsal's simulated time runs at that many times real time (shown).
    """
    counts = run.counts()
    ended = sum(n for status, n in counts.items() if status.ended)
    current = run.current
    state = {
        RunStatus.ACTIVE: ":large_green_circle: running",
        RunStatus.PAUSED: ":double_vertical_bar: paused",
        RunStatus.COMPLETED: ":checkered_flag: completed",
        RunStatus.ABORTED: ":octagonal_sign: aborted",
    }[run.status]
    title = f"{run.kind} of {site.title}"
    lines = [
        f"*{title}* — {state}",
        f"Lead {named(run, run.lead)} · cycle `{escape(run.cycle or 'n/a')}`"
        + (f" · Phalanx `{escape(run.phalanx_branch)}`" if run.phalanx_branch else ""),
        f"Started {date(run.started_at)}, "
        + (
            f"took {elapsed(run.elapsed(now))}"
            if run.ended_at
            else f"{elapsed(run.elapsed(now))} ago"
        ),
        f"{ended}/{len(run.steps)} steps done" + (f" · phase *{run.phase}*" if run.phase else ""),
    ]
    if current is not None and run.status.open:
        lines.append(f"Now: {ICONS[current.status]} {current.step.title} (`{current.id}`)")
    if run.abort_reason:
        lines.append(f"Aborted: {escape(run.abort_reason)}")
    lines += [f"Waived: {what}: {escape(why)}" for what, why in run.waived.items()]
    rehearsal = (
        f" · rehearsal against the simulated observatory, simulated time at x{speed:g}"
        if speed is not None
        else ""
    )
    blocks: list[Block] = [
        section("\n".join(lines)),
        context(f"Run `{run.run_id}` · steps in the thread{rehearsal}"),
    ]
    if run.status.open:
        sure = confirm("Abort the run?", "The running step is stopped. A form asks why.", "Abort")
        blocks.append({"type": "actions", "block_id": "run", "elements": [
            button("Abort run…", "run.abort", value(run), style="danger", confirm=sure),
        ]})  # fmt: skip
    return f"{title}: {run.status.value}", blocks


def site_status(site: SiteConfig, run: Run | None, last: Run | None, now: datetime) -> str:
    """One site in ``/upgrade status`` and App Home."""
    if run is None:
        if last is None:
            return f"*{site.title}* — idle, no run yet"
        when = date(last.ended_at or last.started_at, "{date_short_pretty}")
        return f"*{site.title}* — idle. Last run {last.kind}: *{last.status.value}* {when}"
    current = run.current
    step = f"{current.step.title} ({current.status.value.replace('_', ' ')})" if current else "-"
    ended = sum(n for status, n in run.counts().items() if status.ended)
    idle = idle_for(run, site, now)
    flag = (
        f"; :zzz: *idle*: nothing has happened for {elapsed(idle.total_seconds())}"
        if idle is not None
        else ""
    )
    return (
        f"*{site.title}* — {run.status.value} {run.kind}, lead {named(run, run.lead)}, phase "
        f"*{run.phase or '-'}*, step {ended + 1}/{len(run.steps)}: {step}, "
        f"{elapsed(run.elapsed(now))} in{flag}"
    )


def home_view(sites: Sequence[tuple[SiteConfig, Run | None, Run | None]], now: datetime) -> Block:
    """App Home: the three sites, one under the other."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Control-system upgrade"}}
    ]
    for site, run, last in sites:
        blocks += [section(site_status(site, run, last, now)), {"type": "divider"}]
    blocks.append(context("`/upgrade help` in a site channel to start or follow a run"))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
