"""A step taking longer than expected, in Slack: the notice, the three buttons, the note form.

The real Bolt app over HTTP against the Slack Web API fake; a rehearsal against the simulated
observatory, whose Phalanx pull request is merged by a person only after 50 minutes, while the
procedure expects it within one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from state.run import Run, RunStatus, StepStatus
from tests.bot.engine.test_patience import PULL_REQUEST
from tests.support.slack_bot import OTHER, Slack, slack_and_bot
from tests.support.waiting import until


async def run_of(slack: Slack) -> Run:
    return (await slack.bot.store.recent("summit", 1))[0]


async def when(slack: Slack, status: StepStatus, overdue: int) -> None:
    """Wait until the step is in ``status`` for the ``overdue``-th time, and shown."""

    async def there() -> bool:
        state = (await run_of(slack)).step("phalanx-pr")
        return state is not None and state.status is status and state.overdue == overdue

    await until(there, 30)
    await slack.settled()


def button(slack: Slack, action_id: str) -> dict[str, Any]:
    """The step's button with this action id, as its message shows it now."""
    [found] = slack.buttons(lambda b: b["action_id"] == action_id)
    return found


@pytest.mark.asyncio
async def test_the_lead_keeps_waiting_then_marks_it_done_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overdue: told in the thread; Keep waiting, then Mark done… asks for the note."""
    procedure = tmp_path / "pr.yaml"
    procedure.write_text(PULL_REQUEST)
    async with slack_and_bot(tmp_path, monkeypatch, speed=200, procedure=procedure) as slack:
        await slack.slash("start summit cycle-upgrade cycle=c0040 branch=tickets/DM-48000")
        await when(slack, StepStatus.OVERDUE, 1)

        def notices() -> list[dict[str, Any]]:
            return [p for p in slack.fake.of("chat.postMessage") if "longer than" in p["text"]]

        await until(notices)  # posted by the tick that found it overdue, after the store knew
        [notice] = notices()
        assert notice["thread_ts"]
        assert notice["text"].startswith(
            ":hourglass_flowing_sand: <@U0LEAD> *Phalanx pull request merged* (Summit) is "
            "taking longer than expected: 1m expected"
        )
        assert "Now on GitHub: lsst-sqre/phalanx#5123 open, checks pending" in notice["text"]
        labels = [
            b["text"]["text"]
            for b in slack.buttons(lambda b: json.loads(b["value"]).get("step") == "phalanx-pr")
        ]
        assert labels == ["Keep waiting", "Cancel", "Mark done…"]
        assert "taking longer than expected" in json.dumps(slack.messages())
        cancel = button(slack, "step.cancel")
        assert "stops waiting for the pull request" in cancel["confirm"]["text"]["text"]

        await slack.click(button(slack, "step.keep_waiting"), user=OTHER)
        await slack.settled()
        refused = [r["text"] for r in slack.fake.responses if r.get("response_type") == "ephemeral"]
        assert refused[-1].startswith("Only the lead, <@U0LEAD>, can press its buttons.")
        await slack.click(button(slack, "step.keep_waiting"))
        await when(slack, StepStatus.OVERDUE, 2)  # a minute later, overdue again

        await slack.click(button(slack, "step.done_with_note"))
        await slack.settled()
        view = slack.fake.of("views.open")[-1]["view"]
        assert view["callback_id"] == "upgrade.done"
        assert view["submit"]["text"] == "Mark done"
        note = "Merged by hand after review; the bot's GitHub token cannot see it yet"
        await slack.submit(view, {"reason": note})
        await slack.settled()
        run = await run_of(slack)
        state = run.step("phalanx-pr")
        assert state is not None
        assert (state.status, state.reason) == (StepStatus.DONE_BY_HAND, note)
        assert run.status is RunStatus.COMPLETED
