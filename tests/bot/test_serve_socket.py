"""Socket Mode, the default: the bot opens the websocket Slack gives it and answers envelopes.

A loopback fake of ``apps.connections.open`` (with the app-level token) hands out a
``ws://127.0.0.1`` URL; the fake sends ``hello``, then a slash command envelope, and checks
the bot acknowledges it and acts.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.config.settings import Settings
from bot.serve import RunOptions, running_bot
from tests.support.slack_api import APP_TOKEN, TOKEN, FakeSlack
from tests.support.slack_bot import CHANNELS, LEAD
from tests.support.waiting import until


@pytest.mark.asyncio
async def test_a_slash_command_over_socket_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/upgrade start summit ...`` over the websocket: acked, and the run opens."""
    fake = FakeSlack(channels=dict(CHANNELS))
    api = TestServer(fake.app(), host="127.0.0.1")
    await api.start_server()
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{api.port}/api/")
    options = RunOptions(simulate=True, db=tmp_path / "bot.db")
    try:
        async with running_bot(Settings(), options) as bot:
            handler = AsyncSocketModeHandler(bot.app, APP_TOKEN)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            try:
                await until(lambda: fake.sockets)
                payload = {
                    "command": "/upgrade", "text": "start summit cycle-upgrade cycle=c0040",
                    "user_id": LEAD, "channel_id": "C0SUMMIT", "channel_name": "summit-announce",
                    "team_id": "T0RUBIN", "api_app_id": "A0UPGRADE",
                    "response_url": f"http://127.0.0.1:{api.port}/response/1",
                    "trigger_id": f"trigger-{time.monotonic_ns()}",
                }  # fmt: skip
                await fake.push({"envelope_id": "env-1", "type": "slash_commands",
                                 "accepts_response_payload": True, "payload": payload})  # fmt: skip
                await until(lambda: fake.acks)
                await until(lambda: bot.store.open_run("summit"))
                await bot.front.drained()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
    finally:
        await api.close()
    assert fake.acks[0]["envelope_id"] == "env-1"
    # The channels bound by id at start-up, then the websocket opened.
    assert [c.method for c in fake.calls][:2] == ["conversations.list", "apps.connections.open"]
    header = next(c for c in fake.calls if c.method == "chat.postMessage")
    assert header.answer["channel"] == "C0SUMMIT"
