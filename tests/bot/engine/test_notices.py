"""The bot speaks up by itself: driven by ``tick(now)``, read from a real influxd, posted to Slack.

The engine runs with the real EFD client against a real ``influxd`` holding EFD-shaped data,
the real Slack front end and announcer against the Slack Web API fake, and the simulated
observatory for the rest. Times are chosen (``tick(now)``): nothing sleeps for real minutes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.sites import SiteConfig, default_sites
from bot.engine.engine import Engine
from bot.engine.runners import SiteSystems
from bot.slack.announcer import SlackAnnouncer
from bot.slack.front import SlackFront
from bot.slack.updates import Updates
from bot.wiring.simulated import rehearsal_sites, sim_site
from integrations.clock import VirtualClock
from integrations.efd import EfdClient, SummaryState
from integrations.sim import SimObservatory
from state.commands import Approve, Hold
from state.procedure import parse_procedure
from state.run import Run, RunStatus, StepStatus
from state.store import Store
from state.store_url import sqlite_url
from tests.support.influxdb import Influxd, heartbeat_line, module_influxd, summary_state_line
from tests.support.observatory import RELEASE
from tests.support.procedures import PREFLIGHT, SCRIPTQUEUES, WAIVED, procedure
from tests.support.runs import HELD
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.slack_bot import CHANNELS
from tests.support.waiting import until

LEAD = "U0LEAD"
MTMOUNT_PRINCIPAL = "U01MTMOUNT01"

WATCH = (
    """
name: watch
steps:
  - id: verify-end-states
    title: Verify the end states
    phase: verification
    action: {type: efd.wait_for_states, expect: end-states, deadline: 30m, poll: 10m}
"""
    + WAIVED
)

DOWNTIME = procedure(
    "downtime",
    PREFLIGHT,
    SCRIPTQUEUES,
    """
  - id: sync-telescope
    title: Sync the T&S applications
    phase: deployment
    needs_approval: true
    action: {type: argocd.sync, project: telescope, first: [control-system-test], timeout: 1h}
""",
)

_databases = itertools.count(1)


influxd = pytest_asyncio.fixture(scope="module", loop_scope="module")(module_influxd)
"""One real ``influxd`` for the module."""


@dataclass
class Efd:
    """A database of its own on the module's influxd, written as the EFD's Telegraf does."""

    server: Influxd
    name: str

    async def write(
        self,
        states: dict[tuple[str, int], SummaryState],
        beating: set[tuple[str, int]],
        *,
        ago: float = 0.0,
    ) -> None:
        """Each CSC's summaryState a minute back; the beating ones beat up to ``ago`` s ago."""
        now = int((time.time() - ago) * 1000)
        lines = [
            summary_state_line(csc, index, int(value), now - 60_000 - index)
            for (csc, index), value in states.items()
        ]
        lines += [
            heartbeat_line(csc, index, now - k * 1000 - index)
            for csc, index in sorted(beating)
            for k in range(5)
        ]
        await self.server.write(self.name, lines)


@pytest_asyncio.fixture(loop_scope="module")
async def efd(influxd: Influxd) -> AsyncIterator[Efd]:
    """A fresh database for each test."""
    name = f"efd_{next(_databases)}"
    await influxd.create_database(name)
    yield Efd(influxd, name)
    await influxd.drop_database(name)


@dataclass
class Rig:
    """The engine and its Slack side; ``restart`` builds a new engine on the same store."""

    engine: Engine
    store: Store
    fake: FakeSlack
    front: SlackFront
    clock: VirtualClock

    def posts(
        self, match: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> list[dict[str, Any]]:
        """The messages posted (``chat.postMessage`` parameters) that ``match``."""
        return [p for p in self.fake.of("chat.postMessage") if match(p)]

    def said(self, words: str) -> list[dict[str, Any]]:
        """The messages whose text has ``words``."""
        return self.posts(lambda p: words in str(p.get("text", "")))

    async def settled(self) -> None:
        """Every change shown in Slack."""
        await self.front.drained()

    async def run(self) -> Run:
        """The summit's run (the latest)."""
        return (await self.store.recent("summit", 1))[0]

    async def when(self, step_id: str, status: StepStatus, limit: float = 20.0) -> int:
        """Wait until the step is in ``status``; its revision then (for a button)."""
        found: list[int] = []

        async def reached() -> bool:
            state = (await self.run()).step(step_id)
            if state is not None and state.status is status:
                found.append(state.revision)
            return bool(found)

        await until(reached, limit)
        return found[0]


def summit() -> SiteConfig:
    """The summit as configured, with MTMount's principal."""
    site = rehearsal_sites(default_sites())["summit"]
    return site.model_copy(update={"principals": {"MTMount": MTMOUNT_PRINCIPAL}})


@asynccontextmanager
async def rig(tmp_path: Path, procedure: str, efd: Efd) -> AsyncIterator[Callable[[], Any]]:
    """A factory of rigs (one engine at a time) over one store, Slack fake and EFD."""
    async with AsyncExitStack() as stack:
        fake = FakeSlack(channels=dict(CHANNELS))
        api = TestServer(fake.app(), host="127.0.0.1")
        await api.start_server()
        stack.push_async_callback(api.close)
        client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{api.port}/api/")
        # The simulated LOVE and ArgoCD take simulated minutes; the EFD is a real influxd.
        clock = VirtualClock(speed=100)
        store = await Store.open(sqlite_url(str(tmp_path / "notices.db")), busy=clock.busy)
        stack.push_async_callback(store.aclose)
        await stack.enter_async_context(clock)
        efd_client = EfdClient(url=efd.server.url, database=efd.name)
        stack.push_async_callback(efd_client.aclose)
        site = summit()
        sites = {**rehearsal_sites(default_sites()), "summit": site}
        observatory = SimObservatory(site=sim_site(site), release=RELEASE, clock=clock)
        parsed = parse_procedure(procedure, "test")
        running: list[asyncio.Task[None]] = []

        async def make() -> Rig:
            for task in running:
                task.cancel()
            systems = SiteSystems(
                love=observatory.love,
                efd=efd_client,
                hosts=observatory.hosts,
                cluster=observatory.cluster,
                github=observatory.github,
                argocd=observatory.argocd,
                announcer=SlackAnnouncer(client=client, sites=sites, store=store),
            )
            engine = Engine(
                store=store,
                procedure=parsed,
                sites=sites,
                systems={"summit": systems},
                clock=clock,
            )
            stack.push_async_callback(engine.aclose)
            updates = Updates(client, per_minute=60_000)
            front = SlackFront(
                client=client, store=store, sites=sites, updates=updates, clock=clock
            )
            running.extend([asyncio.create_task(updates.run()), asyncio.create_task(front.run())])
            engine.subscribe(front)
            await engine.start()
            return Rig(engine, store, fake, front, clock)

        try:
            yield make
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)


TROUBLE_STATES = {
    ("ATDome", 0): SummaryState.STANDBY,
    ("MTMount", 0): SummaryState.FAULT,
    ("ESS", 101): SummaryState.STANDBY,
}
"""ATDome is where it should be; MTMount is in FAULT; ESS:101 went silent."""


async def at_deadline(make: Callable[[], Any], efd: Efd) -> tuple[Rig, datetime]:
    """A run whose watch is under way, the bot restarted, the EFD as TROUBLE_STATES."""
    first: Rig = await make()
    await efd.write(TROUBLE_STATES, {("ATDome", 0), ("MTMount", 0)})
    run = await first.engine.open_run(LEAD, "summit", "cycle-upgrade")
    watch = (await first.store.get(run.run_id)).step("verify-end-states")
    assert watch is not None
    assert watch.deadline_at is not None
    await first.engine.aclose()  # the bot goes down between "deadline set" and "deadline due"
    second: Rig = await make()
    await efd.write(TROUBLE_STATES, {("ATDome", 0), ("MTMount", 0)})
    return second, watch.deadline_at


@pytest.mark.asyncio(loop_scope="module")
async def test_the_deadline_report_names_the_cscs_in_trouble_once_across_a_restart(
    tmp_path: Path, efd: Efd
) -> None:
    """Posted once to the site channel: name, index, last state, heartbeat age, principal."""
    async with rig(tmp_path, WATCH, efd) as make:
        bot, deadline = await at_deadline(make, efd)
        await bot.engine.tick(deadline - timedelta(seconds=1))
        await bot.settled()
        assert bot.said("still in trouble") == []
        await bot.engine.tick(deadline + timedelta(seconds=1))
        await bot.engine.tick(deadline + timedelta(seconds=2))
        await bot.settled()
        [report] = bot.said("still in trouble")
        assert report["channel"] == "#summit-announce"
        assert "thread_ts" not in report or report["thread_ts"] is None
        text = report["text"]
        assert "2 CSC(s) still in trouble" in text
        assert (
            f"• *MTMount* index 0: last state FAULT, last heartbeat 0s ago; "
            f"contact <@{MTMOUNT_PRINCIPAL}>"
        ) in text.replace("1s ago", "0s ago").replace("2s ago", "0s ago")
        assert (
            "• *ESS* index 101: last state STANDBY, no heartbeat in the EFD; "
            "no principal configured"
        ) in text
        assert "ATDome" not in text
        [buttons] = [b for b in report["blocks"] if b["type"] == "actions"]
        assert [e["text"]["text"] for e in buttons["elements"]] == ["DM the principals"]
        run = await bot.run()
        watch = run.step("verify-end-states")
        assert watch is not None
        assert watch.status is StepStatus.DONE_WITH_ISSUES

        # The lead presses "DM the principals": MTMount's principal gets one message, once.
        said = await bot.engine.speaker.message_principals(run.run_id, "verify-end-states")
        assert said == [f"<@{MTMOUNT_PRINCIPAL}>: sent"]
        again = await bot.engine.speaker.message_principals(run.run_id, "verify-end-states")
        assert again[0].startswith(f"<@{MTMOUNT_PRINCIPAL}>: already sent at ")
        assert bot.fake.of("conversations.open") == [{"users": MTMOUNT_PRINCIPAL}]
        [dm] = bot.posts(lambda p: p["channel"] == "D01MTMOUNT01")
        assert "MTMount:0 FAULT, beating" in dm["text"]
        assert "ESS" not in dm["text"]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_stale_efd_at_the_deadline_is_reported_as_such(tmp_path: Path, efd: Efd) -> None:
    """No data arriving: the report says the states are unknown, never that CSCs are OFFLINE."""
    async with rig(tmp_path, WATCH, efd) as make:
        bot: Rig = await make()
        await efd.write(TROUBLE_STATES, {("ATDome", 0), ("MTMount", 0)}, ago=120)
        run = await bot.engine.open_run(LEAD, "summit", "cycle-upgrade")
        watch = run.step("verify-end-states")
        assert watch is not None
        assert watch.deadline_at is not None
        await bot.engine.tick(watch.deadline_at + timedelta(seconds=1))
        await bot.settled()
        [report] = bot.said("the deadline is reached")
        assert "EFD is not receiving data: cannot tell" in report["text"]
        assert "is unknown" in report["text"]
        assert "OFFLINE" not in report["text"]
        assert "MTMount" not in report["text"]


@pytest.mark.asyncio(loop_scope="module")
async def test_downtime_beats_reminders_and_the_summary_are_each_said_once(
    tmp_path: Path, efd: Efd
) -> None:
    """A CSC beating while the site should be down; the lead reminded; the run summed up."""
    async with rig(tmp_path, DOWNTIME, efd) as make:
        bot: Rig = await make()
        # ATDome and MTMount beat when the run starts, their last beats 7 s old (alive for 3 s
        # more); MTM1M3, on the site's ignore list, beats on (so the EFD stays fresh).
        ignored = {("MTM1M3", 0): SummaryState.ENABLED}
        await efd.write(dict(TROUBLE_STATES), {("ATDome", 0), ("MTMount", 0)}, ago=7)
        await efd.write(ignored, set(ignored))
        written = time.monotonic()
        run = await bot.engine.open_run(LEAD, "summit", "cycle-upgrade")
        lead = bot.engine.actor(LEAD)
        rev = await bot.when("scriptqueues-offline", StepStatus.AWAITING_APPROVAL)
        # The ScriptQueues come down last: once ATDome and MTMount are silent (> 10 s).
        await asyncio.sleep(max(0.0, written + 3.5 - time.monotonic()))
        await efd.write(ignored, set(ignored))
        await bot.engine.execute(run.run_id, Approve(lead, "scriptqueues-offline", rev))
        await bot.when("sync-telescope", StepStatus.AWAITING_APPROVAL)
        now = bot.clock.now()

        # Down: the ScriptQueues are OFFLINE and nothing is brought back yet. Then ATDome
        # beats again: said once, in the thread.
        await efd.write(ignored, set(ignored))
        await bot.engine.tick(now)
        await efd.write({("ATDome", 0): SummaryState.STANDBY, **ignored}, {("ATDome", 0), *ignored})
        await bot.engine.tick(now + timedelta(seconds=10))  # sooner than downtime_poll: no read
        await bot.settled()
        assert bot.said("is beating again") == []
        await bot.engine.tick(now + timedelta(minutes=1))
        await bot.engine.tick(now + timedelta(minutes=2))
        await bot.settled()
        back, *more = bot.said("is beating again")
        assert more == [], [m["text"] for m in more]
        header = bot.posts(lambda p: "thread_ts" not in p or not p["thread_ts"])[0]
        assert back["thread_ts"] == header_ts(bot, header)
        assert back["text"].startswith(f":rotating_light: <@{LEAD}> *ATDome:0* is beating again")

        # The approval has waited 20 minutes: one reminder in the thread, mentioning the lead.
        await bot.engine.tick(now + timedelta(minutes=19))
        await bot.settled()
        assert bot.said("has been waiting for you") == []
        await efd.write({("ATDome", 0): SummaryState.STANDBY, **ignored}, {("ATDome", 0), *ignored})
        await bot.engine.tick(now + timedelta(minutes=21))
        await bot.engine.tick(now + timedelta(minutes=40))
        await bot.settled()
        [remind] = bot.said("has been waiting for you")
        assert remind["text"].startswith(f":hourglass: <@{LEAD}> *Sync the T&S applications*")
        assert "approve it, mark it done or skip it" in remind["text"]
        assert len(bot.said("is beating again")) == 1

        # The deployment begins: not down any more; the run ends and is summed up once.
        rev = await bot.when("sync-telescope", StepStatus.AWAITING_APPROVAL)
        await bot.engine.execute(run.run_id, Approve(lead, "sync-telescope", rev))
        await bot.when("sync-telescope", StepStatus.SUCCEEDED, 60)
        await bot.engine.tick()
        await bot.engine.tick()
        await bot.settled()
        [summary] = bot.said("the cycle-upgrade run is over (completed)")
        assert summary["channel"] == "#summit-announce"
        assert "sync-telescope" in summary["text"]
        assert f"upgrade-bot report --site summit --run {run.run_id}" in summary["text"]


def header_ts(bot: Rig, header: dict[str, Any]) -> str:
    """The ``ts`` Slack gave the run's header message."""
    call = next(c for c in bot.fake.calls if c.params is header)
    return str(call.answer["ts"])


@pytest.mark.asyncio(loop_scope="module")
async def test_a_held_announcement_is_recalled_at_the_end_of_the_window(
    tmp_path: Path, efd: Efd
) -> None:
    """Integration testing goes on: no announcement until the lead says so.

    At the window's end one reminder, whose button makes the announcement, once.
    """
    async with rig(tmp_path, HELD, efd) as make:
        bot: Rig = await make()
        run = await bot.engine.open_run(LEAD, "summit", "cycle-upgrade")
        step = "announce-nublado-available"
        rev = await bot.when(step, StepStatus.AWAITING_APPROVAL)
        now = bot.clock.now()
        hold = Hold(bot.engine.actor(LEAD), step, rev, until=now + timedelta(hours=2))
        await bot.engine.execute(run.run_id, hold)
        assert (await bot.run()).status is RunStatus.COMPLETED
        await bot.engine.tick(now + timedelta(hours=1))
        await bot.settled()
        assert bot.said(":white_check_mark: *Summit*: Nublado can be used again.") == []
        assert bot.said("integration-testing window") == []

        await bot.engine.tick(now + timedelta(hours=2, seconds=1))
        await bot.engine.tick(now + timedelta(hours=3))
        await bot.settled()
        [reminder] = bot.said("integration-testing window")
        assert reminder["text"].startswith(f":alarm_clock: <@{LEAD}> the integration-testing")
        assert reminder["thread_ts"]
        [buttons] = [b for b in reminder["blocks"] if b["type"] == "actions"]
        [release] = buttons["elements"]
        assert release["text"]["text"] == "Announce it now"
        assert json.loads(release["value"]) == {"run": run.run_id, "key": "nublado-available"}

        assert await bot.engine.speaker.release(run.run_id, "nublado-available") is None
        assert await bot.engine.speaker.release(run.run_id, "nublado-available") is not None
        posted = bot.said(":white_check_mark: *Summit*: Nublado can be used again.")
        assert [p["channel"] for p in posted] == ["#summit-announce"]
        await bot.engine.tick(now + timedelta(hours=4))  # announced: no more reminders
        await bot.settled()
        assert len(bot.said("integration-testing window")) == 1
        [summary] = bot.said("run is over")
        assert "Continue integration testing until" in summary["text"]
