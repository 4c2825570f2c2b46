"""CLI start-up: ``upgrade-bot --help`` and the light commands against a bare ``python -c pass``.

Each command is a fresh process (what a person typing it waits for), run ``--runs`` times,
interleaved with the baseline so that the machine's load falls on both alike. The baseline is
the same interpreter of the same virtual environment doing nothing: the floor no command can go
under. The goal (issue 19): ``--help`` within 6x of it.

    .venv/bin/python -m benchmarks.cli_start [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
PROCEDURE = ROOT / "bot" / "config" / "data" / "procedure.yaml"

SCRIPT = "import sys; from bot.cli import main; sys.exit(main())"
"""What the ``upgrade-bot`` console script runs (``bot.cli:main``)."""

CASES: dict[str, list[str]] = {
    "baseline: python -c pass": ["-c", "pass"],
    "upgrade-bot --help": ["-c", SCRIPT, "--help"],
    "upgrade-bot procedure validate": ["-c", SCRIPT, "procedure", "validate", str(PROCEDURE)],
    "upgrade-bot config validate": ["-c", SCRIPT, "config", "validate"],
    "upgrade-bot demo --help": ["-c", SCRIPT, "demo", "--help"],
}
"""What is timed, in fresh processes; ``demo --help`` imports the demo's whole engine."""


def _once(args: list[str]) -> float:
    """Wall seconds of one fresh interpreter running ``args``."""
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *args], cwd=ROOT, capture_output=True, timeout=120, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # config validate: 1 where no secrets are set
        raise RuntimeError(f"{args}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return seconds


def table(runs: int) -> list[str]:
    """The Markdown table: median and max wall ms of each case, and its ratio to the floor."""
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, args in CASES.items():
            times[name].append(_once(args))
    floor = statistics.median(times["baseline: python -c pass"])
    lines = [
        f"| command ({runs} fresh processes each, interleaved) | p50 ms | max ms | x floor |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in times.items():
        p50 = statistics.median(seconds)
        lines.append(
            f"| {name} | {p50 * 1000:.0f} | {max(seconds) * 1000:.0f} | {p50 / floor:.1f} |"
        )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    print("\n".join(table(parser.parse_args().runs)))
