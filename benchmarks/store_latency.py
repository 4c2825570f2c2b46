"""Command -> event stored: latency (p50/p99) and throughput of the store on SQLite.

Drives whole summit upgrades (the shipped procedure, 24 steps) through ``Store.apply`` the way
the engine does: every approval, outcome and manual "mark done" is one command, loaded,
decided, and saved with its events in one transaction (WAL, synchronous=FULL). The baseline,
in the same run and on the same disk, is the floor any design pays: one raw INSERT of a row of
the same size plus COMMIT through aiosqlite, with the same pragmas. The same runs again on a
store that holds the lease measure what fencing costs (every write checks the lease first).

    .venv/bin/python benchmarks/store_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.config.procedures import load_procedure
from state.commands import (
    ActionSucceeded,
    Actor,
    Approve,
    Command,
    DeadlineReached,
    MarkDone,
    StartRun,
)
from state.run import Run, StepStatus
from state.store import Store
from state.store_url import sqlite_url

LEAD = Actor("U_LEAD")


def next_command(run: Run) -> Command | None:
    """What the lead or the bot does next to move a run on."""
    step = run.current
    if step is None:
        return None
    if step.status is StepStatus.AWAITING_APPROVAL:
        return Approve(LEAD, step.id, step.revision)
    if step.step.action.type == "manual":
        return MarkDone(LEAD, step.id, step.revision)
    if step.step.action.type == "efd.wait_for_states":
        return DeadlineReached(step.id, step.attempt, ())
    return ActionSucceeded(step.id, step.attempt, "ok")


async def drive(store: Store, run_id: str, site: str, now: datetime, samples: list[float]) -> int:
    """Run one whole upgrade of ``site``; append each command's latency (ms) to ``samples``."""
    procedure = load_procedure()
    command = StartRun(
        actor=LEAD,
        run_id=run_id,
        site=site,  # type: ignore[arg-type]  # one of the three
        kind="cycle-upgrade",
        procedure=procedure.name,
        steps=procedure.for_run(site, "cycle-upgrade"),  # type: ignore[arg-type]  # idem
    )
    run, _ = await store.start(command, now)
    count = 0
    while (step := next_command(run)) is not None:
        now += timedelta(seconds=1)
        began = time.perf_counter()
        run, _ = await store.apply(run_id, step, now)
        samples.append((time.perf_counter() - began) * 1000)
        count += 1
    return count


async def baseline(path: Path, rows: int, size: int) -> list[float]:
    """Raw aiosqlite: INSERT one row of ``size`` bytes and COMMIT, ``rows`` times."""
    samples = []
    async with aiosqlite.connect(path) as db:
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            await db.execute(f"PRAGMA {pragma}")
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        body = "x" * size
        for _ in range(rows):
            began = time.perf_counter()
            await db.execute("INSERT INTO t (body) VALUES (?)", (body,))
            await db.commit()
            samples.append((time.perf_counter() - began) * 1000)
    return samples


def row(name: str, samples: list[float], seconds: float | None = None) -> str:
    """One line of the table."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    rate = f"{len(samples) / seconds:9.0f}" if seconds else " " * 9
    return (
        f"| {name:<44} | {len(samples):6} | {statistics.median(samples):7.2f} | {p99:7.2f} | "
        f"{max(samples):7.2f} | {rate} |"
    )


async def main(runs: int) -> None:
    """Measure and print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(sqlite_url(f"{tmp}/bench.db"))
        now = datetime(2026, 11, 25, tzinfo=UTC)
        sequential: list[float] = []
        began = time.perf_counter()
        for i in range(runs):
            await drive(store, f"seq-{i}", "summit", now, sequential)
        seq_seconds = time.perf_counter() - began

        parallel: list[float] = []
        began = time.perf_counter()
        for i in range(runs // 3 or 1):
            await asyncio.gather(
                *(drive(store, f"par-{i}-{s}", s, now, parallel) for s in ("summit", "tts", "bts"))
            )
        par_seconds = time.perf_counter() - began
        snapshot_size = len((await store.get("seq-0")).model_dump_json())
        await store.aclose()

        fenced_store = await Store.open(sqlite_url(f"{tmp}/fenced.db"))  # as fresh as the first
        await fenced_store.take_lease("run", "benchmark", datetime.now(UTC), timedelta(hours=1))
        fenced: list[float] = []
        began = time.perf_counter()
        for i in range(runs):
            await drive(fenced_store, f"fenced-{i}", "summit", now, fenced)
        fenced_seconds = time.perf_counter() - began
        await fenced_store.aclose()
        raw = await baseline(Path(tmp) / "raw.db", len(sequential), snapshot_size)

    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(f"# summit snapshot: {snapshot_size} bytes; {runs} sequential runs")
    print(f"| {'measure':<44} |      n | p50 ms  | p99 ms  | max ms  |  ops/s    |")
    print(
        "|----------------------------------------------|--------|---------|---------|---------|-----------|"
    )
    print(row("baseline: raw INSERT+COMMIT, same row size", raw, sum(raw) / 1000))
    print(row("command -> events stored (one site)", sequential, seq_seconds))
    print(row("command -> events stored (3 sites at once)", parallel, par_seconds))
    print(row("command -> events stored (one site, fenced)", fenced, fenced_seconds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="whole summit runs to drive")
    asyncio.run(main(parser.parse_args().runs))
