"""A run's messages as Block Kit, within Slack's limits."""

from __future__ import annotations

from bot.config.sites import default_sites
from bot.slack.blocks import MAX_BLOCKS, SECTION
from bot.slack.messages import step_message
from state.run import StepStatus
from tests.support.runs import started


def test_a_step_message_stays_within_slack_limits() -> None:
    """Thousands of CSCs in trouble and a huge progress line: under 50 blocks, 3000 chars."""
    run = started(site="summit")
    state = run.steps[0].model_copy(
        update={
            "status": StepStatus.RUNNING,
            "issues": tuple(f"ESS:{i} STANDBY, beating" for i in range(5000)),
            "outcome": "x" * 10_000,
        }
    )
    text, blocks = step_message(run, state, default_sites()["summit"], "y" * 10_000)
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        body = block.get("text", {}).get("text", "")
        assert len(body) <= SECTION
    assert "… and 4980 more" in str(blocks)
    assert text.startswith("1/4 ")
