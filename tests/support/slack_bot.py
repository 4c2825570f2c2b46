"""The bot served over HTTP on loopback, talking to the fake Slack Web API, and a Slack to drive it.

Requests are built the way Slack builds them (form bodies, ``payload`` JSON for interactions)
and signed with the signing secret (``v0:<timestamp>:<body>``, HMAC-SHA256).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.config.settings import Settings
from bot.serve import Bot, RunOptions, running_bot
from bot.slack.client import retry_handlers
from state.commands import ActionFailed
from state.run import Run, StepStatus
from tests.support.slack_api import TOKEN, FakeSlack
from tests.support.waiting import until

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105  # Slack's documented example value
CHANNELS = {
    "summit-announce": "C0SUMMIT",
    "summit-camera": "C0CAMERA",
    "tucson-teststand": "C0TTS",
    "base-teststand": "C0BTS",
    "random": "C0RANDOM",
}
LEAD = "U0LEAD"
OTHER = "U0OTHER"


def _listener_tasks() -> set[asyncio.Task[Any]]:
    """Bolt's tasks running a listener after its ack, in this event loop."""
    return {
        task
        for task in asyncio.all_tasks()
        if "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")
    }


def who(user: str) -> dict[str, str]:
    """An interaction's ``user``, as Slack sends it (the name is the user's handle)."""
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0RUBIN"}


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    """Slack's request signature."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SlackSide:
    """Slack's side: sends signed requests to a bot and shows what the bot posted."""

    session: aiohttp.ClientSession
    events_url: str
    fake: FakeSlack
    api_root: str

    async def send(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """POST a body to /slack/events, signed (or mis-signed) as asked."""
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, ts, secret),
            **(headers or {}),
        }
        async with self.session.post(self.events_url, data=body, headers=all_headers) as response:
            await response.read()
            return response

    def _response_url(self) -> str:
        return f"{self.api_root}/response/{len(self.fake.responses) + 1}"

    async def slash(
        self,
        text: str,
        *,
        user: str = LEAD,
        channel: str = "summit-announce",
        channel_id: str | None = None,
        **kw: Any,
    ) -> aiohttp.ClientResponse:
        """``/upgrade <text>`` typed by ``user`` in ``channel`` (a private one: privategroup)."""
        form = {
            "token": "legacy",
            "team_id": "T0RUBIN",
            "team_domain": "rubin-obs",
            "channel_id": channel_id or self.fake.channel_id(channel) or "C0UNKNOWN",
            "channel_name": channel,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/upgrade",
            "text": text,
            "api_app_id": "A0UPGRADE",
            "response_url": self._response_url(),
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        return await self.send(urllib.parse.urlencode(form).encode(), **kw)

    async def interact(self, payload: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        """An interaction (``payload=<json>``)."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.send(body, **kw)

    async def click(
        self, button: dict[str, Any], *, user: str = LEAD, **kw: Any
    ) -> aiohttp.ClientResponse:
        """Press a button of a message (as rendered by the bot)."""
        payload = {
            "type": "block_actions",
            "user": who(user),
            "api_app_id": "A0UPGRADE",
            "team": {"id": "T0RUBIN", "domain": "rubin-obs"},
            "container": {"type": "message", "channel_id": "C0SUMMIT", "is_ephemeral": False},
            "channel": {"id": "C0SUMMIT", "name": "summit-announce"},
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "response_url": self._response_url(),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b",
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interact(payload, **kw)

    async def submit(
        self, view: dict[str, Any], values: dict[str, str], *, user: str = LEAD
    ) -> aiohttp.ClientResponse:
        """Submit a form the bot opened, with text (or selected) values by block id."""
        state: dict[str, Any] = {}
        for block_id, value in values.items():
            field = (
                {"type": "static_select", "selected_option": {"value": value}}
                if block_id == "kind"
                else {"type": "plain_text_input", "value": value}
            )
            state[block_id] = {"value": field}
        payload = {
            "type": "view_submission",
            "team": {"id": "T0RUBIN"},
            "user": who(user),
            "api_app_id": "A0UPGRADE",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": state},
            },
        }
        return await self.interact(payload)

    async def mark_done(
        self, button: dict[str, Any], note: str, *, user: str = LEAD
    ) -> aiohttp.ClientResponse:
        """Press a step's "Mark done…" and say what was done in the form it opens."""
        opened = len(self.fake.of("views.open"))
        await self.click(button, user=user)
        await until(lambda: len(self.fake.of("views.open")) > opened)
        view = self.fake.of("views.open")[-1]["view"]
        return await self.submit(view, {"reason": note}, user=user)

    def ephemeral(self) -> list[str]:
        """What the bot answered only to the asker (by response URL), in order."""
        return self._answered("ephemeral")

    def public(self) -> list[str]:
        """What the bot answered for the channel to see (by response URL), in order."""
        return self._answered("in_channel")

    def _answered(self, kind: str) -> list[str]:
        return [r["text"] for r in self.fake.responses if r.get("response_type") == kind]

    def messages(self) -> dict[str, list[dict[str, Any]]]:
        """The latest blocks of every message the bot posted or edited, by ts."""
        return {ts: params.get("blocks", []) for ts, params in self._latest().items()}

    def texts(self) -> dict[str, str]:
        """The latest text of every message the bot posted or edited, by ts."""
        return {ts: str(params.get("text", "")) for ts, params in self._latest().items()}

    def _latest(self) -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for call in self.fake.calls:
            if call.method in {"chat.postMessage", "chat.update"} and call.answer.get("ok"):
                latest[call.answer["ts"]] = call.params
        return latest

    def thread(self) -> list[dict[str, Any]]:
        """What the bot posted in the runs' threads (step messages and replies), in order."""
        return [p for p in self.fake.of("chat.postMessage") if p.get("thread_ts")]

    def buttons(
        self, match: Callable[[dict[str, Any]], bool] = lambda _b: True
    ) -> list[dict[str, Any]]:
        """Every button now shown, in message order."""
        found = []
        for blocks in self.messages().values():
            for block in blocks:
                if block.get("type") == "actions":
                    found += [e for e in block["elements"] if match(e)]
        return found


@dataclass
class Slack(SlackSide):
    """Slack's side, and the bot in this process that it talks to."""

    bot: Bot

    async def settled(self) -> None:
        """Wait until the bot has handled every request and shown every change (30 s at most).

        Bolt acks a request, then runs its listener as a task of its own
        (``AsyncioListenerRunner``: ``run_ack_function_asynchronously``): those tasks are
        waited for by name, not by a guess of how long they take, then the bot's posts and
        edits.
        """
        async with asyncio.timeout(30):
            while listeners := _listener_tasks():
                await asyncio.wait(listeners)
            await self.bot.front.drained()

    async def start_summit(self, text: str = "start summit cycle-upgrade", **kw: Any) -> Run:
        """A summit run started by slash command, its first manual step (M2) marked done.

        The shipped procedure puts M2 in closed loop before the shutdown; a test of what comes
        after presses its "Mark done…" as the lead would, and says what was done in its form.
        """
        await self.slash(text, **kw)
        run = await self.open_run()
        if run.step("m2-closed-loop") is not None:
            await until(lambda: self.buttons(lambda b: b["action_id"] == "step.mark_done"))
            done = self.buttons(lambda b: b["action_id"] == "step.mark_done")[-1]
            await self.mark_done(done, "M2 in closed loop from its EUI", user=kw.get("user", LEAD))
            await self.settled()
        return await self.open_run()

    async def open_run(self, site: str = "summit") -> Run:
        """The site's open run, once it is open (a start is acked first, then done)."""
        await until(lambda: self.bot.store.open_run(site))  # type: ignore[arg-type]
        run = await self.bot.store.open_run(site)  # type: ignore[arg-type]
        assert run is not None
        return run

    async def running(self, step_id: str, site: str = "summit") -> None:
        """Wait until the step runs (an approval is acked first, then applied)."""

        async def runs() -> bool:
            run = await self.bot.store.open_run(site)  # type: ignore[arg-type]
            state = run.step(step_id) if run else None
            return state is not None and state.status is StepStatus.RUNNING

        await until(runs)

    async def fail(self, step_id: str, error: str, site: str = "summit") -> None:
        """The step's running action fails with ``error``, as its runner would say it."""
        await self.running(step_id, site)
        run = await self.bot.store.open_run(site)  # type: ignore[arg-type]
        assert run is not None
        state = run.step(step_id)
        assert state is not None
        await self.bot.engine.execute(run.run_id, ActionFailed(step_id, state.attempt, error))


@asynccontextmanager
async def slack_and_bot(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    speed: float = 1.0,
    config: Path | None = None,
    procedure: Path | None = None,
    fake: FakeSlack | None = None,
) -> AsyncIterator[Slack]:
    """The fake Slack API and the bot over HTTP, both on loopback (``config``: its file)."""
    fake = fake or FakeSlack(channels=dict(CHANNELS))
    fake.rehearsal = True  # every message must carry the marker (checked at the end)
    api = TestServer(fake.app(), host="127.0.0.1")
    await api.start_server()
    root = f"http://127.0.0.1:{api.port}"
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", f"{root}/api/")
    monkeypatch.setenv("UPGRADE_BOT_HEALTH_PORT", "0")
    monkeypatch.setenv("UPGRADE_BOT_STOP_GRACE", "0")  # a step under way is cut off at once
    if config is None:
        monkeypatch.delenv("UPGRADE_BOT_CONFIG", raising=False)
    else:
        monkeypatch.setenv("UPGRADE_BOT_CONFIG", str(config))
    options = RunOptions(
        simulate=True,
        speed=speed,
        http=("127.0.0.1", 0),
        db=tmp_path / "bot.db",
        procedure=procedure,
    )
    try:
        async with running_bot(Settings(), options, tick=0.02, edits_per_minute=60_000) as bot:
            # Slack's trouble is retried and waited out as in production, only sooner.
            bot.app.client.retry_handlers[:] = retry_handlers(backoff=0.01)
            bot.updates._out_of_reach = 0.1
            bot.front._catch_up = 0.2
            server = TestServer(bot.app.web_app(path="/slack/events"), host="127.0.0.1")
            await server.start_server()
            try:
                async with aiohttp.ClientSession() as session:
                    yield Slack(
                        session, f"http://127.0.0.1:{server.port}/slack/events", fake, root, bot
                    )
                assert fake.unmarked == [], f"rehearsal messages, no marker: {fake.unmarked}"
            finally:
                await server.close()
                await requests_done()
    finally:
        await api.close()


async def requests_done() -> None:
    """Wait (10 s at most) for the requests Bolt is still working on after their acks.

    Bolt runs a listener's work after the ack in a task of its own
    (``AsyncioListenerRunner``: ``run_ack_function_asynchronously``); the bot must not stop
    under it.
    """
    working = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__name__", "") == "run_ack_function_asynchronously"
    ]
    if working:
        await asyncio.wait(working, timeout=10)
