"""Four processes race on one store (SQLite file, real PostgreSQL): one command lands, one holder.

Each process opens its own store on the same database, waits at a barrier (a line on its
standard input, sent to all once all are ready), then applies the same command to the same
run and tries to take the lease at the same instant. Exactly one applies the command (the
others find it applied: no events), and exactly one holds the lease.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from state.store import Store
from tests.support.databases import rows
from tests.support.runs import T0, start_command

PROCESSES = 4

RACER = """
import asyncio, json, sys
from datetime import timedelta
from state.commands import ActionSucceeded
from state.store import Store
from tests.support.runs import T0, at

async def race(url, me):
    store = await Store.open(url)
    try:
        print("ready", flush=True)
        sys.stdin.readline()
        _, events = await store.apply("run-1", ActionSucceeded("check", 1), at(1))
        held = await store.take_lease("run", me, at(2), timedelta(seconds=30))
        print(json.dumps({"applied": len(events), "holder": held is None}), flush=True)
    finally:
        await store.aclose()

asyncio.run(race(sys.argv[1], sys.argv[2]))
"""


def race(url: str) -> list[dict[str, int]]:
    """Start the racers, release them together; what each came to."""
    racers = [
        subprocess.Popen(  # noqa: S603  # this interpreter, our own script
            [sys.executable, "-c", RACER, url, f"racer-{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:  # the barrier: all are ready, all go
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        return [json.loads(racer.communicate(timeout=60)[0]) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_four_processes_one_command_applied_one_lease_holder(database_url: str) -> None:
    """The same command from four processes at once: applied once; the lease: one holder."""
    store = await Store.open(database_url)
    try:
        await store.start(start_command(), T0)
    finally:
        await store.aclose()
    outcomes = await asyncio.to_thread(race, database_url)
    assert sum(o["applied"] > 0 for o in outcomes) == 1, outcomes
    assert sum(o["holder"] for o in outcomes) == 1, outcomes
    succeeded = "SELECT COUNT(*) FROM events WHERE type = 'step.succeeded'"
    assert await rows(database_url, succeeded) == [(1,)]
