"""The whole summit upgrade, simulated with realistic durations: the bot vs. the page by hand.

Both runs use the same simulated observatory (durations of scripts, image pulls, start-ups,
the camera team, the Phalanx PR), the same simulated lead (30 s to read and approve a step,
the manual steps' real work) and the same procedure, with one difference: the bot syncs the
``telescope`` applications a few at a time after the first ones, as the page allows, and the
baseline syncs them one by one, as a person following the page in the ArgoCD UI does. The
durations are clock time of the simulated run (what the summary reports).

The engine's own overhead is the CPU time the process spends on a whole run (the engine, the
store's transactions, the runners, the simulator, the terminal printer: everything but the
simulated waits), per run and per stored event, against the run's real-time length.

    .venv/bin/python benchmarks/upgrade_duration.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from bot.logs import configure_logging
from bot.terminal.demo import DemoOptions, run_demo
from state.events import Event
from state.run import Run
from state.store import Store
from state.store_url import sqlite_url


def serial_procedure(path: Path) -> Path:
    """The shipped procedure with the telescope apps synced one at a time.

    Its expected time is raised too: one by one, the apps take longer than the step's 45
    minutes, and an overdue step would wait for the simulated lead's choice.
    """
    text = resources.files("bot.config").joinpath("data", "procedure.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    for step in raw["steps"]:
        if step["action"]["type"] == "argocd.sync" and "project" in step["action"]:
            step["action"]["parallel"] = 1
            step["action"]["expected"] = "3h"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


async def one_run(scratch: Path, name: str, procedure: Path | None) -> Result:
    """A whole summit cycle upgrade, as fast as it goes: the run, its events, its cost."""
    db = scratch / f"{name}.db"
    options = DemoOptions(speed=None, procedure=procedure, db=db, out=io.StringIO())
    began, began_cpu = time.perf_counter(), time.process_time()
    code = await run_demo(options)
    cost = Cost(wall=time.perf_counter() - began, cpu=time.process_time() - began_cpu)
    if code != 0:
        raise RuntimeError(f"{name}: the demo ended with {code}")
    store = await Store.open(sqlite_url(str(db)))
    try:
        run = (await store.recent("summit", limit=1))[0]
        return run, await store.events(run.run_id), cost
    finally:
        await store.aclose()


@dataclass(frozen=True)
class Cost:
    """What a whole run cost the machine: wall and CPU seconds of the process."""

    wall: float
    cpu: float


Result = tuple[Run, list[Event], Cost]


def hours(run: Run) -> float:
    """The run's clock duration in hours."""
    if run.ended_at is None:
        raise ValueError(f"{run.run_id} has not ended")
    return (run.ended_at - run.started_at).total_seconds() / 3600


def step_minutes(run: Run, step_id: str) -> float:
    """One step's clock duration in minutes."""
    state = run.step(step_id)
    if state is None or state.started_at is None or state.ended_at is None:
        raise ValueError(f"{step_id} did not run in {run.run_id}")
    return (state.ended_at - state.started_at).total_seconds() / 60


def phase(run: Run, name: str) -> float:
    """Clock minutes from the phase's first step start to its last step end."""
    steps = [s for s in run.steps if s.step.phase == name]
    start = min(s.started_at for s in steps if s.started_at)
    end = max(s.ended_at for s in steps if s.ended_at)
    return (end - start).total_seconds() / 60


def row(label: str, measure: Callable[[Run], float], bot: list[Result], page: list[Result]) -> str:
    """A table row: the median of ``measure`` over the bot's runs and over the page's."""
    a = statistics.median(measure(r) for r, _, _ in bot)
    b = statistics.median(measure(r) for r, _, _ in page)
    return f"| {label:44} | {a:14.2f} | {b:21.2f} | {b - a:+8.2f} |"


async def main(repeat: int) -> None:
    """Run both, ``repeat`` times each, and print the tables."""
    configure_logging()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        serial = serial_procedure(scratch / "serial.yaml")
        bot: list[Result] = []
        page: list[Result] = []
        for i in range(repeat):
            bot.append(await one_run(scratch, f"bot{i}", None))
            page.append(await one_run(scratch, f"page{i}", serial))
    for run, _, _ in bot + page:
        if run.status.value != "completed" or any(s.attempt > 1 for s in run.steps):
            raise RuntimeError(f"{run.run_id} did not run cleanly: the comparison would lie")
    print(
        f"# {platform.machine()}, Python {platform.python_version()}, simulated time, "
        f"median of {repeat}"
    )
    print(
        f"| {'summit cycle upgrade (simulated clock)':44} | bot (parallel) "
        f"| page by hand (serial) | {'saved':>8} |"
    )
    print(f"|{'-' * 46}|{'-' * 16}|{'-' * 23}|{'-' * 10}|")
    print(row("whole run, hours", hours, bot, page))
    print(row("deployment phase, minutes", lambda r: phase(r, "deployment"), bot, page))
    print(
        row(
            "sync-telescope (12 apps), minutes",
            lambda r: step_minutes(r, "sync-telescope"),
            bot,
            page,
        )
    )
    print()
    cpu = [c.cpu for _, _, c in bot]
    wall = [c.wall for _, _, c in bot]
    events = [len(e) for _, e, _ in bot]
    real = statistics.median(hours(r) for r, _, _ in bot) * 3600
    print(f"| {'engine cost (bot runs, as fast as it goes)':44} | {'value':>14} |")
    print(f"|{'-' * 46}|{'-' * 16}|")
    print(f"| {'wall seconds for a whole summit run':44} | {statistics.median(wall):14.2f} |")
    print(f"| {'CPU seconds for a whole summit run':44} | {statistics.median(cpu):14.2f} |")
    print(f"| {'events stored per run':44} | {statistics.median(events):14.0f} |")
    per_event = statistics.median(1000 * c / n for c, n in zip(cpu, events, strict=True))
    print(f"| {'CPU ms per stored event':44} | {per_event:14.2f} |")
    print(f"| {'CPU share of the run in real time':44} | {statistics.median(cpu) / real:14.6%} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
