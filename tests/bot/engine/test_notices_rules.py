"""When the bot speaks up by itself, decided without I/O: reminders, idle runs, the downtime."""

from __future__ import annotations

from datetime import timedelta

from bot.config.procedures import load_procedure
from bot.config.sites import default_sites
from bot.engine.notices import down, idle_for, reminder
from bot.slack.messages import site_status
from state.commands import ActionSucceeded, Approve, Command, MarkDone, Skip
from state.machine import handle, start
from state.run import Run, StepStatus
from tests.support.runs import LEAD, T0, at, start_command, started

SITE = default_sites()["tts"]


def rev(run: Run, step_id: str) -> int:
    state = run.step(step_id)
    assert state is not None
    return state.revision


def test_one_reminder_per_waiting_spell_after_remind_after() -> None:
    """A manual step waiting 20 minutes is reminded once; a new spell gets its own key."""
    run, _ = handle(started(), ActionSucceeded("check", 1), at(1))  # the manual step starts
    assert reminder(run, SITE, at(20)) is None
    notice = reminder(run, SITE, at(21))
    assert notice is not None
    assert notice.key == f"remind:manual:{rev(run, 'manual')}"
    assert notice.text == (
        ":hourglass: <@U_LEAD> *Manual* has been waiting for you for 20m: "
        "mark it done when it is done."
    )
    assert (notice.in_thread, notice.mention) == (True, ("U_LEAD",))
    run, _ = handle(run, MarkDone(LEAD, "manual", rev(run, "manual"), note="done by hand"), at(22))
    later = reminder(run, SITE, at(43))  # the approval has waited 21 minutes
    assert later is not None
    assert later.key == f"remind:sync:{rev(run, 'sync')}"
    assert "approve it, mark it done or skip it" in later.text


def test_a_running_automated_step_is_not_waiting_on_the_lead() -> None:
    """The bot is at work: no reminder, however long (its timeout guards it)."""
    run, _ = handle(started(), ActionSucceeded("check", 1), at(1))
    run, _ = handle(run, MarkDone(LEAD, "manual", rev(run, "manual"), note="done by hand"), at(2))
    run, _ = handle(run, Approve(LEAD, "sync", rev(run, "sync")), at(3))
    assert reminder(run, SITE, at(300)) is None


def test_idle_after_two_hours_of_nothing_shown_in_status() -> None:
    """Nothing happened for ``idle_after``: the run is flagged in status and App Home."""
    run, _ = handle(started(), ActionSucceeded("check", 1), at(1))
    assert idle_for(run, SITE, at(100)) is None
    assert idle_for(run, SITE, at(121)) == timedelta(minutes=120)
    status = site_status(SITE, run, None, at(121))
    assert status.endswith("2h1m in; :zzz: *idle*: nothing has happened for 2h")
    assert "idle" not in site_status(SITE, run, None, at(60))


def test_the_site_is_down_from_the_scriptqueues_until_csc_come_back() -> None:
    """Down: the ScriptQueues' step ended and neither the telescope sync nor the bridges began."""
    steps = load_procedure().for_run("tts", "cycle-upgrade")
    run, _ = start(None, start_command(steps=steps), T0)
    minute = 0
    seen = []
    while run.status.open and run.current is not None:
        state = run.current
        seen.append((state.id, down(run)))
        minute += 1
        command: Command = (
            ActionSucceeded(state.id, state.attempt)
            if state.status is StepStatus.RUNNING
            else Skip(LEAD, state.id, state.revision, reason="walk")
        )
        run, _ = handle(run, command, at(minute))
    downs = [step for step, is_down in seen if is_down]
    ids = [step for step, _ in seen]
    assert downs == ids[ids.index("stop-camera-bridges") : ids.index("sync-telescope") + 1]
    assert not down(run)  # the run is over
