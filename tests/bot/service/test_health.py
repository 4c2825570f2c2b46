"""``/healthz`` and ``/metrics`` of a running bot (over HTTP on loopback, the fake Slack behind).

Healthy while it drives; unhealthy as soon as a worker no longer runs or the store's lease is
not this bot's; and a worker that dies, or a lease that is lost, stops the bot (never silent).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import structlog
from aiohttp.test_utils import TestServer

from bot.service.health import Health, health_app
from bot.service.lease import NAME
from bot.service.supervisor import WorkerDied
from state.store import Store
from state.store_url import sqlite_url
from tests.support.slack_bot import Slack, slack_and_bot


async def started(slack: Slack) -> None:
    """The lead starts a summit run (its pre-flight runs and succeeds by itself)."""
    await slack.slash("start summit cycle-upgrade cycle=c0040 branch=tickets/DM-1")
    await slack.settled()


class Probe:
    """GETs ``/healthz`` and ``/metrics`` of a health server on loopback."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession) -> None:
        """Probe ``server`` with ``session``."""
        self._base = f"http://127.0.0.1:{server.port}"
        self._session = session

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        """The status and the body."""
        async with self._session.get(f"{self._base}/healthz") as response:
            return response.status, await response.json()

    async def metrics(self, accept: str = "") -> str:
        """The exposition text (in the format ``accept`` asks for, else Prometheus' text)."""
        headers = {"Accept": accept} if accept else {}
        async with self._session.get(f"{self._base}/metrics", headers=headers) as response:
            wanted = accept.split(";", maxsplit=1)[0] or "text/plain"
            assert response.headers["Content-Type"].startswith(wanted)
            return await response.text()


@pytest_asyncio.fixture
async def probe_of() -> AsyncIterator[Any]:
    """Start a health server for a :class:`Health`; a probe of it."""
    servers: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(health: Health) -> Probe:
        server = TestServer(health_app(health), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        sessions.append(aiohttp.ClientSession())
        return Probe(server, sessions[-1])

    yield start
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition (``None``: not there)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:{{(.*)}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[1] or ""))
        if found == labels:
            return float(match[2])
    return None


@pytest.mark.asyncio
async def test_a_driving_bot_is_healthy_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe_of: Any
) -> None:
    """Health lists each check; metrics by prometheus-client, with histograms, lease, workers."""
    async with slack_and_bot(tmp_path, monkeypatch) as slack:
        probe = await probe_of(slack.bot.health)
        await started(slack)
        status, body = await probe.healthz()
        assert status == 200, body
        workers = dict.fromkeys(("lease", "slack-edits", "slack-front", "ticker"), "running")
        assert body == {"ok": True, "state": "driving", "store": "ok", "lease": "held",
                        "workers": workers}  # fmt: skip
        text = await probe.metrics()
        holder = str(slack.bot.lease.holder)
        assert sample(text, "upgrade_bot_events_total", type="run.started") == 1
        assert sample(text, "upgrade_bot_lease_held", holder=holder) == 1
        assert sample(text, "upgrade_bot_lease_epoch") == 1
        assert sample(text, "upgrade_bot_worker_up", worker="slack-edits") == 1
        assert sample(text, "upgrade_bot_slack_edits_total", result="sent") is not None
        preflight = {"step": "preflight", "outcome": "succeeded"}
        assert sample(text, "upgrade_bot_step_duration_seconds_count", **preflight) == 1
        assert sample(text, "upgrade_bot_step_duration_seconds_bucket", le="+Inf", **preflight)
        assert "# TYPE upgrade_bot_step_duration_seconds histogram" in text
        openmetrics = await probe.metrics("application/openmetrics-text; version=1.0.0")
        assert openmetrics.endswith("# EOF\n")

        await slack.bot.workers.stop("slack-edits")  # as a worker that died looks to health
        status, body = await probe.healthz()
        assert status == 503
        assert body["workers"]["slack-edits"] == "dead"
        assert sample(await probe.metrics(), "upgrade_bot_worker_up", worker="slack-edits") == 0


@pytest.mark.asyncio
async def test_slack_errors_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Web API call Slack refuses shows in the metrics, by method and error.

    (A rate limit is waited out and retried by the client, as Slack asks: not an error.)
    """
    async with slack_and_bot(tmp_path, monkeypatch) as slack:
        slack.fake.fail_next["chat.postMessage"] = ["invalid_blocks"]
        await started(slack)
        await slack.slash("start summit cycle-upgrade")  # refused (one run per site): no post
        await slack.settled()
        text = slack.bot.metrics.render()[0].decode()
    assert sample(text, "upgrade_bot_slack_errors_total", method="chat.postMessage",
                  error="invalid_blocks") == 1  # fmt: skip


@pytest.mark.asyncio
async def test_a_worker_killed_stops_the_bot_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe_of: Any
) -> None:
    """The Slack front end's worker is killed: the bot stops within seconds, logged, unhealthy."""
    stopped_after: list[float] = []

    async def run() -> None:
        async with slack_and_bot(tmp_path, monkeypatch) as slack:
            health.append(slack.bot.health)
            await started(slack)
            began = asyncio.get_running_loop().time()
            try:
                slack.bot.workers._tasks["slack-front"].cancel()
                await asyncio.sleep(30)  # the bot's supervisor cancels this within seconds
            finally:
                stopped_after.append(asyncio.get_running_loop().time() - began)

    health: list[Health] = []
    with structlog.testing.capture_logs() as logs, pytest.raises(WorkerDied, match="slack-front"):
        await run()
    assert stopped_after[0] < 5
    died = [e for e in logs if e["event"] == "A worker died; the bot stops"]
    assert died == [
        {"event": "A worker died; the bot stops", "worker": "slack-front", "why": "was cancelled",
         "exc_info": None, "log_level": "critical"}
    ]  # fmt: skip
    probe = await probe_of(health[0])
    status, body = await probe.healthz()
    assert (status, body) == (503, {"ok": False, "state": "stopping"})


@pytest.mark.asyncio
async def test_a_lost_lease_is_unhealthy_and_stops_the_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe_of: Any
) -> None:
    """Another bot takes the store over: /healthz fails at once, and the bot stops."""
    monkeypatch.setenv("UPGRADE_BOT_LEASE_SECONDS", "3")  # renewed each second

    async def run() -> None:
        async with slack_and_bot(tmp_path, monkeypatch) as slack:
            probe = await probe_of(slack.bot.health)
            await started(slack)
            other = await Store.open(sqlite_url(str(tmp_path / "bot.db")))
            try:
                later = datetime.now(UTC) + timedelta(seconds=31)  # as if this bot had frozen
                assert (
                    await other.take_lease(NAME, "the standby", later, timedelta(seconds=60))
                    is None
                )
            finally:
                await other.aclose()
            status, body = await probe.healthz()
            assert status == 503
            assert body["lease"] == "not held by this bot (held by the standby)"
            await slack.slash("status")  # its first write, or its renewal, finds it lost
            await asyncio.sleep(30)

    with pytest.raises(WorkerDied, match=r"lease.*lost: now held by the standby"):
        await asyncio.wait_for(run(), 20)
