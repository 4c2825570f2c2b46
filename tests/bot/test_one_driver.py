"""One driver, never silent: real ``upgrade-bot run`` processes, signalled as an operator would.

Each test starts the bots as processes of their own on a SQLite store in tmp, with the fake
Slack Web API on loopback, and drives them the way Slack does (signed requests). Then it
freezes (SIGSTOP), wakes (SIGCONT), stops (SIGTERM) or takes away what they depend on, and
reads the store as another process would. Every wait is on a condition, with a limit.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from state.events import EVENT_ADAPTER
from state.evolve import replay
from state.run import Run, StepState, StepStatus
from tests.support.processes import BotProcess, rows, stopped, write_lock_free
from tests.support.slack_api import FakeSlack
from tests.support.slack_bot import CHANNELS, SlackSide
from tests.support.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

START = "start summit cycle-upgrade cycle=c0040 branch=tickets/DM-1"


@asynccontextmanager
async def fake_slack(fake: FakeSlack | None = None, port: int = 0) -> AsyncIterator[TestServer]:
    """The fake Slack Web API on loopback (``port``: again where it was)."""
    server = TestServer((fake or FakeSlack(channels=dict(CHANNELS))).app(), host="127.0.0.1",
                        port=port)  # fmt: skip
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def terminated(bot: BotProcess, limit: float = 30.0) -> None:
    """SIGTERM ``bot``: it stops gracefully, exit 0."""
    bot.signal(signal.SIGTERM)
    assert await bot.exited(limit) == 0, bot.text()


@dataclass
class Scene:
    """The fake Slack on loopback, a store in tmp, and the bots started on it."""

    fake: FakeSlack
    api: TestServer
    db: Path
    env: dict[str, str]
    bots: list[BotProcess] = field(default_factory=list)

    @property
    def root(self) -> str:
        """The fake Slack's base URL."""
        return f"http://127.0.0.1:{self.api.port}"

    async def bot(self, name: str, *args: str, **kw: Any) -> BotProcess:
        """Start ``upgrade-bot run`` on the store (ended with the scene)."""
        bot = await BotProcess.start(
            name, *args, db=self.db, api_root=self.root, **{"env": self.env, **kw}
        )
        self.bots.append(bot)
        return bot

    async def driver_and_standby(self) -> tuple[BotProcess, BotProcess]:
        """A drives the store; B, started once A does, stands by."""
        a = await self.bot("A")
        await a.says("Serving Slack over HTTP")
        b = await self.bot("B", "--standby")
        await until(lambda: healthy(b, "waiting for the store's lease, held by "), limit=30)
        return a, b

    @asynccontextmanager
    async def slack(self, bot: BotProcess) -> AsyncIterator[SlackSide]:
        """Slack's side, sending to ``bot``'s /slack/events."""
        async with aiohttp.ClientSession() as session:
            events = f"http://127.0.0.1:{bot.http}/slack/events"
            yield SlackSide(session, events, self.fake, self.root)


@asynccontextmanager
async def scene(tmp_path: Path, **env: str) -> AsyncIterator[Scene]:
    """A scene; every bot still running at its end is killed."""
    fake = FakeSlack(channels=dict(CHANNELS))
    async with fake_slack(fake) as api:
        made = Scene(fake, api, tmp_path / "bot.db", env)
        try:
            yield made
        finally:
            for bot in made.bots:
                await bot.kill()


def run_of(db: Path) -> Run | None:
    """The summit's open run, as stored."""
    found = rows(db, "SELECT snapshot FROM runs WHERE open_site = 'summit'")
    return Run.model_validate_json(found[0][0]) if found else None


def step_of(db: Path, step_id: str) -> StepState | None:
    """A step of the open run, as stored."""
    run = run_of(db)
    return run.step(step_id) if run else None


def lease_of(db: Path) -> tuple[str, int, datetime]:
    """The store's lease: holder, epoch, until when."""
    ((holder, epoch, until_),) = rows(db, "SELECT holder, epoch, expires_at FROM leases")
    return holder, epoch, datetime.fromisoformat(until_)


def held_by(db: Path, bot: BotProcess) -> bool:
    """Whether ``bot``'s process holds the store's lease."""
    return f" pid {bot.pid} [" in lease_of(db)[0]


def written(db: Path) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """What the store holds, row by row, with the epoch each was written under."""
    events = rows(db, "SELECT run_id, seq, type, epoch FROM events")
    runs = rows(db, "SELECT run_id, version, epoch FROM runs")
    progress = rows(db, "SELECT run_id, step_id, attempt, text, at FROM progress")
    return {
        "events": {(r, s): (t, e) for r, s, t, e in events},
        "runs": {(r,): (v, e) for r, v, e in runs},
        "progress": {(r, s): (a, t, at) for r, s, a, t, at in progress},
    }


async def healthy(bot: BotProcess, state: str = "driving") -> bool:
    """Whether ``bot``'s /healthz answers 200 in ``state`` (a prefix)."""
    found = await bot.healthz()
    return found is not None and found[0] == 200 and found[1]["state"].startswith(state)


async def button(slack: SlackSide, action: str, step_id: str) -> dict[str, Any]:
    """A button of a step's message, once the bot has shown it."""
    found: list[dict[str, Any]] = []

    def shown() -> bool:
        found[:] = [b for b in slack.buttons(lambda b: b["action_id"] == action)
                    if json.loads(b["value"]).get("step") == step_id]  # fmt: skip
        return bool(found)

    await until(shown, limit=30)
    return found[-1]


async def shutdown_running(bot: BotProcess, slack: SlackSide, db: Path) -> None:
    """The lead starts a run, puts M2 in closed loop, approves the shutdown: its script runs."""
    await slack.slash(START)
    await slack.mark_done(await button(slack, "step.mark_done", "m2-closed-loop"), "M2 closed")
    await slack.click(await button(slack, "step.approve", "shutdown-cscs"))

    def queued() -> bool:  # its runner reported the script's progress: it runs in the queue
        state = step_of(db, "shutdown-cscs")
        progress = rows(db, "SELECT attempt FROM progress WHERE step_id = 'shutdown-cscs'")
        return state is not None and state.status is StepStatus.RUNNING and progress == [(1,)]

    await until(queued, limit=30)
    assert bot.process.returncode is None


async def freeze(bot: BotProcess, db: Path) -> None:
    """SIGSTOP ``bot`` outside a write transaction (else it would hold SQLite's lock)."""
    for _ in range(100):
        bot.signal(signal.SIGSTOP)
        await until(lambda: stopped(bot.pid), limit=10)
        if write_lock_free(db):
            return
        bot.signal(signal.SIGCONT)  # frozen inside a transaction: let it commit, try again
        await until(lambda: not stopped(bot.pid), limit=10)
    pytest.fail("the bot was always caught inside a write transaction")


async def test_a_frozen_bot_woken_after_a_takeover_changes_nothing_and_exits(
    tmp_path: Path,
) -> None:
    """A frozen, B (standby) takes over, A woken: A exits non-zero having written nothing."""
    async with scene(tmp_path, UPGRADE_BOT_LEASE_SECONDS="3") as at:
        db = at.db
        a, b = await at.driver_and_standby()
        assert a.said(r"Serving /healthz and /metrics +address=127\.0\.0\.1:")  # loopback
        async with at.slack(a) as slack:
            await shutdown_running(a, slack, db)
        assert held_by(db, a)
        assert lease_of(db)[1] == 1

        await freeze(a, db)
        await until(lambda: held_by(db, b), limit=30)  # A's lease expired: B took it
        assert lease_of(db)[1] == 2
        await until(lambda: healthy(b), limit=30)
        state = step_of(db, "shutdown-cscs")
        assert state is not None
        assert state.status is StepStatus.INTERRUPTED  # found running by B: the lead decides
        before = written(db)

        a.signal(signal.SIGCONT)
        assert await a.exited(30) == 1
        assert a.said(r"A worker died; the bot stops .*lease")
        after = written(db)
        for table, kept in after.items():
            for key, row in kept.items():
                if key not in before[table] or row != before[table][key]:
                    assert table != "progress", f"progress written after the takeover: {row}"
                    assert row[-1] == 2, f"{table} {key} written by A after the takeover: {row}"

        status, body = await b.healthz() or (0, {})
        assert (status, body["lease"], body["state"]) == (200, "held", "driving")
        async with at.slack(b) as slack:
            answered = len(at.fake.responses)
            await slack.slash("status", channel="random")
            await until(lambda: len(at.fake.responses) > answered, limit=30)
        assert "Summit" in json.dumps(at.fake.responses[-1])
        await terminated(b)


async def test_sigterm_mid_step_exits_0_and_the_standby_takes_over_at_once(
    tmp_path: Path,
) -> None:
    """SIGTERM: A records the step it cut off, releases the lease, exits 0; B drives at once."""
    async with scene(tmp_path, UPGRADE_BOT_LEASE_SECONDS="60") as at:  # expiry won't let B in
        db = at.db
        a, b = await at.driver_and_standby()
        async with at.slack(a) as slack:
            await shutdown_running(a, slack, db)
        _, _, a_until = lease_of(db)

        a.signal(signal.SIGTERM)
        began = time.monotonic()
        assert await a.exited(30) == 0, a.text()
        took = time.monotonic() - began
        assert took < 15, f"A took {took:.1f} s to stop"
        await until(lambda: held_by(db, b), limit=10)
        assert datetime.now(UTC) < a_until - timedelta(seconds=30)  # released, not expired
        assert a.said("Step cut off by the stop"), a.text()
        assert a.said("Stopped")

        run = run_of(db)
        assert run is not None
        bodies = rows(db, "SELECT body, epoch FROM events WHERE run_id = ? ORDER BY seq",
                      run.run_id)  # fmt: skip
        events = [(EVENT_ADAPTER.validate_json(body), epoch) for body, epoch in bodies]
        mine = [(e.type, getattr(e, "attempt", None), e.actor, epoch) for e, epoch in events
                if getattr(e, "step_id", None) == "shutdown-cscs"]  # fmt: skip
        assert mine[-2:] == [
            ("step.started", 1, "U0LEAD", 1),
            ("step.interrupted", 1, "bot", 1),  # recorded by A itself, before it let go
        ]
        assert replay([e for e, _ in events]) == run  # the record is whole
        await until(lambda: healthy(b), limit=30)

        c = await at.bot("C", "--standby")
        await until(lambda: healthy(c, "waiting for the store's lease"), limit=30)
        await terminated(c, limit=10)  # a standby stops at once, and B is left alone
        assert c.said("Stopped while waiting for the store's lease")
        assert held_by(db, b)
        await terminated(b)


async def test_a_bot_whose_slack_goes_away_stops_or_recovers_never_silently(
    tmp_path: Path,
) -> None:
    """Slack's API drops away under the bot: it exits non-zero, or counts and goes on."""
    async with scene(tmp_path) as at:
        a = await at.bot("A")
        await a.says("Serving Slack over HTTP")
        async with at.slack(a) as slack:
            await slack.slash(START)
            await slack.mark_done(
                await button(slack, "step.mark_done", "m2-closed-loop"), "M2 closed"
            )
            approve = await button(slack, "step.approve", "shutdown-cscs")
            port = at.api.port or 0
            await at.api.close()  # Slack is away: every Web API call fails to connect
            await slack.click(approve)  # A takes the click, and cannot show it
            errors = r'upgrade_bot_slack_errors_total\{.*error="ClientConnectorError"'

            async def noticed() -> bool:
                return a.process.returncode is not None or bool(
                    re.search(errors, await a.metrics())
                )

            await until(noticed, limit=30)
            async with fake_slack(at.fake, port=port):  # Slack is back, where it was
                seen = len(at.fake.calls) + len(at.fake.responses)
                await slack.slash("status", channel="random")

                def back() -> bool:
                    return a.process.returncode is not None or (
                        len(at.fake.calls) + len(at.fake.responses) > seen
                    )

                await until(back, limit=30)
                code = a.process.returncode
    if code is not None:  # it stopped: not silently, and not with success
        assert code != 0
        assert a.said("A worker died; the bot stops")
    else:  # it recovered, and said what it could not do
        assert a.said(r"Slack out of reach; edits wait|Not posted; the run's messages catch up")


async def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The health port or Slack's HTTP port taken: one line naming it, exit 2, no traceback."""
    async with scene(tmp_path) as at:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            for bot in (
                await at.bot("A", env={"UPGRADE_BOT_HEALTH_PORT": str(port)}),
                await at.bot("B", http=port),
            ):
                assert await bot.exited(30) == 2, bot.text()
                assert bot.log[-1] == (
                    f"upgrade-bot: cannot listen on 127.0.0.1:{port}: address already in use"
                ), bot.text()
                assert not bot.said("Traceback")
