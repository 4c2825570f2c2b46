"""EFD poll: every CSC instance of a summit-sized site, the bot's round trip vs one per instance.

Loads a real ``influxd`` (Debian's 1.6, on loopback, in a temporary directory, as the tests
start it) with the summit's CSC instances as the simulated observatory lists them (about 150,
most of them ESS indices): ``--hours`` of 1 Hz heartbeats for every instance (a few of them
exited an hour ago; the beats of the time loading takes included) and ``--days`` of
summaryState events, a few a day each, shaped as the EFD's Telegraf connectors write them (no
tags; ``salIndex`` only on indexed CSCs). The cache is flushed to TSM files before measuring,
as the EFD's older data is; then every running instance keeps beating live, once a second,
written by a process of its own as the EFD's connectors are (:func:`beating`).

The question every row answers: each instance's last heartbeat and summary state.

- ``EfdClient.states()``, the first poll of a new client (60 days of states, every beat of the
  last minute), then in the steady state: a poll every ``--interval`` seconds on average
  (:meth:`Bench.paced`) reading only what changed since the EFD had caught up at the previous
  poll, less the late-arrival margin (2 s);
- the baseline: one request per instance, lsst-efd-client style (``last()`` of the heartbeat
  and of the summaryState topic, ``WHERE salIndex = N``): its first poll over 60 days, and its
  steady poll over the same window as the client's (fair: it too knows when it last asked).

    .venv/bin/python -m benchmarks.efd_poll [--hours 24] [--days 30] [--polls 100]

Loading a day of heartbeats (13 million points) takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from multiprocessing.synchronize import Event

import aiohttp

from benchmarks.stats import summary_row
from integrations.efd import EfdClient
from integrations.sim.catalog import CscSpec, cscs
from tests.support.influxdb import Influxd, heartbeat_line, summary_state_line

LOOKBACK_MS = 60 * 86_400_000
"""The client's default lookback, used by the baseline's queries too."""


def _no_index(line: str, spec: CscSpec) -> str:
    """Non-indexed components have no ``salIndex`` field in the EFD (ts_xml topic_info)."""
    return line.replace("salIndex=0i,", "") if spec.index == 0 else line


def site() -> list[CscSpec]:
    """The summit's CSC instances."""
    return cscs("summit", ("ATCamera", "MTCamera", "CCCamera"))


EXITED = 8
"""Instances that exited an hour before the measures (the rest keep beating throughout)."""


def exited(specs: list[CscSpec]) -> set[str]:
    """The refs of the instances that exited."""
    return {spec.ref for spec in random.Random(7).sample(specs, EXITED)}


def beats(specs: list[CscSpec], since: int, until: int) -> list[str]:
    """Every running instance's beats after ``since``, up to ``until`` (ms), once a second."""
    gone = exited(specs)
    return [
        _no_index(heartbeat_line(spec.name, spec.index, t - n), spec)
        for t in range(until, since, -1000)
        for n, spec in enumerate(specs)
        if spec.ref not in gone
    ]


async def beat(db: Influxd, specs: list[CscSpec], since: int, started: Event) -> None:
    """The live site: every running instance beats once a second from ``since`` (ms) on.

    ``started`` is set once the beats up to now are written.
    """
    while True:
        now = int(time.time() * 1000)
        await db.write("efd", beats(specs, since, now))
        since = now
        started.set()
        await asyncio.sleep(max(0.0, 1.0 - (time.time() * 1000 - now) / 1000))


def beating(url: str, since: int, started: Event) -> None:
    """:func:`beat` into the server at ``url``, in a process of its own until it is stopped.

    The EFD's writers (the Telegraf connectors) are not the bot's process: writing from the
    benchmark's event loop would put their work between a poll's request and its answer, a
    cost the bot does not pay (and paced in step with the polls, the same for every poll).
    """

    async def run() -> None:
        db = Influxd(url=url)
        db.connect()
        try:
            await beat(db, site(), since, started)
        finally:
            await db.stop()

    asyncio.run(run())


async def load(db: Influxd, specs: list[CscSpec], hours: float, days: float) -> int:
    """Write the site's past heartbeats and summary states; the number of points written."""
    rng = random.Random(42)
    now = int(time.time() * 1000)
    gone = exited(specs)
    points = 0
    for n, spec in enumerate(specs):
        # Each instance on its own millisecond: a topic's points must not share a timestamp.
        until = now - n - (3_600_000 if spec.ref in gone else 0)
        lines = [
            _no_index(heartbeat_line(spec.name, spec.index, t), spec)
            for t in range(until, now - int(hours * 3_600_000), -1000)
        ]
        at = now - n - int(days * 86_400_000)
        while at < until:
            state = rng.choice([1, 2, 2, 5, 5, 5, 3])
            lines.append(_no_index(summary_state_line(spec.name, spec.index, state, at), spec))
            at += rng.randint(2, 12) * 3_600_000  # a few events a day
        lines.append(_no_index(summary_state_line(spec.name, spec.index, 5, until - 1000), spec))
        await db.write("efd", lines)
        points += len(lines)
    return points


async def timed(call: Callable[[], Awaitable[object]], n: int, *, warmup: int = 2) -> list[float]:
    """``n`` timings of ``call`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


HEADER = [
    "| poll of every instance (150) | n | p50 ms | p99 ms | max ms | requests | kB/poll |",
    "|---|---:|---:|---:|---:|---:|---:|",
]


def row(name: str, samples: list[float], requests: int, size: int) -> str:
    """One line of the table."""
    return f"{summary_row(name, samples)} {requests} | {size / 1024:.0f} |"


def per_instance(spec: CscSpec, since_ms: int) -> str:
    """The baseline's query for one instance, as lsst-efd-client builds them."""
    where = f" AND salIndex = {spec.index}" if spec.index else ""
    source = f'"efd"."autogen"."lsst.sal.{spec.name}.logevent_'
    since = f"time > now() - {since_ms}ms"
    return (
        f'SELECT last(private_origin) FROM {source}heartbeat" WHERE {since}{where};'  # noqa: S608
        f'SELECT last(summaryState) FROM {source}summaryState" WHERE {since}{where}'
    )


def ageing(steady: list[float], began: float, ended: float) -> str:
    """The steady polls' first and last quarters: how the poll grows as InfluxDB's cache does.

    Beats written live stay in InfluxDB's in-memory cache until it is written to a TSM file
    (25 MB of writes, ``cache-snapshot-memory-size``, or ``cache-snapshot-write-cold-
    duration`` without a write), and InfluxDB 1.x copies a series' whole cache to read any
    part of it (influxdata/influxdb ``tsdb/engine/tsm1/cache.go``, ``Cache.Values``: "a copy
    of all values, deduped and sorted"). The writers here write nothing else, so the cache
    holds every beat since the history went to TSM files: each poll reads a longer cache.
    """
    quarter = max(1, len(steady) // 4)
    return (
        f"The bot's steady poll, first quarter p50 {statistics.median(steady[:quarter]):.2f} ms"
        f" (the live beats {began:.0f} s in InfluxDB's cache), last quarter"
        f" {statistics.median(steady[-quarter:]):.2f} ms ({ended:.0f} s)."
    )


class Bench:
    """The measures, against one loaded server."""

    def __init__(
        self, db: Influxd, http: aiohttp.ClientSession, polls: int, interval: float, live: float
    ) -> None:
        """``live``: since when the beats are in InfluxDB's cache (epoch seconds)."""
        self.db, self.http, self.polls, self.interval = db, http, polls, interval
        self.few = max(5, polls // 10)
        self.window_ms = 60_000
        """The window of the client's steady poll, which the baseline's steady poll reads too."""
        self.live = live
        self.rng = random.Random(3)
        self.pace = f"{interval / 2:g}-{interval * 1.5:g} s"
        """How far apart the polls are (:meth:`paced`)."""
        self.ageing = ""
        """The bot's steady poll early and late in the run (:meth:`client_rows`)."""

    async def query(self, q: str) -> int:
        """One raw GET /query; the size of the answer."""
        params = {"db": "efd", "epoch": "ms", "q": q}
        async with self.http.get(f"{self.db.url}/query", params=params) as r:
            body = await r.read()
            if r.status != 200 or b'"error"' in body:
                raise RuntimeError(body[:300])
            return len(body)

    async def paced(self, call: Callable[[], Awaitable[object]], n: int) -> list[float]:
        """``n`` timings of ``call`` (ms), one every ``interval`` seconds on average.

        Each pause is drawn between half and one and a half ``interval``: the bot's polls
        (every 5-10 s) fall anywhere in the writers' second, where with a fixed period of 1 s
        every poll of a run would meet the writers at the same point of their beat.
        """
        samples = []
        for _ in range(n):
            began = time.perf_counter()
            await call()
            took = time.perf_counter() - began
            samples.append(took * 1000)
            await asyncio.sleep(max(0.0, self.interval * self.rng.uniform(0.5, 1.5) - took))
        return samples

    async def first_poll(self) -> list[float]:
        """A new client's first poll, ``few`` times."""
        samples = []
        for _ in range(self.few):
            fresh = EfdClient(url=self.db.url)
            try:
                began = time.perf_counter()
                await fresh.states()
                samples.append((time.perf_counter() - began) * 1000)
            finally:
                await fresh.aclose()
        return samples

    async def client_rows(self) -> list[str]:
        """states(): the first poll, then the steady state."""
        client = EfdClient(url=self.db.url)
        first_statements = client.statements()  # one request each, sent at once
        size_first = await self.query(";".join(first_statements))
        first = await self.first_poll()
        await client.states()
        began = time.time() - self.live
        steady = await self.paced(client.states, self.polls)
        self.ageing = ageing(steady, began, time.time() - self.live)
        steady_statements = client.statements()
        size_steady = await self.query(";".join(steady_statements))
        self.window_ms = int(re.findall(r"now\(\) - (\d+)ms", steady_statements[0])[0])
        await client.aclose()
        return [
            row("bot: states(), first poll of a client", first, len(first_statements), size_first),
            row(
                f"bot: states(), steady (every {self.pace})",
                steady,
                len(steady_statements),
                size_steady,
            ),
        ]

    async def baseline_rows(self, specs: list[CscSpec]) -> list[str]:
        """One request per instance, one after another: first over 60 days, then steady."""
        window_ms = self.window_ms  # the client's steady window: what it knew it had to read

        async def poll(since_ms: int) -> int:
            return sum([await self.query(per_instance(spec, since_ms)) for spec in specs])

        first = await timed(lambda: poll(LOOKBACK_MS), self.few, warmup=1)
        first_size = await poll(LOOKBACK_MS)
        steady = await self.paced(lambda: poll(window_ms), max(self.few, self.polls // 4))
        return [
            row(
                "baseline: one query per instance, first",
                first,
                len(specs),
                first_size,
            ),
            row(
                f"baseline: one query per instance, steady (every {self.pace})",
                steady,
                len(specs),
                await poll(window_ms),
            ),
        ]


async def measure(hours: float, days: float, polls: int, interval: float) -> list[str]:
    """Load, measure; the table with the setting it was measured in."""
    specs = site()
    cold = 'cache-snapshot-write-cold-duration = "2s"\n  compact-full-write-cold-duration = "2s"'
    async with Influxd(data_options=cold) as db:
        await db.create_database("efd")
        started, loading = time.perf_counter(), int(time.time() * 1000)
        points = await load(db, specs, hours, days)
        # The beats of the time loading took, with the history: the live cache must not hold
        # more the slower this machine loads.
        caught_up = int(time.time() * 1000)
        await db.write("efd", catch_up := beats(specs, loading, caught_up))
        points += len(catch_up)
        loaded = time.perf_counter() - started
        await asyncio.sleep(6)  # the cache goes cold and is written to TSM files
        spawn = multiprocessing.get_context("spawn")
        writing = spawn.Event()
        writers = spawn.Process(target=beating, args=(db.url, caught_up, writing), daemon=True)
        writers.start()
        try:
            if not await asyncio.to_thread(writing.wait, 60):
                raise RuntimeError(f"the live writers did not start (exit code {writers.exitcode})")
            await asyncio.sleep(1)
            async with aiohttp.ClientSession() as http:
                bench = Bench(db, http, polls, interval, caught_up / 1000)
                lines = [*await bench.client_rows(), *await bench.baseline_rows(specs)]
        finally:
            writers.terminate()
            writers.join()
    setting = (
        f"InfluxDB 1.6 (Debian) on loopback; {len(specs)} CSC instances "
        f"({sum(s.index != 0 for s in specs)} indexed), {hours:g} h of 1 Hz heartbeats and "
        f"{days:g} days of summaryState: {points:,} points, loaded in {loaded:.0f} s; "
        f"{len(specs) - EXITED} beating live during the measures."
    )
    return [setting, "", *HEADER, *lines, "", bench.ageing]


def table(hours: float, days: float, polls: int, interval: float) -> list[str]:
    """The setting and the Markdown table."""
    return asyncio.run(measure(hours, days, polls, interval))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="hours of heartbeats")
    parser.add_argument("--days", type=float, default=30.0, help="days of summaryState events")
    parser.add_argument("--polls", type=int, default=100, help="steady polls timed")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    args = parser.parse_args()
    print("\n".join(table(args.hours, args.days, args.polls, args.interval)))
