"""Rehearsal is a mode: marked messages, the camera team left alone, runs kept apart.

Against the Slack fake on loopback: the bot's own Web API client marks every message it posts
or edits in a rehearsal (the fake, in rehearsal mode, records any message without the marker;
every test on ``slack_and_bot`` checks that too); a rehearsal's announcement goes to the site
channel only unless configured otherwise. On real stores: a real bot refuses a store with an
open rehearsal run, and a rehearsal (``run --simulate``, ``demo``) one with an open real run,
naming the runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.cli import main
from bot.config.settings import Settings
from bot.config.sites import Audience, SiteConfig, default_sites
from bot.serve import Bot, RunOptions
from bot.slack.announcer import SlackAnnouncer
from bot.slack.rehearsal import MARK
from bot.wiring.simulated import rehearsal_sites
from state.names import Site
from state.run import Run
from state.store import Store
from state.store_url import sqlite_url
from state.stored import StoreError
from tests.support.runs import T0, start_command
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.slack_bot import CHANNELS


@pytest_asyncio.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlack]:
    """The Slack fake on loopback, in rehearsal mode; the settings point at it."""
    slack = FakeSlack(channels=dict(CHANNELS), rehearsal=True)
    server = TestServer(slack.app(), host="127.0.0.1")
    await server.start_server()
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{server.port}/api/")
    yield slack
    await server.close()


def with_camera() -> dict[Site, SiteConfig]:
    """The sites, the summit's camera team configured (its channel and group)."""
    sites = default_sites()
    camera = Audience(channels=("C0CAMERA",), groups=("camera-team",))
    sites["summit"] = sites["summit"].model_copy(
        update={"channel": "C0SUMMIT", "audiences": {"camera": camera}}
    )
    return sites


@pytest.mark.asyncio
async def test_a_rehearsal_marks_every_message_and_a_real_bot_none(fake: FakeSlack) -> None:
    """Posts, edits and direct messages carry the marker in text and blocks; real ones do not."""
    client = build_app(Settings(), http=False, rehearsal=True).client
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "step 1"}}]
    posted = await client.chat_postMessage(channel="C0SUMMIT", text="step 1", blocks=blocks)
    await client.chat_update(channel="C0SUMMIT", ts=posted["ts"], text="step 1: done")
    await client.chat_postMessage(channel="C0SUMMIT", text="no blocks")
    assert fake.unmarked == []
    raw = fake.calls[0].params  # as recorded: the marker taken off again
    assert raw["text"] == "step 1"
    assert raw["blocks"] == blocks
    real = build_app(Settings(), http=False).client
    await real.chat_postMessage(channel="C0SUMMIT", text="a real run's message")
    assert [p["text"] for p in fake.unmarked] == ["a real run's message"]
    assert MARK not in fake.unmarked[0]["text"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("configured", "channels", "mention"),
    [(False, ["C0SUMMIT"], False), (True, ["C0SUMMIT", "C0CAMERA"], True)],
)
async def test_a_rehearsal_tells_the_camera_team_only_if_configured_to(
    fake: FakeSlack, tmp_path: Path, *, configured: bool, channels: list[str], mention: bool
) -> None:
    """By default a rehearsal's announcement stays in the site channel, nobody mentioned."""
    client = build_app(Settings(), http=False, rehearsal=True).client
    store = await Store.open(sqlite_url(str(tmp_path / "r.db")))
    try:
        sites = rehearsal_sites(with_camera(), audiences=configured)
        announcer = SlackAnnouncer(client=client, sites=sites, store=store)
        await announcer.announce(
            site="summit", key="camera-stage-1", text="Camera: stage 1",
            audiences=("camera",), acknowledge=True,
        )  # fmt: skip
    finally:
        await store.aclose()
    posts = fake.of("chat.postMessage")
    assert [p["channel"] for p in posts] == channels
    assert all(("camera-team" in p["text"]) is mention for p in posts)
    assert fake.unmarked == []


async def a_store_with_an_open_run(path: Path, *, rehearsal: bool) -> str:
    """A store whose summit run is open (a rehearsal's or a real one); its URL."""
    url = sqlite_url(str(path))
    store = await Store.open(url)
    try:
        await store.start(replace(start_command("summit-1", "summit"), rehearsal=rehearsal), T0)
    finally:
        await store.aclose()
    return url


@pytest.mark.asyncio
@pytest.mark.parametrize("simulate", [False, True])
async def test_a_bot_never_resumes_a_run_of_the_other_mode(
    tmp_path: Path, *, simulate: bool
) -> None:
    """Refused as the bot starts, naming the run; the run is left as it was."""
    db = tmp_path / "runs.db"
    url = await a_store_with_an_open_run(db, rehearsal=not simulate)
    before = await stored_run(url)
    theirs = "real" if simulate else "rehearsal"
    with pytest.raises(StoreError, match=rf"this store has open {theirs} runs \(summit-1\)"):
        await Bot.create(Settings(), RunOptions(simulate=simulate, db=db))
    assert before.rehearsal is not simulate
    assert await stored_run(url) == before


async def stored_run(url: str) -> Run:
    """The summit run as stored."""
    store = await Store.open(url)
    try:
        return await store.get("summit-1")
    finally:
        await store.aclose()


def test_the_demo_never_resumes_a_real_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``demo --db`` on a store with an open real run: one line, exit 2."""
    asyncio.run(a_store_with_an_open_run(tmp_path / "real.db", rehearsal=False))
    assert main(["demo", "--speed", "max", "--db", str(tmp_path / "real.db")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "upgrade-bot: this store has open real runs (summit-1): a rehearsal never resumes a "
        "real run; give the rehearsal its own store (--db, or UPGRADE_BOT_REHEARSAL_DATABASE_URL)\n"
    )


def test_a_rehearsal_has_its_own_store_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the real runs' file, nor UPGRADE_BOT_DATABASE_URL; --db names any store."""
    monkeypatch.setenv("UPGRADE_BOT_DATABASE_URL", "postgresql+asyncpg://bot@db/real")
    settings = Settings()
    assert settings.store_url() == "postgresql+asyncpg://bot@db/real"
    assert settings.store_url(rehearsal=True) == "sqlite+aiosqlite:///upgrade-bot-rehearsal.db"
    assert settings.store_url("x.db", rehearsal=True) == "sqlite+aiosqlite:///x.db"
