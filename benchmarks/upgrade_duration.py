"""The whole summit upgrade, simulated with realistic durations: the bot vs the page by hand.

The bot: a whole summit cycle upgrade against the simulated observatory (durations of scripts,
image pulls, start-ups, the camera team, the Phalanx PR) with the simulated lead (30 s to read
and approve a step, the manual steps' real work), measured on the run's own clock (simulated
time: the same on any machine). The baseline is not the bot: it is the model of a person
doing the page by hand (``benchmarks/manual_model.py``, each action's time and its assumption
in ``docs/benchmarks.md``), whole run and per phase, printed beside the same run.

The engine's own overhead is the CPU time the process spends on a whole run (the engine, the
store's transactions, the runners, the simulator, the terminal printer: everything but the
simulated waits), per run and per stored event, against the run's real-time length.

    .venv/bin/python -m benchmarks.upgrade_duration [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks import manual_model
from bot.logs import configure_logging
from bot.terminal.demo import DemoOptions, run_demo
from state.events import Event
from state.names import PHASES
from state.run import Run
from state.store import Store
from state.store_url import sqlite_url


@dataclass(frozen=True)
class Variant:
    """One of the bot's columns: how its demo runs."""

    prepull: bool = False
    """The site enables the pre-pull (issue 20): its images pulled during the shutdown."""


PREPULL_STEPS = frozenset({"prepull-images"})
"""Steps of the bot with no counterpart on the page (the model has none): left out of the check."""


def variants() -> dict[str, Variant]:
    """The bot's columns: the shipped procedure, and the same with the pre-pull enabled."""
    return {"bot": Variant(), "bot with pre-pull": Variant(prepull=True)}


async def one_run(scratch: Path, name: str, variant: Variant) -> Result:
    """A whole summit cycle upgrade, as fast as it goes: the run, its events, its cost."""
    db = scratch / f"{name}.db"
    options = DemoOptions(speed=None, prepull=variant.prepull, db=db, out=io.StringIO())
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


def phase(run: Run, *, name: str) -> float:
    """Clock minutes from the phase's first step start to its last step end."""
    steps = [s for s in run.steps if s.step.phase == name]
    start = min(s.started_at for s in steps if s.started_at)
    end = max(s.ended_at for s in steps if s.ended_at)
    return (end - start).total_seconds() / 60


def check_model(run: Run) -> None:
    """The model names the run's steps, no more and no fewer: else the comparison would lie."""
    steps = {s.step.id for s in run.steps} - PREPULL_STEPS
    modelled = {a.step for a in manual_model.MODEL}
    if steps != modelled:
        raise RuntimeError(f"model and run differ: {sorted(steps ^ modelled)}")


async def measure(repeat: int) -> list[str]:
    """Run the bot's variants ``repeat`` times each; the tables."""
    configure_logging()
    runs: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for label, variant in variants().items():
            name = label.replace(" ", "-")
            runs[label] = [await one_run(scratch, f"{name}{i}", variant) for i in range(repeat)]
    for results in runs.values():
        for run, _, _ in results:
            if run.status.value != "completed" or any(s.attempt > 1 for s in run.steps):
                raise RuntimeError(f"{run.run_id} did not run cleanly: the comparison would lie")
            check_model(run)
    labels = list(runs)
    lines = [
        f"| summit cycle upgrade, simulated clock (median of {repeat}) | "
        + " | ".join(labels)
        + " | by hand (model) | saved |",
        "|---|" + "---:|" * (len(labels) + 2),
    ]
    measures: list[tuple[str, Callable[[Run], float], float]] = [
        ("whole run, hours", hours, manual_model.total_hours()),
        *[
            (f"{name} phase, minutes", partial(phase, name=name), manual_model.phase_minutes(name))
            for name in PHASES
        ],
    ]
    for label, measure_of, model in measures:
        values = [statistics.median(measure_of(r) for r, _, _ in runs[v]) for v in labels]
        cells = " | ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {label} | {cells} | {model:.2f} | {model - values[0]:+.2f} |")
    bot = runs["bot"]
    cpu = [c.cpu for _, _, c in bot]
    wall = [c.wall for _, _, c in bot]
    events = [len(e) for _, e, _ in bot]
    real = statistics.median(hours(r) for r, _, _ in bot) * 3600
    per_event = statistics.median(1000 * c / n for c, n in zip(cpu, events, strict=True))
    lines += [
        "",
        "| engine cost (bot runs, as fast as it goes) | value |",
        "|---|---:|",
        f"| wall seconds for a whole summit run | {statistics.median(wall):.2f} |",
        f"| CPU seconds for a whole summit run | {statistics.median(cpu):.2f} |",
        f"| events stored per run | {statistics.median(events):.0f} |",
        f"| CPU ms per stored event | {per_event:.2f} |",
        f"| CPU share of the run in real time | {statistics.median(cpu) / real:.6%} |",
    ]
    return lines


def table(repeat: int) -> list[str]:
    """The Markdown tables."""
    return asyncio.run(measure(repeat))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    print("\n".join(table(parser.parse_args().repeat)))
