"""*Mark done…* asks what was done: a form, a note required, a confirm on changing steps.

The confirm comes first on a step that changes the observatory; the note is kept in the
summary and the logbook report.

The real Bolt app over HTTP against the Slack Web API fake, a rehearsal of the shipped
procedure against the simulated observatory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.procedures import load_procedure
from bot.config.sites import default_sites
from bot.reports.report import report
from bot.reports.timeline import summary
from bot.slack.messages import step_buttons
from state.machine import start
from state.run import StepStatus
from tests.support.runs import T0, start_command
from tests.support.slack_bot import Slack, slack_and_bot
from tests.support.waiting import until


def test_the_button_asks_are_you_sure_on_a_step_that_changes_the_observatory() -> None:
    """Beside *Approve and run* of the shutdown: a confirm; on a manual step: none."""
    steps = load_procedure().for_run("summit", "cycle-upgrade")
    run = start(None, start_command(site="summit", steps=steps), T0)[0]

    def mark_done(step_id: str, status: StepStatus) -> dict[str, object]:
        state = run.step(step_id)
        assert state is not None
        shown = step_buttons(run, state.model_copy(update={"status": status}))
        [button] = [b for b in shown if b["action_id"] == "step.mark_done"]
        return button

    shutdown = mark_done("shutdown-cscs", StepStatus.AWAITING_APPROVAL)
    assert shutdown["text"] == {"type": "plain_text", "text": "Mark done…"}
    sure = json.dumps(shutdown["confirm"])
    assert "Mark shutdown-cscs done by hand?" in sure
    assert "The bot will not do it" in sure
    assert "confirm" in mark_done("kube-cleanup", StepStatus.FAILED)
    assert "confirm" not in mark_done("m2-closed-loop", StepStatus.RUNNING)


@pytest.mark.asyncio
async def test_the_form_refuses_no_note_and_the_note_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty note is refused in the form itself; the note given is in summary and report."""
    async with slack_and_bot(tmp_path, monkeypatch, speed=50) as slack:
        await slack.slash("start summit cycle-upgrade cycle=c0040 branch=tickets/DM-48000")
        await until(lambda: slack.buttons(lambda b: b["action_id"] == "step.mark_done"))
        [done] = slack.buttons(lambda b: b["action_id"] == "step.mark_done")
        await slack.click(done)
        await until(lambda: slack.fake.of("views.open"))
        view = slack.fake.of("views.open")[-1]["view"]
        assert (view["callback_id"], view["submit"]["text"]) == ("upgrade.done", "Mark done")
        assert "What was done by hand" in view["blocks"][0]["label"]["text"]

        refused = await slack.submit(view, {"reason": "   "})
        assert await refused.json() == {
            "response_action": "errors",
            "errors": {"reason": "Please give a note: what was done by hand."},
        }
        run = await slack.open_run()
        state = run.step("m2-closed-loop")
        assert state is not None
        assert state.status is StepStatus.RUNNING  # nothing recorded

        note = "M2 put in closed loop from its EUI by Ana, checked in LOVE"
        accepted = await slack.submit(view, {"reason": note})
        assert accepted.status == 200
        await until(lambda: _done(slack))
        run = await slack.open_run()
        events = await slack.bot.store.events(run.run_id)
        assert f"done by hand by u0lead; {note}" in summary(run, events)
        assert f"- m2-closed-loop by u0lead: {note}" in report(
            run, events, default_sites()["summit"]
        )


async def _done(slack: Slack) -> bool:
    run = await slack.open_run()
    state = run.step("m2-closed-loop")
    return state is not None and state.status is StepStatus.DONE_BY_HAND
