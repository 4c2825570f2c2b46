"""Command -> event stored: latency (p50/p99) and throughput of the store on SQLite.

Drives whole summit upgrades (the shipped procedure, 24 steps) through ``Store.apply`` the way
the engine does: every approval, outcome and manual "mark done" is one command, loaded,
decided, and saved with its events in one transaction (WAL, synchronous=FULL). The baseline,
in the same run and on the same disk, is the floor any design pays: one raw INSERT of a row of
the same size plus COMMIT through aiosqlite, with the same pragmas. The same runs again on a
store that holds the lease measure what fencing costs (every write checks the lease first).

    .venv/bin/python -m benchmarks.store_latency [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from benchmarks.stats import summary_row
from bot.config.procedures import load_procedure
from state.commands import (
    ActionSucceeded,
    Actor,
    Approve,
    Command,
    DeadlineReached,
    MarkDone,
    ProposeTargets,
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
    if step.unproposed():
        return ProposeTargets(step.id, ("MTDome:0",))  # the bot read one straggler
    if step.status is StepStatus.AWAITING_APPROVAL:
        return Approve(LEAD, step.id, step.revision)
    if step.step.action.type == "manual":
        return MarkDone(LEAD, step.id, step.revision, note="done by hand (benchmark lead)")
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


async def measure(runs: int) -> list[str]:
    """Drive the runs; the Markdown table."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(sqlite_url(f"{tmp}/bench.db"))
        now = datetime(2026, 11, 25, tzinfo=UTC)
        sequential: list[float] = []
        for i in range(runs):
            await drive(store, f"seq-{i}", "summit", now, sequential)
        parallel: list[float] = []
        for i in range(runs // 3 or 1):
            await asyncio.gather(
                *(drive(store, f"par-{i}-{s}", s, now, parallel) for s in ("summit", "tts", "bts"))
            )
        snapshot_size = len((await store.get("seq-0")).model_dump_json())
        await store.aclose()

        fenced_store = await Store.open(sqlite_url(f"{tmp}/fenced.db"))  # as fresh as the first
        await fenced_store.take_lease("run", "benchmark", datetime.now(UTC), timedelta(hours=1))
        fenced: list[float] = []
        for i in range(runs):
            await drive(fenced_store, f"fenced-{i}", "summit", now, fenced)
        await fenced_store.aclose()
        raw = await baseline(Path(tmp) / "raw.db", len(sequential), snapshot_size)
    setting = (
        f"Summit snapshot {snapshot_size} bytes; {runs} whole summit runs one after another, "
        f"{runs // 3 or 1} times three sites at once, {runs} on a fenced store."
    )
    return [
        setting,
        "",
        "| measure | n | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        summary_row("baseline: raw INSERT+COMMIT, same row size", raw),
        summary_row("command -> events stored (one site)", sequential),
        summary_row("command -> events stored (3 sites at once)", parallel),
        summary_row("command -> events stored (one site, fenced)", fenced),
    ]


def table(runs: int) -> list[str]:
    """The Markdown table."""
    return asyncio.run(measure(runs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="whole summit runs to drive")
    print("\n".join(table(parser.parse_args().runs)))
