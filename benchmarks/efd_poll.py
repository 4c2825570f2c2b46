"""EFD poll: every CSC instance of a summit-sized site, one request vs one query per instance.

Loads a real ``influxd`` (Debian's 1.6, on loopback, in a temporary directory) with the
summit's CSC instances as the simulated observatory lists them (about 150, most of them ESS
indices): ``--hours`` of 1 Hz heartbeats for every instance (a few of them exited an hour
ago) and ``--days`` of summaryState events, a few a day each, shaped as the EFD's Telegraf
connectors write them (no tags; ``salIndex`` only on indexed CSCs). The cache is flushed to
TSM files before measuring, as the EFD's older data is.

Then, on the same server and in the same run:

- ``EfdClient.states()`` as the bot polls: one GET carrying three statements (the first poll
  of a client reads 60 days of summaryState rows, the later ones only what is new);
- each of its three statements alone;
- the baseline: one request per CSC instance, lsst-efd-client style (``last()`` of the
  heartbeat and of the summaryState topic, ``WHERE salIndex = N``), one after the other and
  ten at a time.

    PYTHONPATH=. .venv/bin/python benchmarks/efd_poll.py [--hours 6] [--days 30] [--polls 50]

Not run in CI: loading a day of heartbeats (13 million points) takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp

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


async def beat(db: Influxd, specs: list[CscSpec], since: int) -> None:
    """The live site: every running instance beats once a second from ``since`` (ms) on."""
    gone = exited(specs)
    while True:
        now = int(time.time() * 1000)
        await db.write(
            "efd",
            [
                _no_index(heartbeat_line(spec.name, spec.index, t - n), spec)
                for t in range(now, since, -1000)
                for n, spec in enumerate(specs)
                if spec.ref not in gone
            ],
        )
        since = now
        await asyncio.sleep(max(0.0, 1.0 - (time.time() * 1000 - now) / 1000))


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


HEADER = (
    "| measure                                              |    n |  p50 ms  |  p99 ms  "
    "|  max ms  | requests |  KB/poll |\n"
    "|------------------------------------------------------|------|----------|----------"
    "|----------|----------|----------|"
)


def row(name: str, samples: list[float], requests: int, size: int) -> str:
    """One line of the table."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"| {name:<52} | {len(samples):>4} | {statistics.median(samples):>8.1f} | {p99:>8.1f} "
        f"| {max(samples):>8.1f} | {requests:>8} | {size / 1024:>8.0f} |"
    )


def per_instance(spec: CscSpec) -> str:
    """The baseline's query for one instance, as lsst-efd-client builds them."""
    where = f" AND salIndex = {spec.index}" if spec.index else ""
    source = f'"efd"."autogen"."lsst.sal.{spec.name}.logevent_'
    since = f"time > now() - {LOOKBACK_MS}ms"
    return (
        f'SELECT last(private_origin) FROM {source}heartbeat" WHERE {since}{where};'  # noqa: S608
        f'SELECT last(summaryState) FROM {source}summaryState" WHERE {since}{where}'
    )


class Bench:
    """The measures, against one loaded server."""

    def __init__(self, db: Influxd, http: aiohttp.ClientSession, polls: int) -> None:
        self.db, self.http, self.polls = db, http, polls
        self.few = max(5, polls // 5)

    async def query(self, q: str) -> int:
        """One raw GET /query; the size of the answer."""
        params = {"db": "efd", "epoch": "ms", "q": q}
        async with self.http.get(f"{self.db.url}/query", params=params) as r:
            body = await r.read()
            if r.status != 200 or b'"error"' in body:
                raise RuntimeError(body[:300])
            return len(body)

    async def cold_poll(self) -> None:
        """A new client's first poll."""
        fresh = EfdClient(url=self.db.url)
        try:
            await fresh.states()
        finally:
            await fresh.aclose()

    async def client_rows(self) -> list[str]:
        """states(), first and later polls, and each of its statements alone."""
        client = EfdClient(url=self.db.url)
        size_cold = await self.query(";".join(client.statements()))
        await client.states()
        statements = client.statements()
        lines = [
            row(
                "states(): first poll of a client (60 days of states)",
                await timed(self.cold_poll, self.few),
                1,
                size_cold,
            ),
            row(
                "states(): later polls (new states only)",
                await timed(client.states, self.polls),
                1,
                await self.query(";".join(statements)),
            ),
        ]
        names = ("last() heartbeat per CSC", "heartbeats of the last 60 s", "new summaryStates")
        for name, statement in zip(names, statements, strict=True):

            async def alone(statement: str = statement) -> int:
                return await self.query(statement)

            samples = await timed(alone, self.polls)
            lines.append(row(f"  statement alone: {name}", samples, 1, await alone()))
        await client.aclose()
        return lines

    async def baseline_rows(self, specs: list[CscSpec]) -> list[str]:
        """One request per instance, sequential and ten at a time."""
        queries = [per_instance(spec) for spec in specs]
        gate = asyncio.Semaphore(10)

        async def one_by_one() -> None:
            for q in queries:
                await self.query(q)

        async def gated(q: str) -> None:
            async with gate:
                await self.query(q)

        async def ten_at_a_time() -> None:
            await asyncio.gather(*(gated(q) for q in queries))

        size = sum([await self.query(q) for q in queries])
        return [
            row(
                "baseline: one query per instance, one after another",
                await timed(one_by_one, self.few, warmup=1),
                len(queries),
                size,
            ),
            row(
                "baseline: one query per instance, 10 at a time",
                await timed(ten_at_a_time, self.few, warmup=1),
                len(queries),
                size,
            ),
        ]


async def main(hours: float, days: float, polls: int) -> None:
    """Load, measure, print the table."""
    specs = site()
    cold = 'cache-snapshot-write-cold-duration = "2s"\n  compact-full-write-cold-duration = "2s"'
    async with Influxd(data_options=cold) as db:
        await db.create_database("efd")
        started, loading = time.perf_counter(), int(time.time() * 1000)
        points = await load(db, specs, hours, days)
        loaded = time.perf_counter() - started
        await asyncio.sleep(6)  # the cache goes cold and is written to TSM files
        beating = asyncio.create_task(beat(db, specs, since=loading))
        try:
            await asyncio.sleep(2)
            client = EfdClient(url=db.url)
            first = await client.states()
            await client.aclose()
            async with aiohttp.ClientSession() as http:
                bench = Bench(db, http, polls)
                lines = [*await bench.client_rows(), *await bench.baseline_rows(specs)]
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
    print(f"InfluxDB 1.6 (Debian), Python {platform.python_version()}, {platform.machine()}")
    print(
        f"{len(specs)} CSC instances ({sum(s.index != 0 for s in specs)} indexed), "
        f"{hours:g} h of 1 Hz heartbeats, {days:g} days of summaryState: {points:,} points "
        f"loaded in {loaded:.0f} s, then {len(specs) - EXITED} beating live; a poll reads "
        f"{len(first.cscs)} instances, {sum(c.alive for c in first.cscs.values())} alive, "
        f"fresh={first.fresh}\n"
    )
    print(HEADER)
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0, help="hours of heartbeats")
    parser.add_argument("--days", type=float, default=30.0, help="days of summaryState events")
    parser.add_argument("--polls", type=int, default=50, help="timed polls per measure")
    args = parser.parse_args()
    asyncio.run(main(args.hours, args.days, args.polls))
