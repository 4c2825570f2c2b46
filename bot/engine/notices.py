"""What the bot says by itself, and when: the texts of its notices and the rules that make them due.

No I/O here: a run, its site, what the EFD read and the time in; :class:`Notice` out. The
engine posts each once (its key is recorded in the run), so a restart or a second tick never
repeats one. The texts are Slack mrkdwn: outside text (CSC names and states from the EFD,
people's reasons) is escaped where it is put in (:func:`integrations.mrkdwn.escape`); the
lead is mentioned (notified) only where the bot calls them, everyone else shown by name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config.sites import SiteConfig
from bot.engine.runners.efd import Verdict
from bot.engine.runners.keys import deadline_key
from bot.reports.timeline import duration_text, summary
from integrations.announce import Choice, Notice
from integrations.efd import CscState
from integrations.mrkdwn import channel_link, escape, mention
from state.actions import ArgocdSync, GithubPullRequest, Manual
from state.camera_actions import CcsSetAvailable
from state.duration import format_duration
from state.events import Event
from state.run import Run, RunStatus, StepState, StepStatus

DM_ACTION = "principals.dm"
"""The button under a deadline report that sends each principal a direct message."""

RELEASE_ACTION = "announce.release"
"""The button under a held announcement's reminder that makes the announcement now."""


def named(run: Run, user: str) -> str:
    """A person by the name the run keeps, as plain mrkdwn (it notifies no one)."""
    return escape(run.name(user))


def _principal(site: SiteConfig, ref: str) -> str | None:
    return site.principals.get(ref.partition(":")[0])


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "no heartbeat in the EFD"
    return f"last heartbeat {duration_text(seconds)} ago"


def _row(site: SiteConfig, ref: str, csc: CscState | None) -> str:
    name, _, index = ref.partition(":")
    if csc is None:
        said = "never seen in the EFD"
    else:
        state = csc.summary_state.name if csc.summary_state else "no summaryState"
        said = f"last state {state}, {_age(csc.heartbeat_age)}"
    principal = _principal(site, ref)
    who = f"contact {mention(principal)}" if principal else "no principal configured"
    return f"• *{escape(name)}* index {escape(index)}: {said}; {who}"


def deadline_report(run: Run, state: StepState, site: SiteConfig, verdict: Verdict) -> Notice:
    """The CSCs still in trouble at a watch's deadline, for the site channel.

    With a stale or unreachable EFD it says that the states are unknown, never that the CSCs
    are OFFLINE. Principals, if any are configured for the CSCs named, can be messaged.
    """
    title = f"*{site.title}*, {state.step.title}: the deadline is reached"
    if not verdict.known:  # the EFD could not be read, or is not receiving data
        text = (
            f":warning: {title}, but {verdict.line}. Which CSCs are in trouble is unknown: "
            "check LOVE's summary state view or Chronograf's heartbeats."
        )
        return Notice(run.run_id, _deadline_key(state), text, in_thread=False)
    rows = [_row(site, ref, csc) for ref, csc in verdict.found]
    text = (
        f":warning: {title} with {len(rows)} CSC(s) still in trouble ({verdict.line}):\n"
        + "\n".join(rows)
        + "".join(f"\n{line}" for line in _not_trouble(verdict.offline_up, verdict.camera_team))
    )
    choices: tuple[Choice, ...] = ()
    if any(_principal(site, ref) for ref, _ in verdict.found):
        value = json.dumps({"run": run.run_id, "step": state.id})
        choices = (Choice("DM the principals", DM_ACTION, value),)
    return Notice(run.run_id, _deadline_key(state), text, in_thread=False, choices=choices)


def _not_trouble(offline_up: Sequence[str], camera_team: Sequence[str]) -> list[str]:
    """The CSCs a watch names apart from the trouble: up in OFFLINE, the camera team's."""
    lines = []
    if offline_up:
        lines.append(
            f"Up in OFFLINE, as the page allows (not commandable until enterControl): "
            f"{', '.join(offline_up)}"
        )
    if camera_team:
        lines.append(
            f"Waiting on the camera team (Stage 2), not in trouble: {', '.join(camera_team)}"
        )
    return lines


def _deadline_key(state: StepState) -> str:
    """Once per attempt: a watch reopened and run again reports again at its new deadline."""
    return deadline_key(state.id, state.attempt)


def principal_messages(run: Run, state: StepState, site: SiteConfig) -> dict[str, str]:
    """Per principal, a short direct message naming their CSCs in trouble (from the step)."""
    theirs: dict[str, list[str]] = {}
    for issue in state.issues:
        principal = _principal(site, issue.partition(" ")[0])
        if principal:
            theirs.setdefault(principal, []).append(issue)
    return {
        principal: (
            f"Hello from the upgrade bot. In the {run.kind} of {site.title} (run {run.run_id}, "
            f'lead {named(run, run.lead)}), at "{state.step.title}" these CSCs of yours are '
            f"not where they should be: {escape('; '.join(issues))}. Could you have a look? "
            f"The run is followed in {channel_link(site.channel)}."
        )
        for principal, issues in theirs.items()
    }


def down(run: Run) -> bool:
    """Whether the site should be down now (no CSC beating).

    That is from the end of the ScriptQueues' step (the last CSCs down) until a step that
    brings CSCs back (the telescope sync, the camera bridges) begins.
    """
    if run.status is not RunStatus.ACTIVE:
        return False
    queues = [i for i, s in enumerate(run.steps) if s.step.action.is_scriptqueue_shutdown()]
    if not queues or not run.steps[queues[-1]].status.ended:
        return False
    later = run.steps[queues[-1] + 1 :]
    return not any(s.step.action.starts_cscs() and s.status not in _NOT_BEGUN for s in later)


_NOT_BEGUN = frozenset({StepStatus.PENDING, StepStatus.AWAITING_APPROVAL})


def beating_again(run: Run, site: SiteConfig, csc: CscState) -> Notice:
    """A CSC heard again, after it fell silent, while the site should be down."""
    state = csc.summary_state.name if csc.summary_state else "no summaryState"
    principal = _principal(site, csc.ref)
    who = f" Its principal: {mention(principal)}." if principal else ""
    text = (
        f":rotating_light: {mention(run.lead)} *{escape(csc.ref)}* is beating again ({state}, "
        f"{_age(csc.heartbeat_age)}) while {site.title} should be down. Did someone restart "
        f"it?{who}"
    )
    return Notice(run.run_id, f"beating:{csc.ref}", text, in_thread=True, mention=(run.lead,))


def downtime_blind(run: Run, site: SiteConfig) -> Notice:
    """The EFD is not receiving data during the downtime: a CSC coming back would not be seen."""
    text = (
        f":warning: The EFD of {site.title} is not receiving data: a CSC restarted during the "
        "downtime would not be seen. Watch LOVE meanwhile."
    )
    return Notice(run.run_id, "downtime-efd-stale", text, in_thread=True)


def waiting_on_lead(state: StepState) -> str | None:
    """What the lead is expected to do for this step, if it waits on them."""
    if state.status is StepStatus.AWAITING_APPROVAL:
        return "approve it, mark it done or skip it"
    if state.status in {StepStatus.FAILED, StepStatus.INTERRUPTED}:
        return "retry it, mark it done or skip it"
    if state.status is StepStatus.RUNNING and isinstance(state.step.action, Manual):
        return "mark it done when it is done"
    if state.status is StepStatus.OVERDUE:
        return "keep waiting, cancel it or mark it done (with a note)"
    return None


_THE_BOTS = frozenset({"activate", "fail", "interrupt"})
"""The verbs of the transitions the bot makes by itself (the others are a person's doing)."""


def call_for_lead(run: Run) -> str | None:
    """The lead called to the current step, when the bot just made it wait on them.

    That is a step come up for approval, a manual step begun, a step failed or interrupted
    by itself; not a wait the lead made (a reopen, a cancel), and not in a paused run. Posted
    once per waiting spell as a thread reply: a mention added by an edit notifies no one.
    """
    state = run.current
    if run.status is not RunStatus.ACTIVE or state is None or not state.history:
        return None
    todo = waiting_on_lead(state)
    if todo is None or state.history[-1] not in _THE_BOTS:
        return None
    number = run.index(state.id) + 1
    return f":bell: {mention(run.lead)} step {number}, *{state.step.title}*, waits for you: {todo}."


def stopped(run: Run, state: StepState, problem: str | None) -> Notice:
    """The operation of a cancelled step, stopped (or not: check it by hand)."""
    title = f"*{state.step.title}* (attempt {state.attempt})"
    if problem is None:
        text = f":octagonal_sign: The operation of {title} is stopped."
    else:
        text = (
            f":warning: {mention(run.lead)} the operation of {title} could not be stopped: "
            f"{escape(problem)}. Check it by hand."
        )
    return Notice(run.run_id, f"stopped:{state.id}#{state.attempt}", text, in_thread=True)


_CANCELS: dict[type, str] = {
    ArgocdSync: "terminates the running syncs in ArgoCD",
    GithubPullRequest: "stops waiting for the pull request (nothing on GitHub changes)",
    CcsSetAvailable: "stops watching for the cameras (nothing on the mcm hosts changes)",
}


def cancel_says(state: StepState) -> str:
    """What *Cancel* does to the step's real operation, for its button and notices."""
    return _CANCELS.get(type(state.step.action), "the bot stops the operation too")


def overdue(run: Run, state: StepState, site: SiteConfig, seen: str) -> Notice:
    """A patient step past its expected time, to the lead in the run's thread: their choice.

    Nothing was stopped; what its system looks like now was read (each app's pods waiting on
    image pulls or crash-looping, the pull request's checks) and is shown.
    """
    expected = getattr(state.step.action, "expected", None)
    another = format_duration(expected) if expected else "its expected time"
    running = (state.since or run.started_at) - (state.started_at or run.started_at)
    said = f"{another} expected, running for {format_duration(running)}"
    text = (
        f":hourglass_flowing_sand: {mention(run.lead)} *{state.step.title}* ({site.title}) is "
        f"taking longer than expected: {said}. Nothing was stopped: the bot goes on following it."
        + (f"\n```\n{seen}\n```" if seen else "")
        + f"\nUnder the step: *Keep waiting* (another {another}), *Cancel* "
        f"({cancel_says(state)}), or *Mark done…* with a note (it goes on by itself)."
    )
    key = f"overdue:{state.id}#{state.attempt}.{state.overdue}"
    return Notice(run.run_id, key, text, in_thread=True, mention=(run.lead,))


def _waiting(run: Run) -> tuple[StepState, str, datetime] | None:
    """The current step if it waits on the lead: it, what is expected, since when."""
    state = run.current
    if run.status is not RunStatus.ACTIVE or state is None or state.since is None:
        return None
    todo = waiting_on_lead(state)
    return None if todo is None else (state, todo, state.since)


def _reminder_key(state: StepState) -> str:
    return f"remind:{state.id}:{state.revision}"


def reminder(run: Run, site: SiteConfig, now: datetime) -> Notice | None:
    """One reminder per waiting spell of the current step, once it waited ``remind_after``."""
    waiting = _waiting(run)
    if waiting is None:
        return None
    state, todo, since = waiting
    waited = now - since
    if waited < site.remind_after:
        return None
    text = (
        f":hourglass: {mention(run.lead)} *{state.step.title}* has been waiting for you for "
        f"{duration_text(waited)}: {todo}."
    )
    return Notice(run.run_id, _reminder_key(state), text, in_thread=True, mention=(run.lead,))


def due_times(run: Run, site: SiteConfig) -> list[datetime]:
    """When the notices of this run that are not made yet become due (reminder, window ends).

    A virtual clock's ticker sleeps until the earliest (:meth:`bot.engine.engine.Engine.next_due`).
    """
    due = [
        until
        for key, until in run.held.items()
        if key not in run.announced and f"{key}:window-ended" not in run.announced
    ]
    waiting = _waiting(run)
    if waiting is not None and _reminder_key(waiting[0]) not in run.announced:
        due.append(waiting[2] + site.remind_after)
    return due


def window_ended(run: Run, now: datetime) -> list[Notice]:
    """The lead held an announcement back (integration testing): its window has ended."""
    due = [
        (key, until) for key, until in run.held.items() if now >= until and key not in run.announced
    ]
    return [
        Notice(
            run.run_id,
            f"{key}:window-ended",
            (
                f":alarm_clock: {mention(run.lead)} the integration-testing window you set ended "
                f"at {until:%H:%M} UTC, and *{key}* has not been announced. When testing is "
                "over, announce it:"
            ),
            in_thread=True,
            mention=(run.lead,),
            choices=(
                Choice(
                    "Announce it now",
                    RELEASE_ACTION,
                    json.dumps({"run": run.run_id, "key": key}),
                ),
            ),
        )
        for key, until in due
    ]


def idle_for(run: Run, site: SiteConfig, now: datetime) -> timedelta | None:
    """How long an open run has had nothing happen, once that is ``idle_after`` or more."""
    if not run.status.open:
        return None
    idle = now - (run.changed_at or run.started_at)
    return idle if idle >= site.idle_after else None


def run_summary(run: Run, events: Sequence[Event], site: SiteConfig) -> Notice:
    """The end of a run, for the site channel: per step who did what, durations, trouble."""
    lines = [f"*{site.title}*: the {run.kind} run is over ({run.status.value})."]
    skipped = [s for s in run.steps if s.status is StepStatus.SKIPPED]
    if skipped:
        why = "; ".join(
            f"{s.id} by {named(run, s.ended_by or '?')}: {escape(s.reason or '')}" for s in skipped
        )
        lines.append(f"Skipped: {why}")
    lines += [f"Waived: {what}: {escape(why)}" for what, why in run.waived.items()]
    for s in run.steps:
        if s.issues:
            lines.append(f"In trouble at {s.id}: {escape('; '.join(s.issues))}")
        lines += [f"At {s.id}: {line}" for line in _not_trouble(s.offline_up, s.camera_team)]
    for key, by in run.acknowledged.items():
        lines.append(f"{key} acknowledged by {', '.join(named(run, u) for u in by)}")
    lines.append(f"```\n{escape(summary(run, events))}\n```")
    lines.append(f"The logbook report: `upgrade-bot report --site {run.site} --run {run.run_id}`")
    return Notice(run.run_id, "summary", "\n".join(lines), in_thread=False)
