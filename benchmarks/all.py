"""Every benchmark, and its table written into ``docs/benchmarks.md`` with the machine and date.

    .venv/bin/python -m benchmarks.all            # every table, the documented sizes (~25 min)
    .venv/bin/python -m benchmarks.all cli efd    # some of them
    .venv/bin/python -m benchmarks.all --smoke    # tiny sizes, nothing written (the tests' run)

Each table sits in ``docs/benchmarks.md`` between ``<!-- table: NAME -->`` and
``<!-- /table -->``; the prose around it (what the baseline is, why it is fair, what the
figures say) is kept. The machine is shared in CI and development: figures of one run are
compared with the baseline of the same run, never with another day's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    argocd_deploy,
    cli_start,
    efd_poll,
    manual_model,
    slack_ack,
    slack_click,
    store_latency,
    upgrade_duration,
)

DOCS = Path(__file__).parents[1] / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Benchmark:
    """One table: how to measure it at the documented size, and at a tiny one."""

    command: str
    full: Callable[[], list[str]]
    smoke: Callable[[], list[str]]


BENCHMARKS: dict[str, Benchmark] = {
    "cli": Benchmark(
        "python -m benchmarks.cli_start --runs 20",
        lambda: cli_start.table(20),
        lambda: cli_start.table(1),
    ),
    "click": Benchmark(
        "python -m benchmarks.slack_click --rounds 3 --think 8 16",
        lambda: slack_click.table(3, (8.0, 16.0)),
        lambda: slack_click.table(1, (0.0, 0.0), sites=("bts",), edits_per_minute=60_000),
    ),
    "ack": Benchmark(
        "python -m benchmarks.slack_ack --requests 300",
        lambda: slack_ack.table(300),
        lambda: slack_ack.table(3, edits_per_minute=60_000),
    ),
    "efd": Benchmark(
        "python -m benchmarks.efd_poll --hours 24 --days 30 --polls 100 --interval 1",
        lambda: efd_poll.table(24, 30, 100, 1.0),
        lambda: efd_poll.table(0.02, 0.2, 3, 0.05),
    ),
    "model": Benchmark(
        "python -m benchmarks.manual_model (the model's data, nothing measured)",
        manual_model.table,
        manual_model.table,
    ),
    "upgrade": Benchmark(
        "python -m benchmarks.upgrade_duration --repeat 3",
        lambda: upgrade_duration.table(3),
        lambda: upgrade_duration.table(1),
    ),
    "argocd": Benchmark(
        "python -m benchmarks.argocd_deploy --repeat 2 --nodes 3",
        lambda: argocd_deploy.table(2, 3),
        lambda: argocd_deploy.table(1, 3, scale=1000.0),
    ),
    "store": Benchmark(
        "python -m benchmarks.store_latency --runs 20",
        lambda: store_latency.table(20),
        lambda: store_latency.table(1),
    ),
}
"""Every table of ``docs/benchmarks.md``, by the name of its block."""


def machine() -> str:
    """Where and when: what a figure means depends on it."""
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def block(name: str, lines: list[str]) -> str:
    """The table's block as it is written in the docs."""
    bench = BENCHMARKS[name]
    body = "\n".join(lines)
    return (
        f"<!-- table: {name} -->\n`.venv/bin/{bench.command}`, {machine()}:\n\n{body}\n"
        "<!-- /table -->"
    )


def write(tables: dict[str, list[str]], docs: Path = DOCS) -> None:
    """Put each table in its block of ``docs``; a block that is missing is an error."""
    text = docs.read_text("utf-8")
    for name, lines in tables.items():
        pattern = re.compile(rf"<!-- table: {re.escape(name)} -->.*?<!-- /table -->", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{docs}: no block <!-- table: {name} --> ... <!-- /table -->")
        text = pattern.sub(block(name, lines).replace("\\", "\\\\"), text)
    docs.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Measure the tables asked (all by default) and write them, unless ``--smoke``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; write nothing")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    tables = {}
    for name in args.names or BENCHMARKS:
        bench = BENCHMARKS[name]
        print(f"== {name}: {bench.command}", file=sys.stderr, flush=True)
        tables[name] = bench.smoke() if args.smoke else bench.full()
        print("\n".join(tables[name]), flush=True)
        if not args.smoke:  # each as soon as measured: a later failure loses no table
            write({name: tables[name]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
