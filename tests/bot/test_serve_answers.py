"""Every request answered, safe text, people by name, channels by id: the whole bot over HTTP.

Requests are signed as Slack signs them and sent to the real Bolt app on loopback; what the
bot posts, edits and answers is read from the Slack Web API fake.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.reports.report import report
from state.run import RunStatus, StepStatus
from tests.support.slack_api import FakeSlack
from tests.support.slack_bot import CHANNELS, LEAD, OTHER, Slack, slack_and_bot
from tests.support.waiting import until

START = "start summit cycle-upgrade cycle=c0040 branch=tickets/DM-1"


def button(slack: Slack, action_id: str, step_id: str | None = None) -> dict[str, Any]:
    """The latest button of that kind (for that step) now shown."""
    found = [
        b
        for b in slack.buttons(lambda b: b["action_id"] == action_id)
        if step_id is None or json.loads(b["value"]).get("step") == step_id
    ]
    assert found, f"no {action_id} button for {step_id}"
    return found[-1]


async def approvable(slack: Slack, step_id: str) -> dict[str, Any]:
    await until(lambda: slack.buttons(lambda b: b["action_id"] == "step.approve"
                                      and json.loads(b["value"])["step"] == step_id))  # fmt: skip
    await slack.settled()
    return button(slack, "step.approve", step_id)


# ------------------------------------------------------------------ every request answered


@pytest.mark.asyncio
async def test_an_error_after_the_ack_is_answered_ephemerally(slack: Slack) -> None:
    """The form's trigger expired (Slack's 3 seconds): the user is told, only them, what to do."""
    slack.fake.fail_next["views.open"] = ["expired_trigger_id"]
    response = await slack.slash("start tts", channel="tucson-teststand")
    assert response.status == 200  # acked
    await until(slack.ephemeral)
    [answer] = slack.ephemeral()
    assert "The form could not open" in answer
    assert "expired_trigger_id" in answer
    assert "again" in answer
    assert "Traceback" not in answer


@pytest.mark.asyncio
async def test_the_abort_form_is_acked_at_once_while_the_step_takes_long_to_stop(
    slack: Slack,
) -> None:
    """Abort while a script runs whose stop takes long: acked in well under 3 s, then reported."""
    await slack.start_summit(START)
    await slack.click(await approvable(slack, "shutdown-cscs"))
    await until(lambda: slack.buttons(lambda b: b["action_id"] == "step.cancel"))
    love = slack.bot.engine._systems["summit"].love
    stop = love.cancel
    release = asyncio.Event()

    async def slow_cancel() -> None:  # LOVE takes its time to stop the script
        await release.wait()
        await stop()

    love.cancel = slow_cancel  # type: ignore[method-assign]
    opened = len(slack.fake.of("views.open"))  # M2's Mark done… form
    await slack.click(button(slack, "run.abort"))
    await until(lambda: len(slack.fake.of("views.open")) > opened)
    form = slack.fake.of("views.open")[-1]["view"]
    assert json.loads(form["private_metadata"])["channel"] == "C0SUMMIT"
    began = time.monotonic()
    response = await slack.submit(form, {"reason": "dome problem, postponed"})
    acked_in = time.monotonic() - began
    assert response.status == 200
    assert acked_in < 3.0

    async def aborted() -> bool:  # applied just after the ack, while the stop goes on
        return (await slack.bot.store.recent("summit", 1))[0].status is RunStatus.ABORTED

    await until(aborted)
    assert not [p for p in slack.thread() if "is stopped" in p["text"]]  # still stopping
    release.set()
    await until(lambda: [p for p in slack.thread() if "is stopped" in p["text"]])
    [said] = [p["text"] for p in slack.thread() if "is stopped" in p["text"]]
    assert said.startswith(":octagonal_sign: The operation of *Send all CSCs OFFLINE")


@pytest.mark.asyncio
async def test_a_refused_request_is_refused_before_any_form(slack: Slack) -> None:
    """A non-lead's abort, a non-lead's Skip, a stale Skip: refused at once, no form opened."""
    await slack.start_summit(START)
    opened = len(slack.fake.of("views.open"))  # M2's Mark done… form
    approve = await approvable(slack, "shutdown-cscs")
    skip = button(slack, "step.skip", "shutdown-cscs")
    await slack.slash("abort", user=OTHER)
    await slack.click(skip, user=OTHER)
    await slack.click(button(slack, "run.abort"), user=OTHER)
    await slack.click(approve)  # the lead approves
    await slack.running("shutdown-cscs")
    await slack.click(skip)  # the Skip shown before: out of date now
    await until(lambda: len(slack.ephemeral()) == 5)  # the start's answer, and these four
    answers = " | ".join(slack.ephemeral())  # in any order: each is worked after its ack
    assert "Only the lead, <@U0LEAD>, can abort the run." in answers
    assert "Only the lead, <@U0LEAD>, can press its buttons." in answers
    assert "Only the lead, <@U0LEAD>, can abort this run." in answers
    assert "That button is out of date" in answers
    assert len(slack.fake.of("views.open")) == opened


@pytest.mark.asyncio
async def test_an_admin_is_pointed_to_takeover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin pressing the lead's button is told how to take the run over, nothing moves."""
    config = tmp_path / "config.yaml"
    config.write_text("admins: [U0ADMIN]\n")
    async with slack_and_bot(tmp_path, monkeypatch, config=config) as slack:
        await slack.start_summit(START)
        await slack.click(await approvable(slack, "shutdown-cscs"), user="U0ADMIN")
        await until(lambda: len(slack.ephemeral()) == 2)
        [answer] = [a for a in slack.ephemeral() if "admin" in a]
        assert "Only the lead, <@U0LEAD>, can press its buttons. You are an admin" in answer
        assert "`/upgrade takeover summit <reason>`" in answer
        state = (await slack.open_run()).step("shutdown-cscs")
        assert state is not None
        assert state.status is StepStatus.AWAITING_APPROVAL


# ------------------------------------------------------------------ no text pings anyone


@pytest.mark.asyncio
async def test_the_start_form_refuses_what_the_command_refuses(slack: Slack) -> None:
    """``<!channel> $(reboot)`` as the cycle: refused in the form, nothing opened or said."""
    await slack.slash("start tts", channel="tucson-teststand")
    await until(lambda: slack.fake.of("views.open"))
    view = slack.fake.of("views.open")[-1]["view"]
    response = await slack.submit(
        view, {"kind": "cycle-upgrade", "cycle": "<!channel> $(reboot)", "branch": "main; rm"}
    )
    errors = (await response.json())["errors"]
    assert errors["cycle"].startswith("Not a cycle tag: letters, digits and . _ / - only")
    assert errors["branch"].startswith("Not a branch name")
    await slack.settled()
    assert await slack.bot.store.open_run("tts") is None
    assert not slack.fake.of("chat.postMessage")


@pytest.mark.asyncio
async def test_a_note_and_a_script_error_ping_no_one(slack: Slack) -> None:
    """``<!channel>`` in a note and ``<!here>`` in a script's error are shown, escaped, inert."""
    await slack.start_summit(START)
    await slack.click(await approvable(slack, "shutdown-cscs"))
    await slack.slash("note <!channel> the dome & <@U0OTHER> agree")
    await slack.fail("shutdown-cscs", "LOVE: script 12 failed: <!here> <https://evil|click> x")
    await until(slack.public)
    await slack.settled()
    note = slack.public()[-1]
    assert "added a note: &lt;!channel&gt; the dome &amp; &lt;@U0OTHER&gt; agree" in note
    everything = json.dumps([c.params for c in slack.fake.calls]) + json.dumps(slack.fake.responses)
    for live in ("<!channel>", "<!here>", "<@U0OTHER>", "<https://evil"):
        assert live not in everything
    shown = json.dumps(list(slack.messages().values()))
    assert "&lt;!here&gt; &lt;https://evil|click&gt; x" in shown


@pytest.mark.asyncio
async def test_only_ids_become_mentions(slack: Slack) -> None:
    """A refusal naming the lead mentions them; words like UNKNOWN or WATCHDOG stay words."""
    await slack.start_summit(START)
    await slack.slash("takeover summit UNKNOWN WATCHDOG U0LEADX gone", user=OTHER)
    await slack.slash("start summit cycle-upgrade", user=OTHER)
    await slack.settled()
    answers = slack.ephemeral()  # in any order: the requests' work runs after their acks
    [refused] = [a for a in answers if "admin" in a]
    assert "<@" not in refused
    [already] = [a for a in answers if "already has an open run" in a]
    assert already.count("<@") == 1
    assert "led by <@U0LEAD>)" in already


# ------------------------------------------------------------------ people by name


@pytest.mark.asyncio
async def test_people_are_shown_by_name(slack: Slack) -> None:
    """The lead's name (from the request) in the header, announcement, steps and report."""
    await slack.start_summit(START)
    await slack.click(await approvable(slack, "shutdown-cscs"))
    await slack.running("shutdown-cscs")
    await slack.settled()
    posts = slack.fake.of("chat.postMessage")
    [announced] = [p["text"] for p in posts if "starts now" in p["text"]]
    assert "led by u0lead (cycle c0040)" in announced
    assert "without u0lead's consent" in announced
    shown = json.dumps(list(slack.messages().values()))
    assert "Lead u0lead" in shown
    assert "approved by u0lead" in shown
    run = await slack.open_run()
    assert run.names == {LEAD: "u0lead"}
    written = report(
        run, await slack.bot.store.events(run.run_id), slack.bot.engine._sites["summit"]
    )
    assert "- Lead u0lead (started by u0lead)" in written
    assert "approved by u0lead" in written
    assert "U0LEAD" not in written


@pytest.mark.asyncio
async def test_status_says_approved(slack: Slack) -> None:
    """``status`` lists an approval as such, by name."""
    await slack.start_summit(START)
    await slack.click(await approvable(slack, "shutdown-cscs"))
    await slack.running("shutdown-cscs")
    await slack.slash("status summit")
    await slack.settled()
    await until(lambda: any("approved" in a for a in slack.ephemeral()))
    assert any("u0lead approved shutdown-cscs" in a for a in slack.ephemeral())


# ------------------------------------------------------------------ channels by id


@pytest.mark.asyncio
async def test_a_renamed_channel_keeps_working(slack: Slack) -> None:
    """Renamed after the bot started: the channel's id still drives the site."""
    slack.fake.rename_for_test("C0SUMMIT", "summit-ops")
    response = await slack.slash(START, channel="summit-ops", channel_id="C0SUMMIT")
    assert response.status == 200
    await slack.settled()
    run = await slack.open_run()
    assert run.lead == LEAD
    assert slack.fake.of("chat.postMessage")[0]["channel"] == "C0SUMMIT"


@pytest.mark.asyncio
async def test_a_private_channel_by_name_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private channel named in the configuration: bound at start, found by its id."""
    fake = FakeSlack(channels=dict(CHANNELS))
    fake.add_channel("tts-upgrade", "G0TTSPRIV", private=True)
    config = tmp_path / "config.yaml"
    config.write_text("sites: {tts: {channel: '#tts-upgrade'}}\n")
    async with slack_and_bot(tmp_path, monkeypatch, config=config, fake=fake) as slack:
        await slack.slash("start tts cycle-upgrade", channel="tucson-teststand")
        await until(slack.ephemeral)
        assert "driven from <#G0TTSPRIV>" in slack.ephemeral()[0]
        await slack.slash("start tts cycle-upgrade", channel="privategroup", channel_id="G0TTSPRIV")
        await until(lambda: len(slack.ephemeral()) == 2)
        await slack.settled()
        run = await slack.open_run("tts")
        assert run.lead == LEAD
        assert {p["channel"] for p in fake.of("chat.postMessage")} == {"G0TTSPRIV"}


# ------------------------------------------------------------------ within Slack's limits


@pytest.mark.asyncio
async def test_forms_stay_within_slacks_limits(slack: Slack) -> None:
    """Every form the bot opens has a title of at most 24 characters (Slack's limit)."""
    await slack.slash("start tts", channel="tucson-teststand")
    await slack.start_summit(START)
    await until(lambda: slack.buttons(lambda b: b["action_id"] == "run.abort"))
    await slack.click(button(slack, "run.abort"))
    await until(lambda: len(slack.fake.of("views.open")) == 3)  # start, Mark done…, abort
    for opened in slack.fake.of("views.open"):
        assert len(opened["view"]["title"]["text"]) <= 24
