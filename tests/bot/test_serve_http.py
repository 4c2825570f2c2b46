"""The real Bolt app over HTTP, driven the way Slack drives it, against a fake Slack Web API.

Everything is on loopback: signed requests to /slack/events, the bot's Web API calls to the
fake, the simulated observatory behind the engine.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.file import ConfigError
from bot.config.settings import Settings
from bot.serve import RunOptions, running_bot
from state.events import StepStarted
from state.run import Run, RunStatus, StepStatus
from tests.support.procedures import PREFLIGHT, SCRIPTQUEUES, STRAGGLERS, procedure
from tests.support.runs import HELD
from tests.support.slack_bot import LEAD, OTHER, Slack, slack_and_bot
from tests.support.waiting import until


async def started(slack: Slack) -> None:
    """A summit run; with the shipped procedure, its first manual step (M2) marked done."""
    response = await slack.slash("start summit cycle-upgrade cycle=c0040 branch=tickets/DM-1")
    assert response.status == 200
    await slack.settled()
    run = await slack.bot.store.open_run("summit")
    if run is not None and run.step("m2-closed-loop") is not None:
        done = await step_button(slack, "m2-closed-loop", "step.mark_done")
        await slack.mark_done(done, "M2 in closed loop from its EUI")
        await slack.settled()


@pytest.mark.asyncio
async def test_help_and_garbage_get_the_usage(slack: Slack) -> None:
    """``/upgrade``, ``help`` and nonsense answer with the usage, only to the asker."""
    for text in ("", "help", "frobnicate the cryostat", 'note "unclosed'):
        assert (await slack.slash(text)).status == 200
    await slack.settled()
    answers = slack.ephemeral()
    assert len(answers) == 4
    assert all("/upgrade start <site>" in a for a in answers)
    assert "unknown command 'frobnicate'" in answers[2]
    assert "cannot read that" in answers[3]
    assert not slack.fake.of("chat.postMessage")


@pytest.mark.asyncio
async def test_forged_and_stale_requests_are_refused(slack: Slack) -> None:
    """A wrong signature or a timestamp older than five minutes: 401, nothing done."""
    forged = await slack.slash("start summit cycle-upgrade", secret="not-the-secret")  # noqa: S106
    stale = await slack.slash("start summit cycle-upgrade", timestamp=int(time.time()) - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    await slack.settled()
    assert await slack.bot.store.open_run("summit") is None
    assert not slack.fake.responses


@pytest.mark.asyncio
async def test_start_opens_the_run_in_its_channel(slack: Slack) -> None:
    """The header goes to the site channel, the steps into its thread, the pre-flight runs."""
    await started(slack)
    run = await slack.bot.store.open_run("summit")
    assert run is not None
    assert (run.lead, run.cycle, run.phalanx_branch) == (LEAD, "c0040", "tickets/DM-1")
    posts = slack.fake.calls
    header = next(c for c in posts if c.method == "chat.postMessage")
    assert header.answer["channel"] == "C0SUMMIT"
    assert "thread_ts" not in header.params or not header.params["thread_ts"]
    assert "cycle-upgrade of Summit" in header.params["text"]
    thread = [c for c in posts if c.method == "chat.postMessage" and c.params.get("thread_ts")]
    assert thread
    assert {c.params["thread_ts"] for c in thread} == {header.answer["ts"]}
    assert "Pre-flight" in thread[0].params["text"]


@pytest.mark.asyncio
async def test_start_in_the_wrong_channel_is_refused(slack: Slack) -> None:
    """``start summit`` in the TTS channel: told where to go, nothing opened."""
    await slack.slash("start summit cycle-upgrade", channel="tucson-teststand")
    await slack.slash("start moon", channel="summit-announce")
    await slack.settled()
    answers = slack.ephemeral()
    assert "driven from <#C0SUMMIT>" in answers[0]
    assert "unknown site 'moon'" in answers[1]
    assert await slack.bot.store.open_run("summit") is None
    assert not slack.fake.of("chat.postMessage")


async def approve_button(slack: Slack, step_id: str) -> dict[str, Any]:
    """The Approve button of a step, once its message shows it."""
    return await step_button(slack, step_id, "step.approve")


async def step_button(slack: Slack, step_id: str, action_id: str) -> dict[str, Any]:
    """A button of a step, once its message shows it (60 s: a hang guard, not a timing)."""

    def found() -> list[dict[str, Any]]:
        return [
            b
            for b in slack.buttons(lambda b: b["action_id"] == action_id)
            if json.loads(b["value"]).get("step") == step_id
        ]

    await until(found, 60)
    await slack.settled()
    return found()[-1]


@pytest.mark.asyncio
async def test_only_the_lead_presses_and_a_double_click_is_one(slack: Slack) -> None:
    """A non-lead is told who can; the lead's double click approves once."""
    await started(slack)
    button = await approve_button(slack, "shutdown-cscs")
    assert button["confirm"]["title"]["text"].startswith("Run shutdown-cscs")  # irreversible

    await slack.click(button, user=OTHER)
    await slack.settled()
    assert "Only the lead, <@U0LEAD>, can press its buttons." in slack.ephemeral()[-1]
    run = await slack.bot.store.open_run("summit")
    assert run is not None
    assert run.step("shutdown-cscs").status is StepStatus.AWAITING_APPROVAL  # type: ignore[union-attr]

    await slack.click(button)
    await slack.click(button)
    await slack.settled()
    run = await slack.bot.store.open_run("summit")
    assert run is not None
    state = run.step("shutdown-cscs")
    assert state is not None
    assert state.status is StepStatus.RUNNING
    assert state.attempt == 1
    assert state.approved_by == LEAD
    events = await slack.bot.store.events(run.run_id)
    started_steps = [e.step_id for e in events if isinstance(e, StepStarted)]
    assert started_steps.count("shutdown-cscs") == 1


@pytest.mark.asyncio
async def test_slack_retries_are_not_run_twice(slack: Slack) -> None:
    """A request carrying X-Slack-Retry-Num is acked and dropped, with nothing said."""
    answer = await slack.slash(
        "start summit cycle-upgrade",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await slack.settled()
    assert answer.status == 200
    assert await slack.bot.store.open_run("summit") is None
    assert slack.fake.responses == []  # no "something went wrong" to the retry


@pytest.mark.asyncio
async def test_start_without_a_kind_opens_the_form(slack: Slack) -> None:
    """``start tts`` opens the form; its submission opens the run."""
    await slack.slash("start tts cycle=c0040", channel="tucson-teststand")
    await slack.settled()
    view = slack.fake.of("views.open")[-1]["view"]
    assert view["callback_id"] == "upgrade.start"
    cycle = next(b for b in view["blocks"] if b["block_id"] == "cycle")
    assert cycle["element"]["initial_value"] == "c0040"
    response = await slack.submit(
        view, {"kind": "system-restart", "cycle": "c0040", "branch": "tickets/DM-2"}
    )
    assert response.status == 200
    await slack.settled()
    run = await slack.bot.store.open_run("tts")
    assert run is not None
    assert (run.kind, run.phalanx_branch) == ("system-restart", "tickets/DM-2")


@pytest.mark.asyncio
async def test_abort_asks_why_and_ends_the_run(slack: Slack) -> None:
    """``abort`` opens the reason form; submitted, the run ends aborted with that reason."""
    await started(slack)
    await slack.slash("abort")
    await slack.settled()
    view = slack.fake.of("views.open")[-1]["view"]
    assert view["callback_id"] == "upgrade.abort"
    await slack.submit(view, {"reason": "dome problem, postponed"})
    await slack.settled()
    run = (await slack.bot.store.recent("summit", 1))[0]
    assert run.status is RunStatus.ABORTED
    assert run.abort_reason == "dome problem, postponed"
    assert not slack.buttons(lambda b: b["action_id"].startswith("step."))  # buttons removed


@pytest.mark.asyncio
async def test_status_shows_every_site(slack: Slack) -> None:
    """``status`` from anywhere: each site, where it stands, who did what last."""
    await started(slack)
    await slack.slash("status", channel="random")
    await slack.settled()
    text = slack.ephemeral()[-1]
    assert "*Summit* — active cycle-upgrade, lead u0lead," in text  # by name: no ping
    assert "*Tucson test stand* — idle, no run yet" in text
    assert "u0lead started" in text


PRIMARY = {"step.approve", "step.mark_done", "step.retry"}
"""A step's main button: what the lead presses to go on (approve, retry, mark done)."""


async def press(slack: Slack, button: dict[str, Any]) -> None:
    """The lead's click; *Mark done…* opens a form, where the lead says what was done."""
    if button["action_id"] == "step.mark_done":
        await slack.mark_done(button, "done by hand, as the step says")
    else:
        await slack.click(button)


async def took_effect(slack: Slack, run: Run, limit: float = 20.0) -> None:
    """Wait until ``run`` changed: a click took effect (acked first, then applied), a step ran.

    ``limit`` real seconds guard against a hang; they time nothing.
    """

    async def moved() -> bool:
        return (await slack.bot.store.get(run.run_id)).version > run.version

    await until(moved, limit)


async def click_to_the_end(slack: Slack) -> tuple[Run, int, int]:
    """Press the current step's primary button until the run ends: (run, clicks, timed out).

    At 3000 times real speed a 2-minute timeout is 40 ms: on a loaded machine a step may time
    out; the lead then marks it done too, one click more (counted as timed out).
    """
    clicks = timed_out = 0
    run = await slack.bot.store.open_run("summit")
    assert run is not None
    while True:
        await slack.settled()
        run = await slack.bot.store.get(run.run_id)
        if not run.status.open:
            return run, clicks, timed_out
        current = run.current
        assert current is not None
        shown = [
            b
            for b in slack.buttons(
                lambda b: b["action_id"] in PRIMARY and b.get("style") == "primary"
            )
            if json.loads(b["value"]).get("step") == current.id
            and json.loads(b["value"]).get("rev") == current.revision
        ]
        if shown:  # the last: Mark done beside Approve (the lead did it by hand)
            await press(slack, shown[-1])
            clicks += 1
            timed_out += current.status is StepStatus.FAILED
            await took_effect(slack, run)
        else:  # a step runs, on simulated time: wait for it to move on
            await took_effect(slack, run, limit=120)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_whole_summit_run_by_clicks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only button clicks, start to end: the run completes, announcements in the right places.

    A rehearsal at x3000 on simulated time: every step runs once (no click for a retry), however
    busy the machine, and the run's header says how fast its time runs.
    """
    config = tmp_path / "config.yaml"  # the camera team's channel and group: configuration
    config.write_text(
        "sites: {summit: {audiences: {camera: {channels: ['#summit-camera'], "
        "groups: [camera-team]}}}}\n"
    )
    monkeypatch.setenv("UPGRADE_BOT_REHEARSAL_AUDIENCES", "true")  # else only the site channel
    async with slack_and_bot(tmp_path, monkeypatch, speed=3000, config=config) as slack:
        await started(slack)
        run, clicks, timed_out = await click_to_the_end(slack)
        run_id = run.run_id
        await slack.settled()  # the run's last edits, made as it completed
        assert run.status is RunStatus.COMPLETED, [(s.id, s.status) for s in run.steps]
        assert all(s.status.ended for s in run.steps)
        # The approvals and the 3 manual steps marked done (the first in ``started``);
        # everything else ran by itself, the stragglers step too: none, nothing to approve.
        approvals = sum(s.step.needs_approval for s in run.steps) - 1
        assert clicks - timed_out + 1 == approvals + 3
        assert run.step("offline-stragglers").outcome == "nothing to do: no CSC is still up"  # type: ignore[union-attr]
        posts = [
            (str(c.answer.get("channel")), str(c.params.get("text", "")))
            for c in slack.fake.calls
            if c.method == "chat.postMessage" and not c.params.get("thread_ts")
        ]

        def where(words: str) -> list[str]:
            return [channel for channel, text in posts if words in text]

        assert where("Nublado is going down") == ["C0SUMMIT"]
        assert where("may start *Stage 1*") == ["C0SUMMIT", "C0CAMERA"]
        assert where("proceed to *Stage 2*") == ["C0SUMMIT", "C0CAMERA"]
        assert where("Nublado can be used again") == ["C0SUMMIT"]
        camera = [t for c, t in posts if c == "C0CAMERA"]
        assert all("@camera-team" in t for t in camera)
        assert not slack.buttons(lambda b: b["action_id"].startswith(("step.", "run.")))
        assert slack.fake.of("chat.update")  # the messages were kept up to date
        headers = [
            c.params
            for c in slack.fake.calls
            if c.method in {"chat.postMessage", "chat.update"}
            and "steps in the thread" in str(c.params.get("blocks"))
        ]
        assert headers
        assert all("simulated time at x3000" in str(h["blocks"]) for h in headers)
        assert not slack.fake.updated_unchanged()  # and no edit left a message as it was
        # The camera team acknowledges Stage 1 with its own button: recorded, nothing moves.
        stage1 = next(
            b
            for b in slack.buttons(lambda b: b["action_id"] == "announce.ack")
            if json.loads(b["value"])["key"] == "camera-stage-1"
        )
        await slack.click(stage1, user=OTHER)
        await slack.click(stage1, user=OTHER)
        await slack.settled()
        run = await slack.bot.store.get(run_id)
        assert run.acknowledged == {"camera-stage-1": (OTHER,)}
        public = slack.public()
        assert any(t.startswith(f"<@{OTHER}> acknowledged camera-stage-1 at ") for t in public)


@pytest.mark.asyncio
async def test_handover_then_only_the_new_lead_presses(slack: Slack) -> None:
    """``handover @user``: announced; the old lead's clicks are refused, the new lead's work."""
    await started(slack)
    await slack.slash(f"handover <@{OTHER}|other>")
    button = await approve_button(slack, "shutdown-cscs")
    await slack.click(button)  # the old lead
    await slack.settled()
    assert "Only the lead, <@U0OTHER>" in slack.ephemeral()[-1]
    await slack.click(button, user=OTHER)
    await slack.settled()
    run = await slack.bot.store.open_run("summit")
    assert run is not None
    assert run.lead == OTHER
    assert run.step("shutdown-cscs").status is StepStatus.RUNNING  # type: ignore[union-attr]
    public = slack.public()
    assert f"<@{LEAD}> handed the summit run over to <@{OTHER}>" in public


@pytest.mark.asyncio
async def test_app_home_shows_the_three_sites(slack: Slack) -> None:
    """Opening App Home publishes the sites, one under the other."""
    await started(slack)
    event = {
        "token": "legacy", "team_id": "T0RUBIN", "api_app_id": "A0UPGRADE",
        "type": "event_callback", "event_id": "Ev1", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": OTHER, "channel": "D0HOME", "tab": "home"},
    }  # fmt: skip
    response = await slack.send(
        json.dumps(event).encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 200
    await slack.settled()
    (published,) = slack.fake.of("views.publish")
    assert published["user_id"] == OTHER
    text = json.dumps(published["view"], ensure_ascii=False)
    assert "*Summit* — active cycle-upgrade" in text
    assert "*Tucson test stand* — idle" in text
    assert "*Base test stand* — idle" in text


@pytest.mark.asyncio
async def test_a_restarted_bot_picks_the_run_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped while a step runs, restarted on the same store: same messages, Retry shown.

    The stopping bot records the step it cut off as interrupted and calls the lead to it; the
    next one posts nothing new (it edits the messages there are) and offers Retry.
    """
    async with slack_and_bot(tmp_path, monkeypatch) as slack:
        await started(slack)
        await slack.click(await approve_button(slack, "shutdown-cscs"))
        await slack.settled()
        posted_before = len(slack.fake.of("chat.postMessage"))
    calls = [p["text"] for p in slack.fake.of("chat.postMessage") if p["text"].startswith(":bell:")]
    assert calls[-1].startswith(":bell: <@U0LEAD> step 4, *Send all CSCs OFFLINE")
    assert "retry it, mark it done or skip it" in calls[-1]
    async with slack_and_bot(tmp_path, monkeypatch) as again:
        await again.settled()
        run = await again.bot.store.open_run("summit")
        assert run is not None
        assert run.step("shutdown-cscs").status is StepStatus.INTERRUPTED  # type: ignore[union-attr]
        assert again.fake.of("chat.postMessage") == []
        retry = again.buttons(lambda b: b["action_id"] == "step.retry")
        assert retry
        await again.click(retry[-1])
        await again.settled()
        run = await again.bot.store.open_run("summit")
        assert run is not None
        state = run.step("shutdown-cscs")
        assert state is not None
        assert (state.status, state.attempt) == (StepStatus.RUNNING, 2)
    assert posted_before > 1


@pytest.mark.asyncio
async def test_a_second_bot_on_the_same_store_is_refused(slack: Slack, tmp_path: Path) -> None:
    """Only one ``run`` drives a store: a second one says who does, and starts nothing."""
    options = RunOptions(simulate=True, http=("127.0.0.1", 0), db=tmp_path / "bot.db")
    with pytest.raises(ConfigError, match=r"another process drives this store: .* pid \d+ "):
        async with running_bot(Settings(), options):
            pytest.fail("a second bot started")
    await slack.bot.store.ping()  # the first one is unaffected (it raises if not)


@pytest.mark.asyncio
async def test_an_admin_takes_over_and_starters_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the configuration: only listed people start summit runs; an admin takes over."""
    config = tmp_path / "config.yaml"
    config.write_text(f"admins: [U0ADMIN]\nstarters: {{summit: [{LEAD}]}}\n")
    async with slack_and_bot(tmp_path, monkeypatch, config=config) as slack:
        await slack.slash("start summit cycle-upgrade", user=OTHER)
        await slack.settled()
        assert "not on the list of people who may start summit runs" in slack.ephemeral()[-1]
        await started(slack)
        await slack.slash("takeover summit", user=OTHER)
        await slack.slash("takeover summit Ana went home ill", user=OTHER)
        await slack.settled()
        assert "say why" in slack.ephemeral()[-2]
        assert "admin" in slack.ephemeral()[-1].lower()
        await slack.slash("takeover summit Ana went home ill", user="U0ADMIN")
        await slack.settled()
        run = await slack.bot.store.open_run("summit")
        assert run is not None
        assert run.lead == "U0ADMIN"
        public = slack.public()
        assert "<@U0ADMIN> took over the summit run: Ana went home ill" in public


@pytest.mark.asyncio
async def test_a_standby_takes_over_when_the_first_bot_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--standby`` waits while another bot holds the store, and starts once it stops."""
    monkeypatch.setattr("bot.service.lease.STANDBY_POLL", 0.05)
    async with slack_and_bot(tmp_path, monkeypatch) as slack:
        await started(slack)
        options = RunOptions(
            simulate=True, standby=True, http=("127.0.0.1", 0), db=tmp_path / "bot.db"
        )
        took_over = asyncio.Event()

        async def standby() -> None:
            async with running_bot(Settings(), options) as second:
                assert await second.store.open_run("summit") is not None  # the same runs
                took_over.set()

        waiting = asyncio.create_task(standby())
        await asyncio.sleep(0.3)
        assert not took_over.is_set()  # the first bot still drives the store
    await asyncio.wait_for(waiting, 10)
    assert took_over.is_set()


@pytest.mark.asyncio
async def test_check_pings_every_system_of_a_site(slack: Slack) -> None:
    """``/upgrade check summit``: one line per system, read-only, only to the asker."""
    await slack.slash("check summit", channel="random")
    await slack.settled()
    text = slack.ephemeral()[-1]
    assert text.startswith("*Summit*: all reachable")
    for name in ("LOVE", "EFD", "SSH hosts", "Kubernetes", "GitHub", "ArgoCD"):
        assert f":white_check_mark: {name}" in text
    assert await slack.bot.store.open_run("summit") is None


@pytest.mark.asyncio
async def test_the_lead_holds_nublado_back_and_announces_it_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold button asks for how long; at the end the reminder's button announces."""
    procedure = tmp_path / "held.yaml"
    procedure.write_text(HELD)
    async with slack_and_bot(tmp_path, monkeypatch, procedure=procedure) as slack:
        await started(slack)
        [hold] = slack.buttons(lambda b: b["action_id"] == "step.hold")
        assert hold["text"]["text"] == "Continue integration testing…"
        await slack.click(hold, user=OTHER)
        await slack.settled()
        assert "Only the lead" in slack.ephemeral()[-1]
        await slack.click(hold)
        await slack.settled()
        view = slack.fake.of("views.open")[-1]["view"]
        assert view["callback_id"] == "upgrade.hold"
        assert view["title"]["text"] == "Hold the announcement"  # within Slack's 24
        assert view["blocks"][0]["label"]["text"].startswith("Continue integration testing:")
        assert view["blocks"][0]["element"]["initial_value"] == "2h"
        refused = await slack.submit(view, {"window": "two hours"})
        assert "not a duration: 'two hours'" in (await refused.json())["errors"]["window"]
        await slack.submit(view, {"window": "90m"})
        await slack.settled()
        run = (await slack.bot.store.recent("summit", 1))[0]
        assert run.status is RunStatus.COMPLETED
        held_until = run.held["nublado-available"]

        await slack.bot.engine.tick(held_until + timedelta(seconds=1))
        await slack.settled()
        [release] = slack.buttons(lambda b: b["action_id"] == "announce.release")
        await slack.click(release, user=OTHER)
        await slack.settled()
        assert "Only the lead" in slack.ephemeral()[-1]
        await slack.click(release)
        await slack.click(release)
        await slack.settled()
        said = [p for p in slack.fake.of("chat.postMessage") if "Nublado can be" in p["text"]]
        assert [p["channel"] for p in said if p["text"].startswith(":white_check_mark:")] == [
            "C0SUMMIT"
        ]
        public = slack.public()
        assert any(t.startswith("<@U0LEAD> announced nublado-available at ") for t in public)
        # each click is answered after its ack: the second one's answer may come last
        await until(lambda: "was announced already" in slack.ephemeral()[-1], limit=30)
        assert "nublado-available was announced already" in slack.ephemeral()[-1]


STRAGGLERS_ONLY = procedure("stragglers", PREFLIGHT, STRAGGLERS, SCRIPTQUEUES)
"""No shutdown script: every CSC is still up when the stragglers step comes."""


@pytest.mark.asyncio
async def test_the_lead_edits_the_stragglers_and_goes_on_with_them_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proposal is shown; the form edits it (checked); "leave them up" names them."""
    procedure = tmp_path / "stragglers.yaml"
    procedure.write_text(STRAGGLERS_ONLY)
    async with slack_and_bot(tmp_path, monkeypatch, procedure=procedure, speed=3000) as slack:
        await started(slack)
        edit = await step_button(slack, "offline-stragglers", "step.edit_targets")
        await approve_button(slack, "offline-stragglers")  # shown once the list was read
        shown = str(slack.messages())
        assert "*Still up, proposed:* " in shown
        assert "MTDome:0" in shown
        await slack.click(edit)
        await slack.settled()
        view = slack.fake.of("views.open")[-1]["view"]
        assert view["callback_id"] == "upgrade.targets"
        assert "MTDome:0" in view["blocks"][0]["element"]["initial_value"].splitlines()
        refused = await slack.submit(view, {"targets": "MTDome:0\nmtmount"})
        assert "Not a CSC instance" in (await refused.json())["errors"]["targets"]
        await slack.submit(view, {"targets": "MTDome:0, ATDome:0"})
        await slack.settled()
        run = await slack.bot.store.open_run("summit")
        assert run is not None
        assert run.step("offline-stragglers").proposed == ("MTDome:0", "ATDome:0")  # type: ignore[union-attr]
        leave = await step_button(slack, "offline-stragglers", "step.leave_up")
        assert "MTDome:0, ATDome:0 stay up" in leave["confirm"]["text"]["text"]
        await slack.click(leave)
        await slack.settled()
        run = await slack.bot.store.open_run("summit")
        assert run is not None
        assert run.left_up == ("MTDome:0", "ATDome:0")
        state = run.step("offline-stragglers")
        assert state is not None
        assert state.status is StepStatus.DONE_WITH_ISSUES
        assert state.issues == (f"MTDome:0 left up by {LEAD}", f"ATDome:0 left up by {LEAD}")
