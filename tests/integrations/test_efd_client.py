"""The real EFD client against a real InfluxDB 1.x (``influxd`` on loopback), and its failures."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from integrations.efd import EfdClient, SiteStates, SummaryState
from integrations.errors import IntegrationError, IntegrationTimeout
from tests.support.influxdb import (
    Influxd,
    free_port,
    heartbeat_line,
    influxd_path,
    module_influxd,
    summary_state_line,
)

module_loop = pytest.mark.asyncio(loop_scope="module")
"""The servers live for the whole module, so every test runs on the module's event loop."""

STANDBY, ENABLED, DISABLED = SummaryState.STANDBY, SummaryState.ENABLED, SummaryState.DISABLED
_names = itertools.count()


def _now_ms() -> int:
    return int(time.time() * 1000)


def beats(csc: str, index: int | None, until_ms: int, seconds: int = 20) -> list[str]:
    """A CSC beating every second up to ``until_ms``; ``index=None``: a non-indexed CSC.

    A topic is one series with no tags, so two instances' points must never share a
    timestamp (the later would overwrite the earlier): each index gets its own millisecond.
    """
    offset = 0 if index is None else index % 997
    lines = [heartbeat_line(csc, index or 0, until_ms - k * 1000 - offset) for k in range(seconds)]
    return lines if index is not None else [_no_index(line) for line in lines]


def state(csc: str, index: int | None, value: SummaryState, at_ms: int) -> str:
    """One summaryState event (``index=None``: a non-indexed CSC, no ``salIndex`` field)."""
    line = summary_state_line(csc, index or 0, int(value), at_ms - (index or 0) % 997)
    return line if index is not None else _no_index(line)


def _no_index(line: str) -> str:
    """ts_xml gives non-indexed components no ``salIndex`` field at all."""
    return line.replace("salIndex=0i,", "")


def site(now: int) -> list[str]:
    """A small site: non-indexed and indexed CSCs, running, exited, and states of all ages."""
    hour, day = 3_600_000, 86_400_000
    return [
        *beats("ATDome", None, now),
        state("ATDome", None, STANDBY, now - 5 * hour),
        state("ATDome", None, ENABLED, now - 3 * hour),
        *beats("ESS", 1, now),
        *beats("ESS", 101, now),
        *beats("ESS", 102, now),
        state("ESS", 1, ENABLED, now - 2 * day),
        state("ESS", 101, STANDBY, now - 10 * hour),
        state("ESS", 102, DISABLED, now - 1 * hour),
        *beats("ScriptQueue", 1, now),
        *beats("ScriptQueue", 2, now),
        state("ScriptQueue", 1, ENABLED, now - 3 * day),
        state("ScriptQueue", 2, ENABLED, now - 3 * day + 5),
        # Exited: MTDome (non-indexed) a minute ago, ESS:103 45 s ago, both STANDBY last.
        *beats("MTDome", None, now - 60_000),
        state("MTDome", None, ENABLED, now - day),
        state("MTDome", None, STANDBY, now - 70_000),
        *beats("ESS", 103, now - 45_000),
        state("ESS", 103, STANDBY, now - 50_000),
    ]


@dataclass
class Db:
    """A fresh database on the module's influxd, for one test."""

    server: Influxd
    name: str

    def client(self, *, url: str | None = None, **kwargs: Any) -> EfdClient:
        """A client of this database (through ``url`` if given, e.g. a proxy)."""
        return EfdClient(url=url or self.server.url, database=self.name, **kwargs)

    async def write(self, lines: list[str]) -> None:
        """Line protocol, millisecond precision, as the EFD's Telegraf writes it."""
        await self.server.write(self.name, lines)


influxd = pytest_asyncio.fixture(scope="module", loop_scope="module")(module_influxd)
"""One real ``influxd`` for the module."""


@pytest_asyncio.fixture(loop_scope="module")
async def db(influxd: Influxd) -> AsyncIterator[Db]:
    """A database of its own for each test, dropped afterwards."""
    name = f"efd_{next(_names)}"
    await influxd.create_database(name)
    yield Db(influxd, name)
    await influxd.drop_database(name)


@pytest_asyncio.fixture(loop_scope="module")
async def client(db: Db) -> AsyncIterator[EfdClient]:
    """A client with the production defaults (bar the database name)."""
    efd = db.client()
    yield efd
    await efd.aclose()


@dataclass
class Recorder:
    """A recording HTTP proxy in front of influxd: counts and keeps every request it relays."""

    target: str
    prefix: str = ""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Relay ``<prefix>/<anything>`` to the target, as an ingress would."""
        app = web.Application()
        app.router.add_route("*", self.prefix + "/{path:.*}", self.relay)
        return app

    async def relay(self, request: web.Request) -> web.Response:
        """Record the request, forward it, hand back the answer."""
        self.requests.append((request.method, request.path, dict(request.query)))
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                f"{self.target}/{request.match_info['path']}",
                params=request.query,
                headers={k: v for k, v in request.headers.items() if k.lower() == "authorization"},
            ) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )


async def serve(app: web.Application) -> TestServer:
    """Start ``app`` on 127.0.0.1 (the caller closes it)."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def stub(*answers: Callable[[], web.Response]) -> tuple[web.Application, list[str]]:
    """A stand-in InfluxDB answering each request with the next answer (the last repeats).

    What each request asked is recorded: its statement, or its path when it has none.
    """
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.query.get("q", request.path))
        return answers[min(len(seen), len(answers)) - 1]()

    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", answer)
    return app, seen


def ages(states: SiteStates) -> dict[str, float | None]:
    return {ref: csc.heartbeat_age for ref, csc in states.cscs.items()}


async def expect_error(call: Awaitable[object]) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        await call
    return caught.value


@module_loop
async def test_every_instance_resolved_separately(db: Db, client: EfdClient) -> None:
    """Non-indexed and indexed CSCs each get their own last state and heartbeat age."""
    await db.write(site(_now_ms()))
    states = await client.states()
    assert states.fresh
    assert set(states.cscs) == {
        "ATDome:0", "ESS:1", "ESS:101", "ESS:102", "ESS:103",
        "MTDome:0", "ScriptQueue:1", "ScriptQueue:2",
    }  # fmt: skip
    expected = {
        "ATDome:0": ENABLED,
        "ESS:1": ENABLED,
        "ESS:101": STANDBY,
        "ESS:102": DISABLED,
        "ScriptQueue:1": ENABLED,
        "ScriptQueue:2": ENABLED,
    }
    for ref, want in expected.items():
        csc = states.cscs[ref]
        assert csc.summary_state is want, ref
        assert csc.alive, ref
        assert csc.heartbeat_age is not None
        assert csc.heartbeat_age < 3.0
    assert states.cscs["ESS:101"].index == 101
    assert states.cscs["ESS:101"].name == "ESS"


@module_loop
async def test_scripts_beating_in_a_queue_are_set_apart_from_the_cscs(
    db: Db, client: EfdClient
) -> None:
    """A SAL script loaded in a queue beats as ``lsst.sal.Script`` (index: its id), every 5 s.

    It is heard, and kept apart: never a CSC, so never a straggler or a CSC to bring back.
    """
    now = _now_ms()
    script_beats = [heartbeat_line("Script", 100001, now - k * 5000) for k in range(4)]
    await db.write([*site(now), *script_beats])
    states = await client.states()
    assert "Script:100001" not in states.cscs
    assert not any(ref.startswith("Script:") for ref in states.cscs)
    script = states.scripts["Script:100001"]
    assert script.alive
    assert script.summary_state is None
    assert "ATDome:0" in states.cscs


@module_loop
async def test_exited_csc_shows_its_age_and_last_state(db: Db, client: EfdClient) -> None:
    """A CSC that exited keeps its last state (STANDBY) and its silence grows: not alive."""
    await db.write(site(_now_ms()))
    states = await client.states()
    dome, ess = states.cscs["MTDome:0"], states.cscs["ESS:103"]
    assert dome.summary_state is STANDBY
    assert ess.summary_state is STANDBY
    assert not dome.alive
    assert not ess.alive
    assert dome.heartbeat_age == pytest.approx(60, abs=3)
    assert ess.heartbeat_age == pytest.approx(45, abs=3)
    assert states.fresh  # the others beat: silence here means OFFLINE


@module_loop
async def test_csc_never_seen_is_absent_and_others_filtered(db: Db) -> None:
    """Watching named CSCs reads only those; one the EFD never heard of is simply not there."""
    await db.write(site(_now_ms()))
    efd = db.client(cscs=["ATDome", "NeverRan"])
    try:
        states = await efd.states()
        assert set(states.cscs) == {"ATDome:0"}
        assert all("(ATDome|NeverRan)" in q for q in efd.statements())
    finally:
        await efd.aclose()


@module_loop
async def test_stale_efd_is_not_fresh_but_ages_are_reported(db: Db, client: EfdClient) -> None:
    """Nothing newer than five minutes: not fresh, yet every age and state is still there."""
    await db.write(site(_now_ms() - 300_000))
    states = await client.states()
    assert not states.fresh
    assert ages(states)["ATDome:0"] == pytest.approx(300, abs=3)
    assert ages(states)["MTDome:0"] == pytest.approx(360, abs=3)
    assert states.cscs["ESS:102"].summary_state is DISABLED


@module_loop
async def test_empty_efd_is_not_fresh(client: EfdClient) -> None:
    """No data at all: an empty, not fresh reading (not an error)."""
    states = await client.states()
    assert not states.fresh
    assert states.cscs == {}


@module_loop
async def test_one_request_per_statement(db: Db) -> None:
    """Each statement of a poll is its own GET /query: three the first time, two later."""
    await db.write(site(_now_ms()))
    recorder = Recorder(db.server.url, prefix="/influxdb")
    proxy = await serve(recorder.app())
    efd = db.client(url=str(proxy.make_url("/influxdb")))
    try:
        first = await efd.states()
        assert len(recorder.requests) == 3
        second = await efd.states()
        assert len(recorder.requests) == 5
    finally:
        await efd.aclose()
        await proxy.close()
    assert len(first.cscs) == len(second.cscs) == 8
    for method, path, query in recorder.requests:
        assert (method, path) == ("GET", "/influxdb/query")
        assert query["db"] == db.name
        assert query["epoch"] == "ms"
        assert query["q"].count("SELECT") == 1
        assert "u" not in query
        assert "p" not in query
    lasts = ["last(" in query["q"] for _, _, query in recorder.requests]
    assert sum(lasts[:3]) == 1  # last() the first time only
    assert not any(lasts[3:])


@module_loop
async def test_a_polls_statements_are_asked_at_once() -> None:
    """The statements' requests are all in flight together: none waits for another's answer.

    InfluxDB runs one request's statements one after another; separate requests, side by
    side. This stand-in answers nothing until every request of the poll has arrived.
    """
    arrived: list[str] = []
    everyone = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        arrived.append(request.query["q"])
        if len(arrived) == 3:  # the first poll: three statements
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 10)  # one at a time: never, and a 500
        return web.json_response({"results": [{"statement_id": 0}]})

    app = web.Application()
    app.router.add_get("/query", answer)
    server = await serve(app)
    efd = EfdClient(url=str(server.make_url("")))
    try:
        states = await efd.states()
    finally:
        await efd.aclose()
        await server.close()
    assert states.cscs == {}
    assert len(set(arrived)) == 3  # three different statements


@module_loop
async def test_later_polls_read_only_new_states_and_remember_old(db: Db, client: EfdClient) -> None:
    """After the first poll only recent summaryState rows are read; older ones are remembered."""
    now = _now_ms()
    await db.write(site(now))
    first = await client.states()
    later = client.statements()
    assert len(later) == 2  # no last() of the heartbeats: every beat since holds the newest
    assert "now() - 5184000000ms" not in " ".join(later)  # 60 days of states: once only
    await db.write([state("ESS", 101, DISABLED, _now_ms())])
    second = await client.states()
    assert first.cscs["ESS:101"].summary_state is STANDBY
    assert second.cscs["ESS:101"].summary_state is DISABLED
    assert second.cscs["ESS:1"].summary_state is ENABLED  # two days old, not read again
    assert second.cscs["ScriptQueue:2"].summary_state is ENABLED


@module_loop
async def test_later_poll_reads_everything_since_the_previous_one(db: Db) -> None:
    """Even with no margin for late rows, a state published between two polls is read."""
    await db.write(site(_now_ms()))
    efd = db.client(state_margin=0.0)
    try:
        await efd.states()
        await asyncio.sleep(0.3)  # the new row is stamped after the first poll began
        await db.write([state("ESS", 102, ENABLED, _now_ms() - 20)])
        states = await efd.states()
    finally:
        await efd.aclose()
    assert states.cscs["ESS:102"].summary_state is ENABLED


@module_loop
@pytest.mark.parametrize("late_margin", [2.0, 0.0])
async def test_a_beat_that_lands_late_is_read_within_the_margin(db: Db, late_margin: float) -> None:
    """A later poll reads from where the EFD had caught up, less ``late_margin``.

    A point's time is its message's, so a beat stamped a second before the newest beats of
    the first poll may reach InfluxDB after it (Telegraf writes in batches): read with the
    margin, missed without one (the steady poll reads only what is new, and this is the price
    of a margin of 0).
    """
    now = _now_ms()
    await db.write(site(now))
    efd = db.client(late_margin=late_margin)
    try:
        await efd.states()
        steady = efd.statements()
        await db.write([heartbeat_line("Late", 3, now - 1500)])
        states = await efd.states()
    finally:
        await efd.aclose()
    if late_margin:
        assert states.cscs["Late:3"].alive
    else:
        assert "Late:3" not in states.cscs
    assert "5184000000ms" not in " ".join(steady)  # neither 60 days of last() nor of states
    assert "60000ms" not in steady[0]  # nor a minute of every beat


@module_loop
async def test_a_connector_behind_the_others_holds_the_next_poll_back(db: Db) -> None:
    """Each topic lands after its own connector's lag: the slowest live one sets the window.

    ESS's beats land 6 s after their time while the others' land at once. Read "since the
    previous poll began, less 2 s", ESS's next beat (stamped 3 s after its previous one,
    still 3 s in the past) would be missed and ESS:1 would drift towards silence; read from
    where every live topic had arrived, it is seen.
    """
    now = _now_ms()
    await db.write([*beats("ATDome", None, now), *beats("ESS", 1, now - 6000)])
    efd = db.client(late_margin=2.0)
    try:
        await efd.states()
        await db.write([*beats("ATDome", None, _now_ms(), 2), *beats("ESS", 1, now - 3000, 1)])
        second = await efd.states()
    finally:
        await efd.aclose()
    read = second.at.timestamp() - (now - 3000 - 1) / 1000  # the age if the new beat was read
    assert second.cscs["ESS:1"].heartbeat_age == pytest.approx(read, abs=0.01)


@module_loop
async def test_when_nothing_beats_a_poll_reads_the_heartbeat_window(db: Db) -> None:
    """Every CSC down mid-upgrade: the poll reads the whole heartbeat window.

    No beat says how far the EFD has come, so a CSC that starts up is seen even if its first
    beats land late.
    """
    now = _now_ms()
    await db.write([*beats("ATDome", None, now - 120_000)])  # down two minutes ago
    efd = db.client()
    try:
        await efd.states()
        steady = efd.statements()
        await db.write([*beats("MTDome", None, _now_ms() - 30_000, 1)])  # up, landing late
        up = await efd.states()
    finally:
        await efd.aclose()
    assert "WHERE time > now() - 6" in steady[0]  # about a minute (60 s and the margin)
    assert up.cscs["MTDome:0"].heartbeat_age is not None


@module_loop
async def test_state_older_than_lookback_is_not_seen(db: Db) -> None:
    """The documented limit: a summary state older than ``lookback`` reads as no state."""
    await db.write(site(_now_ms()))
    efd = db.client(lookback=timedelta(days=1))
    try:
        states = await efd.states()
    finally:
        await efd.aclose()
    assert states.cscs["ESS:1"].summary_state is None  # two days old
    assert states.cscs["ESS:1"].alive
    assert states.cscs["ESS:102"].summary_state is DISABLED


@module_loop
async def test_indexed_instance_silent_beyond_window(db: Db) -> None:
    """The documented limit: an indexed instance silent beyond the window has no known age.

    A non-indexed CSC's age stays exact however long its silence (``last()``), and so does
    the age of the last instance of an indexed CSC to beat.
    """
    now = _now_ms()
    await db.write(
        [
            *beats("ESS", 1, now - 30_000),
            *beats("ESS", 2, now - 40_000),
            state("ESS", 2, STANDBY, now - 60_000),
            *beats("MTDome", None, now - 60_000),
        ]
    )
    efd = db.client(heartbeat_window=10.0)
    try:
        states = await efd.states()
    finally:
        await efd.aclose()
    assert ages(states)["ESS:1"] == pytest.approx(30, abs=3)
    assert ages(states)["ESS:2"] is None
    assert states.cscs["ESS:2"].summary_state is STANDBY
    assert ages(states)["MTDome:0"] == pytest.approx(60, abs=3)
    assert not states.fresh


@module_loop
async def test_salindex_zero_reads_as_the_non_indexed_instance(db: Db, client: EfdClient) -> None:
    """A producer that writes ``salIndex=0`` for a non-indexed CSC gives the same ``Name:0``."""
    now = _now_ms()
    await db.write([heartbeat_line("ATMCS", 0, now), summary_state_line("ATMCS", 0, 2, now - 10)])
    states = await client.states()
    assert states.cscs["ATMCS:0"].summary_state is ENABLED
    assert states.cscs["ATMCS:0"].alive


@module_loop
async def test_unknown_state_value_reads_as_no_state(db: Db, client: EfdClient) -> None:
    """A summaryState value ts_xml does not define is no state, not a crash."""
    now = _now_ms()
    await db.write([*beats("Test", 7, now), state("Test", 7, STANDBY, now - 9)])
    await db.write([summary_state_line("Test", 7, 42, now)])
    states = await client.states()
    assert states.cscs["Test:7"].summary_state is None


@module_loop
async def test_ping_answers_on_a_real_influxd(client: EfdClient) -> None:
    """``GET /ping`` gets InfluxDB's 204."""
    await client.ping()


@module_loop
async def test_missing_database_is_an_error(influxd: Influxd) -> None:
    """A database that does not exist: InfluxDB's own error, on the host that gave it."""
    efd = EfdClient(url=influxd.url, database="no_such_efd")
    try:
        error = await expect_error(efd.states())
    finally:
        await efd.aclose()
    assert error.host == influxd.url.removeprefix("http://")
    assert "no_such_efd" in error.message
    assert error.detail == "database not found: no_such_efd"


@module_loop
async def test_timeout_when_the_server_never_answers() -> None:
    """A server that accepts and says nothing: IntegrationTimeout, within the timeout."""
    release = asyncio.Event()

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    efd = EfdClient(url=f"http://127.0.0.1:{port}", timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(IntegrationTimeout) as caught:
            await efd.states()
        with pytest.raises(IntegrationTimeout):
            await efd.ping()
    finally:
        release.set()
        await efd.aclose()
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 20  # gave up: the server never answers
    assert caught.value.host == f"127.0.0.1:{port}"
    assert "0.3s" in str(caught.value)


@module_loop
async def test_connection_refused_is_an_error_not_a_timeout() -> None:
    """Nobody listening: IntegrationError naming the host, after the one retry."""
    port = free_port()
    efd = EfdClient(url=f"http://127.0.0.1:{port}", retry_delay=0.01)
    try:
        error = await expect_error(efd.states())
        ping_error = await expect_error(efd.ping())
    finally:
        await efd.aclose()
    assert not isinstance(error, IntegrationTimeout)
    assert error.host == f"127.0.0.1:{port}"
    assert "cannot reach" in error.message
    assert "cannot reach" in ping_error.message


@module_loop
async def test_wrong_password_is_refused_with_401() -> None:
    """With auth on, a wrong password is a 401 error that never shows the password."""
    if influxd_path() is None:
        pytest.skip("influxd is not installed")
    async with Influxd(auth=True) as server:
        await server.create_admin("efdreader", "right-horse-battery")
        await server.create_database("efd")
        await server.write("efd", beats("ATDome", None, _now_ms()))
        wrong = EfdClient(url=server.url, username="efdreader", password=SecretStr("hunter2-x"))
        right = EfdClient(
            url=server.url, username="efdreader", password=SecretStr("right-horse-battery")
        )
        anonymous = EfdClient(url=server.url)
        try:
            error = await expect_error(wrong.states())
            states = await right.states()
            await right.ping()
            ping_error = await expect_error(anonymous.ping())  # /ping passes; the query not
            anonymous_error = await expect_error(anonymous.states())
        finally:
            for efd in (wrong, right, anonymous):
                await efd.aclose()
    assert error.status == 401
    assert "password" in error.message
    assert error.detail is not None
    assert "authorization failed" in error.detail
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(error.detail)
    assert anonymous_error.status == 401
    assert ping_error.status == 401
    assert states.cscs["ATDome:0"].alive


@module_loop
async def test_malformed_body_is_an_error() -> None:
    """A 200 that is not InfluxDB's JSON (a proxy's HTML page, a wrong shape) is an error."""
    app, _ = stub(lambda: web.Response(text="<html>Welcome to nginx</html>"))
    shapes, _ = stub(lambda: web.json_response({"results": [{"series": "nope"}] * 3}))
    rows, _ = stub(
        lambda: web.json_response(
            {
                "results": [
                    {"series": [{"name": "lsst.sal.X.logevent_heartbeat", "columns": ["time"]}]},
                    {},
                    {"series": [{"name": "x", "columns": ["time"], "values": [[1, 2]]}]},
                ]
            }
        )
    )
    for one in (app, shapes, rows):
        server = await serve(one)
        efd = EfdClient(url=str(server.make_url("")))
        try:
            error = await expect_error(efd.states())
        finally:
            await efd.aclose()
            await server.close()
        assert "malformed" in error.message
        assert error.status == 200
        assert error.host is not None
        assert error.host.startswith("127.0.0.1:")


@module_loop
async def test_rows_beyond_one_chunk_are_all_read(db: Db, client: EfdClient) -> None:
    """InfluxDB answers in chunks of 10,000 rows: the newest rows, in the last chunk, count."""
    now = _now_ms()
    await db.write(
        [state("ESS", 1 + k % 4, STANDBY, now - 60_000 - k * 100) for k in range(12_000)]
        + [state("ESS", i, ENABLED, now) for i in (1, 2, 3, 4)]
    )
    states = await client.states()
    assert {ref: c.summary_state for ref, c in states.cscs.items()} == dict.fromkeys(
        ("ESS:1", "ESS:2", "ESS:3", "ESS:4"), ENABLED
    )


def _chunk(statement: int, rows: list[list[object]], *, partial: bool = False) -> str:
    series = {"name": "lsst.sal.ESS.logevent_summaryState", "columns": ["time", "summaryState"]}
    result = {"statement_id": statement, "series": [{**series, "values": rows}]}
    return json.dumps({"results": [{**result, **({"partial": True} if partial else {})}]})


@module_loop
async def test_chunks_are_merged_and_a_cut_answer_is_an_error() -> None:
    """Chunks of one statement merge (newest row wins); an answer cut short is an error."""
    now = _now_ms()
    chunks = [
        _chunk(0, [[now - 2000, 5], [now - 1000, 2]], partial=True),
        _chunk(0, [[now - 1500, 1]]),
    ]

    def answering(states: list[str]) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            found = states if "summaryState" in request.query["q"] else [_chunk(0, [])]
            return web.Response(text="\n".join(found), content_type="application/json")

        app = web.Application()
        app.router.add_get("/query", answer)
        return app

    server, cut_server = await serve(answering(chunks)), await serve(answering(chunks[:1]))
    efd = EfdClient(url=str(server.make_url("")))
    cut_efd = EfdClient(url=str(cut_server.make_url("")))
    try:
        states = await efd.states()
        error = await expect_error(cut_efd.states())
    finally:
        for one in (efd, cut_efd):
            await one.aclose()
        for srv in (server, cut_server):
            await srv.close()
    assert states.cscs["ESS:0"].summary_state is ENABLED
    assert "stopped short" in error.message


@module_loop
async def test_server_errors_show_influxdb_error_text() -> None:
    """5xx and 4xx carry the status and InfluxDB's ``error`` text; 403 says credentials."""
    for status, message in ((500, "InfluxDB failed"), (400, "refused"), (403, "credentials")):

        def answer(status: int = status) -> web.Response:
            return web.json_response({"error": f"boom {status}"}, status=status)

        app, seen = stub(answer)
        server = await serve(app)
        efd = EfdClient(url=str(server.make_url("")), retry_delay=0.01)
        try:
            error = await expect_error(efd.states())
        finally:
            await efd.aclose()
            await server.close()
        assert error.status == status
        assert message in error.message
        assert error.detail == f"boom {status}"
        assert len(seen) == len(set(seen))  # nothing worth repeating


@module_loop
async def test_unavailable_is_retried_once_then_reported() -> None:
    """A 503 (a restarting server behind the ingress) is asked once more; twice is an error."""
    empty = {"results": [{"statement_id": 0}]}
    app, seen = stub(
        lambda: web.Response(status=503, text="upstream connect error"),
        lambda: web.json_response(empty),
    )
    down, seen_down = stub(lambda: web.Response(status=503, text="upstream connect error"))
    server, server_down = await serve(app), await serve(down)
    efd = EfdClient(url=str(server.make_url("")), retry_delay=0.01)
    efd_down = EfdClient(url=str(server_down.make_url("")), retry_delay=0.01)
    try:
        states = await efd.states()
        error = await expect_error(efd_down.states())
    finally:
        for one in (efd, efd_down):
            await one.aclose()
        for srv in (server, server_down):
            await srv.close()
    assert len(seen) == 4  # three statements, the one refused asked again
    assert len(set(seen)) == 3
    assert states.cscs == {}
    assert max(map(seen_down.count, seen_down)) == 2  # asked twice, then reported
    assert error.status == 503
    assert error.detail == "upstream connect error"


@module_loop
async def test_ping_of_a_missing_database_is_an_error(influxd: Influxd) -> None:
    """InfluxDB is up, but the configured database is not there: said by the check."""
    efd = EfdClient(url=influxd.url, database="no_such_efd")
    try:
        error = await expect_error(efd.ping())
    finally:
        await efd.aclose()
    assert error.message == "database 'no_such_efd': database not found: no_such_efd"


@module_loop
async def test_ping_failure_is_an_error() -> None:
    """A /ping answered by anything but 204 (or 200) is an IntegrationError with the status."""
    app, seen = stub(lambda: web.Response(status=404, text="404 page not found"))
    server = await serve(app)
    efd = EfdClient(url=str(server.make_url("/influxdb")))
    try:
        error = await expect_error(efd.ping())
    finally:
        await efd.aclose()
        await server.close()
    assert seen == ["/influxdb/ping"]
    assert error.status == 404


@module_loop
async def test_cancel_is_harmless_and_the_client_reopens_after_aclose(
    db: Db, client: EfdClient
) -> None:
    """cancel() has nothing to stop; after aclose() the next call opens a new session."""
    await db.write(site(_now_ms()))
    await client.cancel()
    await client.states()
    await client.aclose()
    assert (await client.states()).fresh


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "https://user:pw@summit-lsp.lsst.codes/influxdb"},
        {"url": "ftp://summit-lsp.lsst.codes/influxdb"},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "password": SecretStr("x")},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "cscs": ["ATDome|.*"]},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "cscs": []},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "fresh_within": 10.0},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "heartbeat_window": 5.0},
        {"url": "https://summit-lsp.lsst.codes/influxdb", "timeout": 0},
    ],
)
def test_constructor_refuses_what_would_go_wrong(kwargs: dict[str, object]) -> None:
    """Credentials in the url, odd CSC names, windows that break the verdicts: refused."""
    with pytest.raises(ValueError, match=r".+"):
        EfdClient(**kwargs)  # type: ignore[arg-type]


def test_production_statements() -> None:
    """The production url and database give fully qualified regex sources, one per topic."""
    efd = EfdClient(
        url="https://summit-lsp.lsst.codes/influxdb",
        username="efdreader",
        password=SecretStr("s3cret"),
    )
    newest, window, events = efd.statements()
    assert newest == (
        'SELECT last(private_origin), salIndex FROM "efd"."autogen".'
        r"/^lsst\.sal\.[A-Za-z0-9_]+\.logevent_heartbeat$/ WHERE time > now() - 5184000000ms"
    )
    assert window.startswith("SELECT private_origin, salIndex FROM")
    assert window.endswith("logevent_heartbeat$/ WHERE time > now() - 60000ms")
    assert events.startswith("SELECT summaryState, salIndex FROM")
    assert "s3cret" not in repr(vars(efd))
