"""Posting that cannot die silently, and edits that matter: the whole bot against the Slack fake.

Slack's trouble is made for real on loopback: connections dropped unanswered (the SDK sees
the server disconnect), posts refused, a token revoked. The messages catch up, the header
first; no edit leaves a message as it was; the lead is called once per waiting spell.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.service.supervisor import WorkerDied
from bot.slack.client import SlackUnusable
from state.run import Run, StepStatus
from tests.support.slack_api import FakeSlack
from tests.support.slack_bot import CHANNELS, LEAD, Slack, slack_and_bot
from tests.support.waiting import until

START = "start summit cycle-upgrade cycle=c0040 branch=tickets/DM-1"


def shows(slack: Slack, run: Run) -> None:
    """Every message of the run shows the run as the store has it (the messages caught up)."""
    texts = set(slack.texts().values())
    assert f"cycle-upgrade of Summit: {run.status.value}" in texts
    for number, state in enumerate(run.steps, start=1):
        if state.status is not StepStatus.PENDING:
            status = state.status.value.replace("_", " ")
            title = f"{number}/{len(run.steps)} {state.step.title}"
            assert f"{title}: {status}" in texts, f"{state.id} does not show {status}"


def approve_of(slack: Slack, step_id: str) -> list[dict[str, Any]]:
    return [
        b
        for b in slack.buttons(lambda b: b["action_id"] == "step.approve")
        if json.loads(b["value"])["step"] == step_id
    ]


@pytest.mark.asyncio
async def test_dropped_connections_mid_run_the_messages_catch_up(slack: Slack) -> None:
    """Posts and edits dropped unanswered, more than the SDK retries: all shown in the end."""
    await slack.start_summit(START)
    await until(lambda: approve_of(slack, "shutdown-cscs"))
    # Two edits lost whole (each tried three times), and the post calling the lead to the
    # failed step: it is posted on the refresh.
    slack.fake.drop_next.update({"chat.update": 6, "chat.postMessage": 3})
    await slack.click(approve_of(slack, "shutdown-cscs")[-1])
    await slack.fail("shutdown-cscs", "LOVE: 503")

    async def caught_up() -> bool:
        await slack.settled()
        try:
            shows(slack, await slack.open_run())
        except AssertionError:
            return False
        return True

    await until(caught_up)
    await until(lambda: any("retry it" in p["text"] for p in slack.thread()))
    assert slack.fake.dropped.count("chat.update") == 6  # the faults happened, for real
    assert slack.fake.dropped.count("chat.postMessage") == 3
    assert slack.bot.front.alive
    assert slack.bot.updates.alive
    assert not slack.bot.front.behind


@pytest.mark.asyncio
async def test_a_failed_header_post_is_posted_on_refresh_first(slack: Slack) -> None:
    """The header's post dropped past the retries: refreshed, the header comes first."""
    slack.fake.drop_next["chat.postMessage"] = 3  # the first try and the SDK's two retries
    await slack.start_summit(START)
    run = await slack.open_run()

    def posted() -> list[Any]:  # the run's messages (the announcements are posted apart)
        return [
            c
            for c in slack.fake.calls_of("chat.postMessage")
            if c.params.get("thread_ts") or c.params["text"].startswith("cycle-upgrade of")
        ]

    await until(lambda: len(posted()) >= 2)
    await slack.settled()
    assert slack.fake.dropped == ["chat.postMessage"] * 3
    header, *steps = posted()
    assert not header.params.get("thread_ts")
    assert header.params["text"] == "cycle-upgrade of Summit: active"
    assert {c.params["thread_ts"] for c in steps} == {header.answer["ts"]}
    assert steps[0].params["text"].startswith(f"1/{len(run.steps)} ")  # the steps in order


@pytest.mark.asyncio
async def test_a_restart_posts_what_was_never_posted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack refused every post of a run; a restarted bot posts its header, then its steps."""
    refusing = FakeSlack(channels=dict(CHANNELS))
    refusing.fail_next["chat.postMessage"] = ["internal_error"] * 100
    async with slack_and_bot(tmp_path, monkeypatch, fake=refusing) as slack:
        slack.bot.front._catch_up = 3600.0  # no refresh before the restart
        await slack.slash(START)
        await slack.open_run()
        await slack.settled()
        assert not [c for c in refusing.calls_of("chat.postMessage") if c.answer.get("ok")]
        assert slack.bot.front.behind
    async with slack_and_bot(tmp_path, monkeypatch) as again:
        await until(lambda: len(again.fake.of("chat.postMessage")) >= 2)
        await again.settled()
        header, first = again.fake.of("chat.postMessage")[:2]
        assert not header.get("thread_ts")
        assert first["thread_ts"] == again.fake.calls_of("chat.postMessage")[0].answer["ts"]


@pytest.mark.asyncio
async def test_a_revoked_token_stops_the_bot_with_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``invalid_auth``: nothing can be posted any more; the worker ends, and the bot, saying so."""
    fronts = []

    async def run() -> None:
        async with slack_and_bot(tmp_path, monkeypatch) as slack:
            fronts.append(slack.bot.front)
            slack.fake.fail_next["chat.postMessage"] = ["invalid_auth"]
            await slack.slash(START)
            await asyncio.sleep(30)  # the bot's supervisor cancels this within moments

    with pytest.raises(WorkerDied, match=r"slack-front.*invalid_auth.*fix SLACK_BOT_TOKEN"):
        await run()
    assert isinstance(fronts[0].error, SlackUnusable)


@pytest.mark.asyncio
async def test_approve_comes_with_the_preview(slack: Slack) -> None:
    """A step with a preview is posted "preparing the preview", Approve only with it."""
    await slack.start_summit(START)
    await until(lambda: approve_of(slack, "shutdown-cscs"))
    first = next(
        p for p in slack.thread() if p["text"].startswith("4/") and "shutdown" in p["text"]
    )
    text = json.dumps(first["blocks"])
    assert "Preparing the preview" in text
    assert "step.approve" not in text
    assert "step.skip" in text
    latest = next(b for b in slack.messages().values() if approve_of_blocks(b, "shutdown-cscs"))
    assert "system_wide_shutdown" in json.dumps(latest)  # the preview, with its Approve
    assert "Preparing the preview" not in json.dumps(latest)


def approve_of_blocks(blocks: list[dict[str, Any]], step_id: str) -> bool:
    return any(
        e["action_id"] == "step.approve" and json.loads(e["value"])["step"] == step_id
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
    )


@pytest.mark.asyncio
async def test_the_lead_is_called_once_per_waiting_spell(slack: Slack) -> None:
    """A step waiting on the lead gets one thread reply mentioning them, each time it waits."""
    await slack.start_summit(START)
    await until(lambda: approve_of(slack, "shutdown-cscs"))
    await slack.settled()
    for _ in range(5):  # ticks and edits come and go: still one call
        await slack.settled()

    title = "*Send all CSCs OFFLINE with system_wide_shutdown.py*"

    def calls() -> list[str]:  # the shutdown's (M2 in closed loop, the step before, had one)
        return [
            p["text"]
            for p in slack.thread()
            if p["text"].startswith(":bell:") and title in p["text"]
        ]

    assert calls() == [
        f":bell: <@{LEAD}> step 4, {title}, waits for you: approve it, mark it done or skip it."
    ]
    await slack.click(approve_of(slack, "shutdown-cscs")[-1])
    await slack.running("shutdown-cscs")
    await slack.settled()
    assert len(calls()) == 1  # running: nothing waits on the lead
    await slack.fail("shutdown-cscs", "LOVE: 503")
    await until(lambda: len(calls()) == 2)
    await slack.settled()
    assert "waits for you: retry it, mark it done or skip it" in calls()[1]
    mentions = [p for p in slack.fake.of("chat.postMessage") if f"<@{LEAD}>" in p["text"]]
    assert len(mentions) == 3  # M2's call and these two; the rest shows the lead by name


@pytest.mark.asyncio
async def test_edits_go_to_the_message_just_clicked_and_change_something(slack: Slack) -> None:
    """A click's edit is sent; repeating the same state sends nothing."""
    await slack.start_summit(START)
    await until(lambda: approve_of(slack, "shutdown-cscs"))
    await slack.settled()
    before = len(slack.fake.of("chat.update"))
    run = await slack.open_run()
    await slack.bot.front.refresh(run)  # everything rebuilt: nothing changed, nothing sent
    await slack.settled()
    assert len(slack.fake.of("chat.update")) == before
    assert slack.bot.updates.unchanged > 0
    assert not slack.fake.updated_unchanged()


@pytest.mark.asyncio
async def test_a_click_makes_only_its_step_urgent(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step a person moved jumps the edit queue; the run's header takes its turn.

    A click spends one of the tokens the bot's own edits leave (``RESERVED``): three sites'
    leads clicking at once each see their step change at once (``benchmarks/slack_click.py``).
    """
    await slack.start_summit(START)
    await until(lambda: approve_of(slack, "shutdown-cscs"))
    await slack.settled()
    updates = slack.bot.updates
    submitted: list[tuple[str, bool]] = []
    submit = updates.submit

    def recording(ref: Any, text: str, blocks: Any, *, urgent: bool = False) -> None:
        submitted.append((text, urgent))
        submit(ref, text, blocks, urgent=urgent)

    monkeypatch.setattr(updates, "submit", recording)
    [approve] = approve_of(slack, "shutdown-cscs")
    await slack.click(approve)
    await until(lambda: any(urgent for _, urgent in submitted))
    await slack.settled()
    step = (await slack.open_run()).step("shutdown-cscs")
    assert step is not None
    urgent = {text.split(":")[0] for text, is_urgent in submitted if is_urgent}
    assert len(urgent) == 1
    assert step.step.title in urgent.pop()
    assert not any(is_urgent for text, is_urgent in submitted if text.startswith("cycle-upgrade"))
    assert any(text.startswith("cycle-upgrade") for text, _ in submitted)  # the header follows
